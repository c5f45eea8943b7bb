package client

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/internal/testing/errtest"
)

func TestMissingTargetIsErrTargetNotFound(t *testing.T) {
	r := newTestRepo(t)
	c := r.client(t)
	_, err := c.Target(ctxT(t), "example.com/org/app:9.9")
	errtest.Want(t, err, fault.Denied, `target "example.com/org/app:9.9" not found: no trusted role at `+r.dir+" lists it")
	if !errors.Is(err, ErrTargetNotFound) {
		t.Errorf("Target error %v is not ErrTargetNotFound", err)
	}
	if r, _ := fault.RemedyOf(err); r != fault.RemedyCheckTargetName {
		t.Errorf("not-found error lost its remedy: %v", r)
	}
	_, _, err = c.Download(ctxT(t), "example.com/other/app:1.0", 0)
	errtest.Want(t, err, fault.Denied, `target "example.com/other/app:1.0" not found`)
	if !errors.Is(err, ErrTargetNotFound) {
		t.Errorf("Download error %v is not ErrTargetNotFound", err)
	}
}

// Evidence against (a tampered file) and missing files must never look like
// "not listed": the verifier tolerates only the latter.
func TestTamperedOrMissingTargetFileIsNotErrTargetNotFound(t *testing.T) {
	r := newTestRepo(t)
	r.addTarget("releases", versionName, []byte("v2"), nil)
	r.bumpAll()
	// Replace the served file with other bytes of the same length.
	matches, err := filepath.Glob(filepath.Join(r.dir, "targets", "example.com", "org", "*.app:1.0"))
	if err != nil || len(matches) == 0 {
		t.Fatalf("served files of %s: %v %v", versionName, matches, err)
	}
	for _, m := range matches {
		if err := os.WriteFile(m, []byte("v3"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_, _, err = r.client(t).Download(ctxT(t), versionName, 0)
	errtest.Want(t, err, fault.Denied, "hash mismatch")
	if errors.Is(err, ErrTargetNotFound) {
		t.Errorf("hash mismatch %v must not be ErrTargetNotFound", err)
	}
	if err := os.RemoveAll(filepath.Join(r.dir, "targets")); err != nil {
		t.Fatal(err)
	}
	_, _, err = r.client(t).Download(ctxT(t), versionName, 0)
	errtest.Want(t, err, fault.Inconclusive, "not found")
	if errors.Is(err, ErrTargetNotFound) {
		t.Errorf("missing file %v must not be ErrTargetNotFound", err)
	}
}
