package verifier_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/cnabsec/cnabsec/internal/testing/scenario"
	"github.com/cnabsec/cnabsec/internal/testing/testrepo"
	"github.com/cnabsec/cnabsec/keys"
	"github.com/cnabsec/cnabsec/signer"
	"github.com/cnabsec/cnabsec/verifier"
)

// secondPublisher signs the scenario's images and bundle (or other bytes
// under the bundle's name) in an independent repository with its own keys.
func secondPublisher(t *testing.T, s *scenario.Scenario, bundleFile string) *testrepo.Repo {
	t.Helper()
	b := testrepo.New(t, testrepo.WithDelegated(s.App, s.Registry+"/org/web", s.Registry+"/org/app-installer"))
	_, err := signer.Sign(ctx, b.Repo, signer.Options{Keys: []keys.Signer{b.Releases}, Snapshot: b.Snapshot, Timestamp: b.Timestamp},
		signer.Item{Kind: "image", Ref: s.WebRef}, signer.Item{Kind: "image", Ref: s.InstallerRef},
		signer.Item{Kind: "bundle", Ref: s.BundleRef, File: bundleFile})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeMap(t *testing.T, s *scenario.Scenario, b *testrepo.Repo, threshold int, repos ...string) string {
	return writeMapT(t, s, b, true, threshold, repos...)
}

func writeMapT(t *testing.T, s *scenario.Scenario, b *testrepo.Repo, terminating bool, threshold int, repos ...string) string {
	t.Helper()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.root.json"), s.TrustedRoot, 0o644)
	os.WriteFile(filepath.Join(dir, "b.root.json"), b.TrustedRoot, 0o644)
	m := verifier.MapFile{
		Repositories: map[string][]string{"a": {s.RepoDir}, "b": {b.Dir}},
		Roots:        map[string]string{"a": "a.root.json", "b": "b.root.json"},
		Mapping: []verifier.MapRule{
			{Paths: []string{s.Registry + "/org/*"}, Repositories: repos, Threshold: threshold, Terminating: terminating},
			{Paths: []string{s.Registry + "/org/*"}, Repositories: []string{"b"}, Threshold: 1},
		},
	}
	raw, _ := json.Marshal(m)
	p := filepath.Join(dir, "map.json")
	os.WriteFile(p, raw, 0o644)
	return p
}

func verifyMap(t *testing.T, s *scenario.Scenario, mapFile string) (*verifier.Report, error) {
	t.Helper()
	m, roots, err := verifier.ParseMapFile(mapFile)
	if err != nil {
		t.Fatal(err)
	}
	v, err := verifier.New(verifier.Config{Map: m, MapRoots: roots})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	return v.Verify(ctx, verifier.Request{Reference: s.BundleRef})
}

func TestTAP4TwoPublishersMustAgree(t *testing.T) {
	s := build(t, false)
	b := secondPublisher(t, s, filepath.Join(s.WorkDir, "bundle.json"))
	if r, err := verifyMap(t, s, writeMap(t, s, b, 2, "a", "b")); err != nil {
		t.Fatalf("both publishers sign the same bytes: %v %+v", err, r.FirstFailure())
	}
	if r, err := verifyMap(t, s, writeMap(t, s, b, 1, "a")); err != nil {
		t.Fatalf("threshold 1 of a: %v %+v", err, r.FirstFailure())
	}
}

func TestTAP4PublishersDisagreeingIsDenied(t *testing.T) {
	s := build(t, false)
	other, _ := scenario.BundleJSON("app", "1.0-other", s.InstallerRef, s.InstallerDigest, s.WebRef, s.WebDigest)
	p := filepath.Join(t.TempDir(), "bundle.json")
	os.WriteFile(p, other, 0o644)
	b := secondPublisher(t, s, p)
	r, err := verifyMap(t, s, writeMap(t, s, b, 2, "a", "b"))
	mustDeny(t, r, err, "bundle-target", "disagree")
}

func TestTAP4TerminatingRuleDoesNotFallThroughToAnotherPublisher(t *testing.T) {
	s := build(t, false)
	b := secondPublisher(t, s, filepath.Join(s.WorkDir, "bundle.json"))
	// a revokes the bundle; b still signs it. Rule 1 (a, terminating) no
	// longer finds it, and rule 2 (b) must not be consulted.
	if _, err := signer.Revoke(ctx, s.Repo, s.Signing("releases"), s.BundleRef); err != nil {
		t.Fatal(err)
	}
	r, err := verifyMap(t, s, writeMap(t, s, b, 1, "a"))
	mustDeny(t, r, err, "bundle-target", "no trusted TUF role signs")
	// Control: the same map with rule 1 not terminating falls through to b.
	if r, err := verifyMap(t, s, writeMapT(t, s, b, false, 1, "a")); err != nil {
		t.Fatalf("non-terminating rule did not fall through: %v %+v", err, r.FirstFailure())
	}
}

func TestTAP4MapWithoutPinnedRootIsRefused(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "map.json")
	os.WriteFile(p, []byte(`{"repositories":{"a":["/x"]},"mapping":[{"paths":["*"],"repositories":["a"],"threshold":1}]}`), 0o644)
	if _, _, err := verifier.ParseMapFile(p); err == nil {
		t.Fatal("a map without roots was accepted: that is trust on first use")
	}
	os.WriteFile(p, []byte(`{"repositories":{"a":["/x"]},"roots":{"a":"r.json"},"mapping":[{"paths":["*"],"repositories":["a","a"],"threshold":2}]}`), 0o644)
	os.WriteFile(filepath.Join(dir, "r.json"), []byte(`{}`), 0o644)
	if _, _, err := verifier.ParseMapFile(p); err == nil {
		t.Fatal("one repository listed twice met a threshold of 2")
	}
}
