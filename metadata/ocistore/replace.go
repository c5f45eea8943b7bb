package ocistore

import (
	"encoding/json"
	"errors"
	"fmt"

	tuf "github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/metadata/client"
)

// maxTimestampRead caps reading the registry's current timestamp.json when
// deciding whether it may be replaced.
const maxTimestampRead = 1 << 20

// maxRootRead caps reading the root a copy publishes.
const maxRootRead = 1 << 20

// mayReplaceMetadata decides whether the tag of metadata file f, which holds
// a different manifest in the registry, may be replaced. A versioned file
// (N.ROLE.json) never changes once published: a different one means another
// repository was pushed here, and replacing it would fork what clients
// already trust. timestamp.json may only move forward: replacing a newer or
// equal version would roll clients back. newVersion gives the version about
// to be written.
func (p *pusher) mayReplaceMetadata(f string, newVersion func() (int64, error)) error {
	if f != "timestamp.json" {
		return fault.WithHint(fault.Inputf("%s already holds a different %s: another repository was pushed here (or the directory was re-created); refusing to overwrite published metadata", p.repo.Name(), f),
			"push to a new repository, or check that the directory is the one published there")
	}
	have, data, err := p.registryTimestampVersion()
	if err != nil {
		return err
	}
	if have < 0 {
		return nil // unreadable: clients cannot use it either; replacing repairs it
	}
	if why := p.untrustedTimestamp(data); why != "" {
		// Unsigned bytes never block a publisher: their version is not
		// compared, they are replaced and the caller is told.
		p.noteReplaced(Replaced{File: f, Version: have, Reason: why})
		return nil
	}
	want, err := newVersion()
	if err != nil {
		return err
	}
	if have >= want {
		return fault.WithHint(fault.Inputf("%s holds timestamp version %d, the one to push is version %d: replacing it would roll clients back", p.repo.Name(), have, want),
			"publish from the directory that holds the newest metadata (cnabsec repo status), or refresh the timestamp first (cnabsec repo refresh)")
	}
	return nil
}

// registryTimestampVersion reads the timestamp.json the registry holds and
// its claimed version (not yet verified: see untrustedTimestamp); -1 when it
// is unusable (not our layout, too large, not matching its digest, not
// metadata).
func (p *pusher) registryTimestampVersion() (int64, []byte, error) {
	f := &Fetcher{repo: p.repo, location: Scheme + "://" + p.repo.Name(), puller: p.puller}
	data, err := f.Fetch(p.ctx, "metadata/timestamp.json", maxTimestampRead)
	switch {
	case fault.KindOf(err) == fault.Denied, errors.Is(err, client.ErrNotFound):
		return -1, nil, nil // unusable, or deleted since the HEAD
	case err != nil:
		return 0, nil, err
	}
	v, err := signedVersion(data)
	if err != nil {
		return -1, nil, nil
	}
	return v, data, nil
}

// Replaced is metadata the registry held that did not verify against the
// root being published, and was replaced instead of being compared.
type Replaced struct {
	File    string `json:"file"`
	Version int64  `json:"claimedVersion"`
	Reason  string `json:"reason"`
}

func (p *pusher) noteReplaced(r Replaced) {
	p.replacedMu.Lock()
	defer p.replacedMu.Unlock()
	p.replaced = append(p.replaced, r)
}

// untrustedTimestamp says why the registry's timestamp bytes cannot be
// trusted ("" when a threshold of the timestamp keys of the root being
// published signed them). Only then is its version a rollback floor.
func (p *pusher) untrustedTimestamp(data []byte) (why string) {
	if p.root == nil {
		return ""
	}
	rootBytes, err := p.root()
	if err != nil {
		return "" // no root to judge by: keep refusing rollbacks, fail closed
	}
	defer func() {
		if recover() != nil {
			why = "it is not valid timestamp metadata"
		}
	}()
	root, err := tuf.Root().FromBytes(rootBytes)
	if err != nil {
		return ""
	}
	ts, err := tuf.Timestamp().FromBytes(data)
	if err != nil {
		return "it is not valid timestamp metadata: " + err.Error()
	}
	if err := root.VerifyDelegate(tuf.TIMESTAMP, ts); err != nil {
		return fmt.Sprintf("its signatures do not meet the timestamp threshold of root version %d: %v", root.Signed.Version, err)
	}
	return ""
}

// signedVersion reads signed.version of a metadata file.
func signedVersion(data []byte) (int64, error) {
	var md struct {
		Signed struct {
			Version int64 `json:"version"`
		} `json:"signed"`
	}
	if err := json.Unmarshal(data, &md); err != nil || md.Signed.Version <= 0 {
		return 0, fault.Inputf("metadata without a positive signed.version: %v", err)
	}
	return md.Signed.Version, nil
}
