package client

import (
	"testing"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"
)

func TestTargetInSuccinctHashBinIsFoundAndItsPathVerified(t *testing.T) {
	// releases delegates everything to 4 TAP 15 hash bins (the publisher's
	// --bins layout); the bundle version lives in its bin.
	r := newTestRepo(t)
	k := r.releasesKeys[0]
	sr := &metadata.SuccinctRoles{KeyIDs: []string{k.Public().ID()}, Threshold: 1, BitLength: 2, NamePrefix: "releases-bin"}
	r.releases.Signed.Delegations = &metadata.Delegations{
		Keys:          map[string]*metadata.Key{k.Public().ID(): k.Public().TUFKey()},
		SuccinctRoles: sr,
	}
	for _, bin := range sr.GetRoles() {
		r.extra[bin] = metadata.Targets(r.now.Add(7 * 24 * time.Hour))
		r.extraKeys[bin] = r.releasesKeys
	}
	bin := sr.GetRolesForTarget(versionName)[0].Name
	r.extra[bin].Signed.Targets[versionName] = r.releases.Signed.Targets[versionName]
	delete(r.releases.Signed.Targets, versionName)
	r.bumpAll()

	info, err := r.client(t).Target(ctxT(t), versionName)
	if err != nil {
		t.Fatalf("Target: %v", err)
	}
	if info.Role != bin {
		t.Errorf("listed by %s, want %s", info.Role, bin)
	}
}
