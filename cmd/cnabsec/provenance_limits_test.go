package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cnabsec/cnabsec/internal/atomicfile"
	"github.com/cnabsec/cnabsec/internal/testing/registrytest"
	"github.com/cnabsec/cnabsec/internal/testing/scenario"
)

// provenanceRelease is a signed release with a layout and links (level 4).
func provenanceRelease(t *testing.T) (*scenario.Scenario, []string) {
	t.Helper()
	reg := registrytest.New(t)
	s, err := scenario.Build(context.Background(), scenario.Options{Dir: t.TempDir(), Registry: reg.Host, Provenance: true})
	if err != nil {
		t.Fatalf("scenario: %v", err)
	}
	root := filepath.Join(t.TempDir(), "root.json")
	if err := atomicfile.WriteFile(root, s.TrustedRoot, 0o600); err != nil {
		t.Fatal(err)
	}
	return s, []string{"--trust-root", root, "--metadata", s.RepoDir, "--level", "3b"}
}

func TestVerifyMaxJSONValuesDeniesProvenanceOverTheFlag(t *testing.T) {
	s, flags := provenanceRelease(t)
	if code, _, stderr := runCLI(t, append([]string{"verify", s.BundleRef}, flags...)...); code != 0 {
		t.Fatalf("within the default limits: exit %d: %s", code, stderr)
	}
	code, _, stderr := runCLI(t, append([]string{"verify", s.BundleRef, "--max-json-values", "100"}, flags...)...)
	if code != 1 || !strings.Contains(stderr, "JSON values, more than the limit of 100 values per verification") {
		t.Fatalf("--max-json-values 100: exit %d, want 1 naming the limit:\n%s", code, stderr)
	}
}

func TestNegativeProvenanceLimitIsAUsageError(t *testing.T) {
	code, _, stderr := runCLI(t, "verify", "example.com/org/app:1.0", "--trust-root", "root.json", "--metadata", "repo", "--max-json-values", "-1")
	if code != 2 || !strings.Contains(stderr, "--max-json-values take positive numbers") {
		t.Fatalf("exit %d, want 2:\n%s", code, stderr)
	}
}

func TestNegativeServiceMemoryLimitIsAUsageError(t *testing.T) {
	for _, args := range [][]string{{"serve"}, {"gateway", "--upstream", "https://registry.example"}} {
		cmd := args[0]
		code, _, stderr := runCLI(t, append(args, "--trust-root", "root.json", "--metadata", "repo", "--memory-limit", "-1")...)
		if code != 2 || !strings.Contains(stderr, "--memory-limit takes a positive number of bytes, or 0 for none") {
			t.Fatalf("%s: exit %d, want 2:\n%s", cmd, code, stderr)
		}
	}
}
