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

// maxRootRead caps reading each root a copy publishes.
const maxRootRead = 1 << 20

// maxRootChain bounds the root versions a copy verifies in a row.
const maxRootChain = 256

// mayReplaceMetadata decides whether the tag of metadata file f, which holds
// a different manifest in the registry, may be replaced. A versioned file
// (N.ROLE.json) never changes once published: a different one this
// repository's keys signed is kept, as replacing it would fork what clients
// already trust; one they did not sign is replaced and reported
// (mayReplaceVersioned). timestamp.json may only move forward: replacing a newer or
// equal version would roll clients back. Only a timestamp a threshold of the
// timestamp keys of the root being published signed has a version to
// compare: unverifiable bytes in the registry are replaced (and reported),
// never compared. newVersion gives the version about to be written (root:
// the root being published, to verify it against).
func (p *pusher) mayReplaceMetadata(f string, newVersion func(root *tuf.Metadata[tuf.RootType]) (int64, error)) error {
	if f != "timestamp.json" {
		return p.mayReplaceVersioned(f)
	}
	have, data, err := p.registryTimestampVersion()
	if err != nil {
		return err
	}
	if have < 0 {
		return nil // unreadable: clients cannot use it either; replacing repairs it
	}
	root, err := p.judgingRoot()
	if err != nil {
		return err
	}
	if why := untrustedTimestamp(root, data); why != "" {
		// Unsigned bytes never block a publisher: their version is not
		// compared, they are replaced and the caller is told.
		p.noteReplaced(Replaced{File: f, Version: have, Reason: why})
		return nil
	}
	want, err := newVersion(root)
	if err != nil {
		return err
	}
	if have >= want {
		return fault.WithRemedy(fault.Inputf("%s holds timestamp version %d, the one to push is version %d: replacing it would roll clients back", p.repo.Name(), have, want),
			fault.RemedyPublishNewest, p.repo.Name())
	}
	return nil
}

// registryTimestampVersion reads the timestamp.json the registry holds and
// its claimed version (not yet verified: see untrustedTimestamp); -1 when it
// is unusable (not our layout, too large, not matching its digest, not
// metadata: reported as replaced).
func (p *pusher) registryTimestampVersion() (int64, []byte, error) {
	f := &Fetcher{repo: p.repo, location: Scheme + "://" + p.repo.Name(), puller: p.puller}
	data, err := f.Fetch(p.ctx, "metadata/timestamp.json", maxTimestampRead)
	switch {
	case errors.Is(err, client.ErrNotFound):
		return -1, nil, nil // deleted since the HEAD
	case fault.KindOf(err) == fault.Denied:
		p.noteReplaced(Replaced{File: "timestamp.json", Reason: "it cannot be read as metadata: " + err.Error()})
		return -1, nil, nil
	case err != nil:
		return 0, nil, err
	}
	v, err := signedVersion(data)
	if err != nil {
		p.noteReplaced(Replaced{File: "timestamp.json", Reason: "it is not valid timestamp metadata: " + err.Error()})
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

// judgingRoot is the root being published, which decides whether the
// registry's timestamp is trusted. Without one nothing is compared: the
// replacement is refused.
func (p *pusher) judgingRoot() (_ *tuf.Metadata[tuf.RootType], err error) {
	if p.root == nil {
		return nil, fault.Deniedf("%s holds a timestamp.json and there is no root among the metadata to publish to verify it against: refusing to replace it", p.repo.Name())
	}
	data, err := p.root()
	if err != nil {
		return nil, err
	}
	defer func() {
		if recover() != nil {
			err = fault.Deniedf("the root being published is not valid root metadata")
		}
	}()
	root, err := tuf.Root().FromBytes(data)
	if err != nil {
		return nil, fault.Deniedf("the root being published is not valid root metadata: %v", err)
	}
	return root, nil
}

// untrustedTimestamp says why timestamp bytes cannot be trusted ("" when a
// threshold of the timestamp keys of root signed them). Only then is their
// version a rollback floor.
func untrustedTimestamp(root *tuf.Metadata[tuf.RootType], data []byte) (why string) {
	defer func() {
		if recover() != nil {
			why = "it is not valid timestamp metadata"
		}
	}()
	ts, err := tuf.Timestamp().FromBytes(data)
	if err != nil {
		return "it is not valid timestamp metadata: " + err.Error()
	}
	if err := root.VerifyDelegate(tuf.TIMESTAMP, ts); err != nil {
		return fmt.Sprintf("its signatures do not meet the timestamp threshold of root version %d: %v", root.Signed.Version, err)
	}
	return ""
}

// verifiedVersion is the version of timestamp bytes that root's timestamp
// keys signed; other bytes are refused (Denied), never compared. what names
// the bytes ("the timestamp.json of REPO").
func verifiedVersion(root *tuf.Metadata[tuf.RootType], data []byte, what, over string) (int64, error) {
	if why := untrustedTimestamp(root, data); why != "" {
		return 0, fault.Deniedf("%s does not verify against root version %d (%s): refusing to copy it over %s", what, root.Signed.Version, why, over)
	}
	return signedVersion(data)
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
