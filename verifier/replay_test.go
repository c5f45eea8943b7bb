package verifier_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/cnabsec/cnabsec/internal/testing/registrytest"
	"github.com/cnabsec/cnabsec/internal/testing/scenario"
	"github.com/cnabsec/cnabsec/layouts"
	"github.com/cnabsec/cnabsec/signer"
	"github.com/cnabsec/cnabsec/verifier"
)

// TestReplayedDeveloperLinkWithFreshCIPackageLinkIsDenied plays the holder of
// the CI functionary key and the releases key: for a bundle no developer
// wrote, they replay release 1.0's developer-signed write-bundle link next to
// a fresh package link whose materials are 1.0's bundle.json and whose
// product is theirs. The documented layout binds package's products to the
// developer's (MATCH ... WITH PRODUCTS FROM write-bundle), so the replayed
// link cannot vouch for the new bytes.
func TestReplayedDeveloperLinkWithFreshCIPackageLinkIsDenied(t *testing.T) {
	s := build(t, true)
	evil, err := scenario.BundleJSON("app", "6.6.6", s.InstallerRef, s.InstallerDigest, s.WebRef, s.WebDigest)
	if err != nil {
		t.Fatal(err)
	}
	work, links := t.TempDir(), t.TempDir()
	devLinks, _ := filepath.Glob(filepath.Join(s.WorkDir, "bundle-links", "write-bundle.*.link"))
	if len(devLinks) != 1 {
		t.Fatalf("release 1.0's developer link: %v", devLinks)
	}
	replayed, err := os.ReadFile(devLinks[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(links, filepath.Base(devLinks[0])), replayed, 0o644); err != nil {
		t.Fatal(err)
	}
	// The attacker's best move whatever the layout: as materials, exactly
	// the developer's 1.0 products (1.0's released bytes); as products, those
	// again and the new bundle.json.
	devProducts := productNames(t, replayed)
	files := map[string][]byte{"evil.json": evil}
	for _, n := range devProducts {
		files[n] = s.BundleJSON
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(work, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := layouts.RunStep(context.Background(), layouts.StepOptions{
		Name: "package", Key: s.Keys["ci"], Materials: devProducts, Products: append([]string{"bundle.json"}, devProducts...),
		Command: []string{"cp", "evil.json", "bundle.json"}, Dir: work, OutDir: links,
	}); err != nil {
		t.Fatal(err)
	}
	ref := s.App + ":6.6.6"
	if _, err := signer.Sign(context.Background(), s.Repo, s.Signing("releases"), signer.Item{
		Kind: "bundle", Ref: ref, File: filepath.Join(work, "bundle.json"), Push: true, Links: links,
	}); err != nil {
		t.Fatal(err)
	}
	r, err := verify(t, s, ref, withLevel(verifier.Level4))
	if err == nil || r.Verified {
		t.Fatal("a bundle no developer wrote reached level 4 with a replayed developer link")
	}
	f := r.FirstFailure()
	if f == nil || f.Name != layouts.CheckArtifactRules || !strings.Contains(f.Subject, "package products") {
		t.Fatalf("first failure %+v, want the package step's product rule (MATCH with write-bundle's products)", f)
	}
}

// productNames are the artifact names a signed link records as products.
func productNames(t *testing.T, link []byte) []string {
	t.Helper()
	var l struct {
		Signed struct {
			Products map[string]any `json:"products"`
		} `json:"signed"`
	}
	if err := json.Unmarshal(link, &l); err != nil || len(l.Signed.Products) == 0 {
		t.Fatalf("replayed link: %v, products %v", err, l.Signed.Products)
	}
	var out []string
	for n := range l.Signed.Products {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// TestVerdictNamesTheKeysTheProvenanceRestsOn: the report lists, for the
// verified bundle, the layout, its owners' key IDs and each step's counted
// functionary key IDs.
func TestVerdictNamesTheKeysTheProvenanceRestsOn(t *testing.T) {
	s := build(t, true)
	r, err := verify(t, s, s.BundleRef, withLevel(verifier.Level4))
	if err != nil {
		t.Fatal(err)
	}
	var bundle *verifier.Provenance
	for i := range r.Provenance {
		if r.Provenance[i].Subject == s.BundleRef {
			bundle = &r.Provenance[i]
		}
	}
	if bundle == nil || len(r.Provenance) != 3 {
		t.Fatalf("provenance %+v: want the bundle and its two images", r.Provenance)
	}
	steps := map[string][]string{}
	for _, st := range bundle.Steps {
		steps[st.Step] = st.KeyIDs
	}
	if len(bundle.LayoutKeys) != 1 || bundle.LayoutKeys[0] != s.Keys["owner"].Public().ID() ||
		len(steps["write-bundle"]) != 1 || steps["write-bundle"][0] != s.Keys["developer"].Public().ID() ||
		len(steps["package"]) != 1 || steps["package"][0] != s.Keys["ci"].Public().ID() {
		t.Fatalf("bundle provenance %+v: want owner, developer (write-bundle) and ci (package) key IDs", bundle)
	}
}

// TestLayoutTheCIKeysCanSatisfyAloneIsWarnedInTheReport: when the in-toto CI
// functionary is the releases key (one CI key, as the README sets it up),
// the verifier, which reads the releases keys from the top-level targets
// role, warns about a layout step the CI key alone performs whose products
// it may create (the image layout's build-image), and not about the bound
// bundle layout, whose package step can only pass on the developer's bytes.
// The warning does not change the verdict.
func TestLayoutTheCIKeysCanSatisfyAloneIsWarnedInTheReport(t *testing.T) {
	reg := registrytest.New(t)
	s, err := scenario.Build(context.Background(), scenario.Options{Dir: t.TempDir(), Registry: reg.Host, Provenance: true, CIFunctionaryIsReleasesKey: true})
	if err != nil {
		t.Fatal(err)
	}
	r, err := verify(t, s, s.BundleRef, withLevel(verifier.Level4))
	if err != nil {
		t.Fatal(err)
	}
	ci := s.Keys["releases"].Public().ID()[:12]
	var imageWarned bool
	for _, c := range r.Checks {
		if c.Name != layouts.CheckLayoutParties || !strings.Contains(c.Detail, "CI keys alone") {
			continue
		}
		if c.Status != verifier.Warn || !strings.Contains(c.Detail, `step "build-image" can be performed by the CI keys alone (`+ci+`)`) {
			t.Fatalf("unexpected party warning %+v", c)
		}
		imageWarned = true
	}
	if !imageWarned {
		t.Fatalf("no warning that the CI key (%s) alone performs build-image; checks %+v", ci, r.Checks)
	}
}
