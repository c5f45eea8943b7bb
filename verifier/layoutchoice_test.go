package verifier_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cnabsec/cnabsec/internal/names"
	"github.com/cnabsec/cnabsec/internal/testing/scenario"
	"github.com/cnabsec/cnabsec/keys"
	"github.com/cnabsec/cnabsec/metadata"
	"github.com/cnabsec/cnabsec/signer"
	"github.com/cnabsec/cnabsec/verifier"
)

// currentLayout returns the bytes and info of the app's published root layout.
func currentLayout(t *testing.T, s *scenario.Scenario) ([]byte, metadata.Target) {
	t.Helper()
	list, err := s.Repo.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, tg := range list {
		if tg.Name == names.LayoutTarget(s.App) {
			dir := filepath.Join(s.RepoDir, "targets", filepath.FromSlash(names.LayoutDir(s.App)))
			b, err := os.ReadFile(filepath.Join(dir, tg.Hashes["sha256"]+".root.layout"))
			if err != nil {
				t.Fatal(err)
			}
			return b, tg
		}
	}
	t.Fatal("no root layout listed")
	return nil, metadata.Target{}
}

// publishLayoutAs publishes the app's layout again under another target name
// with the offline targets key, as a publisher replacing a layout does.
func publishLayoutAs(t *testing.T, s *scenario.Scenario, target string, covers, keepFor []string) {
	t.Helper()
	b, _ := currentLayout(t, s)
	if _, _, err := signer.PublishLayout(context.Background(), s.Repo, s.Signing("targets"), signer.LayoutRelease{
		Layout: b, Name: s.App, Keys: []*keys.PublicKey{s.Keys["owner"].Public()}, Target: target, Covers: covers, KeepPreviousFor: keepFor,
	}); err != nil {
		t.Fatal(err)
	}
}

func verify4(t *testing.T, s *scenario.Scenario) (*verifier.Report, error) {
	t.Helper()
	return verify(t, s, s.BundleRef, withLevel(verifier.Level3b))
}

func layoutsListed(t *testing.T, s *scenario.Scenario) []string {
	t.Helper()
	list, err := s.Repo.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, tg := range list {
		if names.IsLayoutTarget(tg.Name, s.App) {
			out = append(out, tg.Name)
		}
	}
	return out
}

// TestCIKeyChoosingARetiredLayoutIsDenied: the publisher replaced the layout
// (v2); release 1.0, signed by CI, still names the old root.layout. Before,
// the old layout stayed listed and CI could pick it.
func TestCIKeyChoosingARetiredLayoutIsDenied(t *testing.T) {
	s := build(t, true)
	v2 := names.LayoutDir(s.App) + "v2.layout"
	publishLayoutAs(t, s, v2, nil, nil)
	r, err := verify4(t, s)
	mustDeny(t, r, err, "bundle-provenance", "names layout "+names.LayoutTarget(s.App)+", but the targets role says "+v2+" governs it")
}

func TestReplacingALayoutRetiresThePreviousOne(t *testing.T) {
	s := build(t, true)
	v2 := names.LayoutDir(s.App) + "v2.layout"
	publishLayoutAs(t, s, v2, nil, nil)
	if got := layoutsListed(t, s); len(got) != 1 || got[0] != v2 {
		t.Fatalf("layouts listed after replacing: %q, want only %s", got, v2)
	}
}

func TestOlderLayoutKeptForItsCoveredVersionsStillVerifies(t *testing.T) {
	s := build(t, true)
	publishLayoutAs(t, s, names.LayoutDir(s.App)+"v2.layout", nil, []string{s.App + ":1.*"})
	if r, err := verify4(t, s); err != nil || !r.Verified {
		t.Fatalf("release 1.0 under the layout kept for 1.*: %v", err)
	}
}

// TestCIKeyChoosingAnOlderLayoutOutsideItsCoveredVersionsIsDenied: the old
// layout is kept for 0.x only; release 1.0 naming it is denied.
func TestCIKeyChoosingAnOlderLayoutOutsideItsCoveredVersionsIsDenied(t *testing.T) {
	s := build(t, true)
	v2 := names.LayoutDir(s.App) + "v2.layout"
	publishLayoutAs(t, s, v2, nil, []string{s.App + ":0.*"})
	r, err := verify4(t, s)
	mustDeny(t, r, err, "bundle-provenance", "but the targets role says "+v2+" governs it: it is kept only for "+s.App+":0.*")
}

// TestTwoCurrentLayoutsForOneRepositoryAreDenied: a repository made before
// layouts were retired lists two layouts without covers: nothing offline says
// which governs, so neither is chosen.
func TestTwoCurrentLayoutsForOneRepositoryAreDenied(t *testing.T) {
	s := build(t, true)
	b, tg := currentLayout(t, s)
	legacy := names.LayoutDir(s.App) + "legacy.layout"
	opts := metadata.UpdateOptions{Signers: []keys.Signer{s.Keys["targets"]}, Snapshot: s.Keys["snapshot"], Timestamp: s.Keys["timestamp"]}
	if _, err := s.Repo.Update(context.Background(), opts, func(tx *metadata.Tx) error {
		return tx.AddTarget(legacy, metadata.TargetInfo{Content: b, Custom: tg.Custom})
	}); err != nil {
		t.Fatal(err)
	}
	r, err := verify4(t, s)
	mustDeny(t, r, err, "bundle-provenance", "are both current")
	if !strings.Contains(r.Error, legacy) {
		t.Fatalf("the denial does not name both layouts: %s", r.Error)
	}
}

// TestKeepingThePreviousLayoutWhenPublishingOverItIsRefused: publishing under
// the current layout's own name replaces its bytes, so --keep-previous-for
// would keep nothing; the publisher is told instead of believing 1.x is kept.
func TestKeepingThePreviousLayoutWhenPublishingOverItIsRefused(t *testing.T) {
	s := build(t, true)
	b, _ := currentLayout(t, s)
	_, _, err := signer.PublishLayout(context.Background(), s.Repo, s.Signing("targets"), signer.LayoutRelease{
		Layout: b, Name: s.App, Keys: []*keys.PublicKey{s.Keys["owner"].Public()}, KeepPreviousFor: []string{s.App + ":1.*"},
	})
	if !errors.Is(err, signer.ErrNothingToKeep) || !strings.Contains(err.Error(), "has no current layout other than "+names.LayoutTarget(s.App)) {
		t.Fatalf("publishing over the current layout while keeping it: %v", err)
	}
	if got := layoutsListed(t, s); len(got) != 1 || got[0] != names.LayoutTarget(s.App) {
		t.Fatalf("layouts listed after the refused publish: %q", got)
	}
}
