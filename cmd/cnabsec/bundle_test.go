package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cnabsec/cnabsec/bundle"
)

func TestBundleCanonicalizeWritesTheCanonicalVector(t *testing.T) {
	out := filepath.Join(t.TempDir(), "b.json")
	code, stdout, stderr := runCLI(t, "bundle", "canonicalize", "../../../shared/vectors/cnab/cnab-to-oci-helloworld.pretty.json", "--out", out)
	if code != 0 || stdout != "" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 549 || !bundle.IsCanonical(got) {
		t.Errorf("wrote %d bytes, canonical=%v", len(got), bundle.IsCanonical(got))
	}
}

func TestBundleCanonicalizeRefusesNonJSONWithExit2(t *testing.T) {
	p := filepath.Join(t.TempDir(), "bundle.json")
	os.WriteFile(p, []byte("{\"a\":\n  x}"), 0o644)
	code, stdout, stderr := runCLI(t, "bundle", "canonicalize", p)
	if code != 2 || stdout != "" {
		t.Fatalf("exit %d stdout %q", code, stdout)
	}
	if want := p + ": invalid JSON at byte 8 (line 2, column 3): unexpected 'x', want a value"; !strings.Contains(stderr, want) {
		t.Errorf("stderr %q lacks %q", stderr, want)
	}
}
