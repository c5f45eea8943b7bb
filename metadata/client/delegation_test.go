package client

import (
	"testing"

	"github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/internal/testing/errtest"
	"github.com/cnabsec/cnabsec/keys"
)

// Wrong-software attacks: a delegated role signs what it was not trusted for.

func TestDelegatedRoleCannotSignOutsideItsPaths(t *testing.T) {
	// releases is trusted for example.com/org/app only; it lists another
	// repository's version, which must not be found.
	r := newTestRepo(t)
	r.addTarget("releases", "example.com/other/app:1.0", []byte("other"), nil)
	r.writeAll()
	_, err := r.client(t).Target(ctxT(t), "example.com/other/app:1.0")
	errtest.Want(t, err, fault.Denied, `target "example.com/other/app:1.0" not found`)
}

func TestTerminatingDelegationStopsTheSearch(t *testing.T) {
	// After the terminating releases delegation (which does not list
	// app:6.6) comes another role for the same paths that does: it must not
	// be consulted.
	r := newTestRepo(t)
	evil := genKey(t)
	r.delegate(metadata.TARGETS, "late", 1, []string{"example.com/org/app:*"}, []*keys.PrivateKey{evil}, nil)
	r.addTarget("late", "example.com/org/app:6.6", []byte("evil"), nil)
	r.writeAll()
	_, err := r.client(t).Target(ctxT(t), "example.com/org/app:6.6")
	errtest.Want(t, err, fault.Denied, `target "example.com/org/app:6.6" not found`)
}

func TestFirstDelegationInOrderWins(t *testing.T) {
	// Two non-terminating roles for the same paths list the same name with
	// different content: the earlier delegation decides.
	r := newTestRepo(t)
	r.targets.Signed.Delegations.Roles = nil // drop releases
	ka, kb := genKey(t), genKey(t)
	r.delegate(metadata.TARGETS, "first", 1, []string{"x/*"}, []*keys.PrivateKey{ka}, nil)
	r.delegate(metadata.TARGETS, "second", 1, []string{"x/*"}, []*keys.PrivateKey{kb}, nil)
	r.addTarget("first", "x/file", []byte("from first"), nil)
	r.addTarget("second", "x/file", []byte("from second!"), nil)
	r.writeAll()
	data, info, err := r.client(t).Download(ctxT(t), "x/file", 0)
	if err != nil {
		t.Fatal(err)
	}
	if info.Role != "first" || string(data) != "from first" {
		t.Errorf("got %q from %s, want the first delegation's", data, info.Role)
	}
}
