package ocistore

import (
	"encoding/json"
	"errors"

	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/metadata/client"
)

// maxTimestampRead caps reading the registry's current timestamp.json when
// deciding whether it may be replaced.
const maxTimestampRead = 1 << 20

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
	have, err := p.registryTimestampVersion()
	if err != nil {
		return err
	}
	if have < 0 {
		return nil // unreadable: clients cannot use it either; replacing repairs it
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

// registryTimestampVersion reads the version of the timestamp.json the
// registry holds (not verified: it only guards against a rollback by
// mistake); -1 when it is unusable (not our layout, too large, not matching
// its digest, not metadata).
func (p *pusher) registryTimestampVersion() (int64, error) {
	f := &Fetcher{repo: p.repo, location: Scheme + "://" + p.repo.Name(), puller: p.puller}
	data, err := f.Fetch(p.ctx, "metadata/timestamp.json", maxTimestampRead)
	switch {
	case fault.KindOf(err) == fault.Denied, errors.Is(err, client.ErrNotFound):
		return -1, nil // unusable, or deleted since the HEAD
	case err != nil:
		return 0, err
	}
	v, err := signedVersion(data)
	if err != nil {
		return -1, nil
	}
	return v, nil
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
