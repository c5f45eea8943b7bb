package ocistore

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/cnabsec/cnabsec/bundle/oci"
	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/internal/testing/registrytest"
	"github.com/cnabsec/cnabsec/internal/testing/testrepo"
	"github.com/cnabsec/cnabsec/metadata"
)

// olderCopy snapshots r's directory, then publishes a new target in r.
func olderCopy(t *testing.T, r *testrepo.Repo) string {
	t.Helper()
	old := filepath.Join(t.TempDir(), "old")
	if err := os.CopyFS(old, os.DirFS(r.Dir)); err != nil {
		t.Fatal(err)
	}
	r.AddTarget(t, "example.com/org/app:2.0", metadata.TargetInfo{Content: []byte("v2")})
	return old
}

func TestPushOfAnOlderTimestampIsRefused(t *testing.T) {
	r := newRepo(t)
	old := olderCopy(t, r)
	reg := registrytest.New(t)
	repo := mustRepo(t, reg, "org/tuf")
	push(t, r, repo)
	_, err := Push(context.Background(), old, repo, oci.Options{})
	if fault.KindOf(err) != fault.Input {
		t.Fatalf("kind %v, want Input: %v", fault.KindOf(err), err)
	}
	wantContains(t, err, "holds timestamp version", "replacing it would roll clients back")
	// The registry still serves the newer release.
	c := newClient(t, r, "oci://"+reg.Ref("org/tuf"))
	if err := c.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Download(context.Background(), "example.com/org/app:2.0", 0); err != nil {
		t.Fatalf("after the refused push: %v", err)
	}
}

func TestPushOfAnotherRepositoryOverPublishedMetadataIsRefused(t *testing.T) {
	reg := registrytest.New(t)
	repo := mustRepo(t, reg, "org/tuf")
	push(t, newRepo(t), repo)
	_, err := Push(context.Background(), newRepo(t).Dir, repo, oci.Options{})
	if fault.KindOf(err) != fault.Input {
		t.Fatalf("kind %v, want Input: %v", fault.KindOf(err), err)
	}
	wantContains(t, err, "already holds a different", "refusing to overwrite published metadata")
}

func TestCopyOfAnOlderTimestampOverAMirrorIsRefused(t *testing.T) {
	r := newRepo(t)
	old := olderCopy(t, r)
	src, mirror := registrytest.New(t), registrytest.New(t)
	if _, err := Push(context.Background(), old, mustRepo(t, src, "org/tuf"), oci.Options{}); err != nil {
		t.Fatal(err)
	}
	push(t, r, mustRepo(t, mirror, "org/tuf")) // the mirror is already newer
	_, err := Copy(context.Background(), mustRepo(t, src, "org/tuf"), mustRepo(t, mirror, "org/tuf"), oci.Options{})
	if fault.KindOf(err) != fault.Input {
		t.Fatalf("kind %v, want Input: %v", fault.KindOf(err), err)
	}
	wantContains(t, err, "holds timestamp version", "roll clients back")
}
