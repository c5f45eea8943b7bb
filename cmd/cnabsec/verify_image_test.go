package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBundleLevelOnAnImageIsAUsageErrorNotVerified: `verify --image REF
// --level 1b` (or 3b) on an unsigned image answered VERIFIED, having checked
// nothing the level stands for. It is a usage error (exit 2) and the runtime
// never runs.
func TestBundleLevelOnAnImageIsAUsageErrorNotVerified(t *testing.T) {
	h := newHandoffRelease(t)
	for _, lvl := range []string{"1b", "3b"} {
		code, stdout, stderr := h.verify(t, h.WebRef, []string{"--image", "--level", lvl}, "echo HANDOFF-RAN")
		if code != 2 || strings.Contains(stdout+stderr, "VERIFIED") || strings.Contains(stdout, "HANDOFF-RAN") {
			t.Fatalf("level %s: exit %d, stdout %q, stderr %q", lvl, code, stdout, stderr)
		}
		if want := "level " + lvl + " on an image"; !strings.Contains(stderr, want) {
			t.Fatalf("level %s: stderr does not say %q:\n%s", lvl, want, stderr)
		}
	}
}

// TestRelocationMappingWithImageIsAUsageErrorNotHandedOn: with --image the
// mapping was never read, yet the run said VERIFIED. It is a usage error
// (exit 2) before anything runs.
func TestRelocationMappingWithImageIsAUsageErrorNotHandedOn(t *testing.T) {
	h := newHandoffRelease(t)
	p := filepath.Join(t.TempDir(), "mapping.json")
	if err := os.WriteFile(p, []byte(`{"`+h.WebRef+`":"evil.example/web:latest"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := h.verify(t, h.WebRef, []string{"--image", "--relocation-mapping", p}, "echo HANDOFF-RAN")
	if code != 2 || strings.Contains(stdout, "HANDOFF-RAN") || !strings.Contains(stderr, "a relocation mapping on an image") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}
