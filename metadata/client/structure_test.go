package client

import (
	"strings"
	"testing"

	"github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/internal/testing/errtest"
)

// go-tuf v2.4.2 panics (nil dereference) on these; a verification service
// must answer Denied instead of crashing.

func TestSignedTimestampWithoutSnapshotEntryIsRefusedNotACrash(t *testing.T) {
	r := newTestRepo(t)
	r.timestamp.Signed.Meta = map[string]*metadata.MetaFiles{"other.json": {Version: 1}}
	sign(t, r.timestamp, r.timestampKeys...)
	r.write("metadata/timestamp.json", toBytes(t, r.timestamp))
	errtest.Want(t, r.client(t).Refresh(ctxT(t)), fault.Denied, "timestamp metadata is malformed: it lists no snapshot.json")
}

func TestNullSnapshotEntryIsRefusedNotACrash(t *testing.T) {
	r := newTestRepo(t)
	r.writeSnapshot()
	b := strings.Replace(string(toBytes(t, r.snapshot)), `"releases.json": {`, `"releases.json": null, "x": {`, 1)
	if !strings.Contains(b, "null") {
		t.Fatal("fixture edit failed")
	}
	r.write("metadata/1.snapshot.json", []byte(b))
	// The edit breaks the signature too; the structure check runs first,
	// so the reason is the null entry either way.
	errtest.Want(t, r.client(t).Refresh(ctxT(t)), fault.Denied, "snapshot metadata is malformed: its entry for releases.json is null")
}

func TestNullTargetEntryIsRefusedNotACrash(t *testing.T) {
	r := newTestRepo(t)
	r.releases.Signed.Targets["example.com/org/app:2.0"] = nil
	r.writeAll()
	_, err := r.client(t).Target(ctxT(t), "example.com/org/app:2.0")
	errtest.Want(t, err, fault.Denied, `releases metadata is malformed: target "example.com/org/app:2.0" is null`)
}

func TestNullRoleInNewRootIsRefusedNotACrash(t *testing.T) {
	r := newTestRepo(t)
	r.root.Signed.Version = 2
	r.root.Signed.Roles[metadata.TIMESTAMP] = nil
	r.writeRoot(r.rootKeys...)
	errtest.Want(t, r.client(t).Refresh(ctxT(t)), fault.Denied, "root metadata is malformed: role timestamp is null")
}

func TestNullKeyInTrustedRootIsInputErrorNotACrash(t *testing.T) {
	r := newTestRepo(t)
	r.root.Signed.Keys["deadbeef"] = nil
	r.writeRoot(r.rootKeys...)
	_, err := New(r.options())
	errtest.Want(t, err, fault.Input, "trusted root: root metadata is malformed: key deadbeef is null")
}
