package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cnabsec/cnabsec/internal/testing/registrytest"
)

func TestBundlePullThickWritesReproducibleArchiveAtomically(t *testing.T) {
	reg := registrytest.New(t)
	_, ref, _ := pushCLITestBundle(t, reg, "bundles/hello:1.0")
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a", "app.tgz"), filepath.Join(dir, "b.tgz")
	for _, out := range []string{a, b} {
		if code, _, stderr := runCLI(t, "bundle", "pull", ref, "--thick", "--out", out); code != 0 {
			t.Fatalf("exit %d, stderr %s", code, stderr)
		}
	}
	ab, _ := os.ReadFile(a)
	bb, _ := os.ReadFile(b)
	if len(ab) == 0 || !bytes.Equal(ab, bb) {
		t.Fatalf("two thick pulls differ (%d vs %d bytes)", len(ab), len(bb))
	}
	// A failing pull leaves nothing behind.
	bad := filepath.Join(dir, "bad.tgz")
	code, _, stderr := runCLI(t, "bundle", "pull", reg.Ref("bundles/nosuch:1"), "--thick", "--out", bad)
	if code != 1 || !strings.Contains(stderr, "tag not found") {
		t.Fatalf("exit %d, stderr %s", code, stderr)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".bad.tgz") || e.Name() == "bad.tgz" {
			t.Fatalf("failed pull left %s", e.Name())
		}
	}
}

func TestBundlePullThickWithoutOutIsUsageError(t *testing.T) {
	code, _, stderr := runCLI(t, "bundle", "pull", "127.0.0.1:1/x:1", "--thick")
	if code != 2 || !strings.Contains(stderr, "--out FILE is required") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
}

func TestBundlePullFromUnreachableRegistryExitsInconclusive(t *testing.T) {
	reg := registrytest.New(t)
	ref := reg.Ref("bundles/hello:1.0")
	reg.Server.Close()
	code, _, stderr := runCLI(t, "bundle", "pull", ref, "--timeout", "2s")
	if code != 3 || !strings.Contains(stderr, ref) {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
}
