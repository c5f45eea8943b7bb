//go:build interop

package main

// Level-4 round trips with cnab-to-oci v0.6.1 (make interop builds it into
// $CNABSEC_CNAB_TO_OCI_DIR/v0.6.1/cnab-to-oci) against Debian's
// docker-registry: cnab-to-oci pushes, cnabsec signs what the registry holds
// and verifies; cnabsec pushes, cnab-to-oci pulls and cnabsec verifies the
// pulled file; cnab-to-oci's fixup relocates and cnabsec verifies with its
// relocation map. With CI=true a missing peer fails, never skips.

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/cnabsec/cnabsec/internal/testing/peers"
	"github.com/cnabsec/cnabsec/internal/testing/scenario"
)

// cnabToOCIVersions are the cnab-to-oci releases make interop-cnab-to-oci
// builds; every round trip runs with each.
var cnabToOCIVersions = []string{"v0.6.1", "v0.4.1"}

func needCnabToOCIVersion(t *testing.T, version string) string {
	t.Helper()
	dir := os.Getenv("CNABSEC_CNAB_TO_OCI_DIR")
	p := filepath.Join(dir, version, "cnab-to-oci")
	if _, err := os.Stat(p); err != nil || dir == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("cnab-to-oci %s is required for the interop tests (CI=true; make interop-cnab-to-oci builds it): %v", version, err)
		}
		t.Skipf("cnab-to-oci %s not built (make interop-cnab-to-oci builds it): %v", version, err)
	}
	return p
}

// eachCnabToOCI runs test once per cnab-to-oci version, each with its own
// release on its own registry.
func eachCnabToOCI(t *testing.T, test func(t *testing.T, r *c2oRelease)) {
	for _, v := range cnabToOCIVersions {
		t.Run(v, func(t *testing.T) { test(t, newC2ORelease(t, v)) })
	}
}

func runCnabToOCI(t *testing.T, bin string, args ...string) string {
	t.Helper()
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("cnab-to-oci %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// c2oRelease is the scenario's level-4 release on Debian's docker-registry
// and the verify flags (trust root, metadata, level 4).
type c2oRelease struct {
	s      *scenario.Scenario
	reg    string
	bin    string
	verify []string
}

func newC2ORelease(t *testing.T, version string) *c2oRelease {
	t.Helper()
	bin := needCnabToOCIVersion(t, version)
	reg := peers.StartDistribution(t)
	s, err := scenario.Build(context.Background(), scenario.Options{Dir: t.TempDir(), Registry: reg, Provenance: true})
	if err != nil {
		t.Fatalf("scenario: %v", err)
	}
	root := filepath.Join(t.TempDir(), "root.json")
	if err := os.WriteFile(root, s.TrustedRoot, 0o600); err != nil {
		t.Fatal(err)
	}
	return &c2oRelease{s: s, reg: reg, bin: bin, verify: []string{"--trust-root", root, "--metadata", s.RepoDir, "--level", "4"}}
}

// key is the scenario's key file for role.
func (r *c2oRelease) key(role string) string { return filepath.Join(r.s.KeyDir, role+".key") }

// recordAndSign records the bundle's in-toto steps over dir/bundle.json
// (developer writes, CI packages) and signs it as ref, with push or
// compared with the registry's copy.
func (r *c2oRelease) recordAndSign(t *testing.T, dir, ref string, push bool) string {
	t.Helper()
	t.Chdir(dir)
	for _, args := range [][]string{
		{"link", "run", "write-bundle", "--key", r.key("developer"), "-p", "bundle.json", "-d", "links", "--", "true"},
		{"link", "run", "package", "--key", r.key("ci"), "-m", "bundle.json", "-p", "bundle.json", "-d", "links", "--", "true"},
	} {
		if code, out, errs := runCLI(t, args...); code != 0 {
			t.Fatalf("cnabsec %v: exit %d\n%s%s", args, code, out, errs)
		}
	}
	args := []string{"sign", "bundle", "bundle.json", "--ref", ref, "--links", "links", "--repo", r.s.RepoDir,
		"--key", r.key("releases"), "--snapshot-key", r.key("snapshot"), "--timestamp-key", r.key("timestamp")}
	if push {
		args = append(args, "--push")
	}
	code, out, errs := runCLI(t, args...)
	if code != 0 {
		t.Fatalf("cnabsec %v: exit %d\n%s%s", args, code, out, errs)
	}
	return out
}

func (r *c2oRelease) mustVerify(t *testing.T, ref string, extra ...string) {
	t.Helper()
	code, out, errs := runCLI(t, append(append([]string{"verify", ref}, r.verify...), extra...)...)
	want := regexp.MustCompile(`(?m)^VERIFIED ` + regexp.QuoteMeta(ref) + ` at level 4 \(required 4\)`)
	if code != 0 || !want.MatchString(out) {
		t.Fatalf("verify %s %v: exit %d, want VERIFIED at level 4\n%s%s", ref, extra, code, out, errs)
	}
}

// TestInteropCnabToOCIPushedBundleSignedByCnabsecVerifiesAtLevel4: the
// publisher pushes with cnab-to-oci, which re-encodes bundle.json (drops
// "modifies": false; with --auto-update-bundle, which it needs when the
// images have no size, adds their size and mediaType from the registry): signing the local file is refused naming those members; signing
// what cnabsec bundle pull returns, with links recorded over those bytes,
// verifies at level 4, and so does the file cnab-to-oci pulls back.
func TestInteropCnabToOCIPushedBundleSignedByCnabsecVerifiesAtLevel4(t *testing.T) {
	eachCnabToOCI(t, func(t *testing.T, r *c2oRelease) {
		ref := r.s.App + ":c2o"
		local := filepath.Join(r.s.WorkDir, "bundle.json")
		runCnabToOCI(t, r.bin, "push", local, "--auto-update-bundle", "--target", ref, "--insecure-registries", r.reg, "--push-images=false")

		code, _, errs := runCLI(t, "sign", "bundle", local, "--ref", ref, "--repo", r.s.RepoDir, "--key", r.key("releases"))
		for _, want := range []string{"differs from the bundle the registry holds", `"actions.status.modifies" only in the file`, "cnabsec bundle pull " + ref} {
			if !strings.Contains(errs, want) {
				t.Errorf("signing the local file cnab-to-oci re-encoded: stderr does not say %q:\n%s", want, errs)
			}
		}
		if code != 2 {
			t.Fatalf("signing the local file cnab-to-oci re-encoded: exit %d, want 2", code)
		}

		dir := t.TempDir()
		if code, out, errs := runCLI(t, "bundle", "pull", ref, "--out", filepath.Join(dir, "bundle.json")); code != 0 {
			t.Fatalf("bundle pull: exit %d\n%s%s", code, out, errs)
		}
		if out := r.recordAndSign(t, dir, ref, false); !strings.Contains(out, "registry copy: same bytes") {
			t.Fatalf("sign of the pulled file:\n%s", out)
		}
		r.mustVerify(t, ref)

		theirs := filepath.Join(t.TempDir(), "pulled.json")
		runCnabToOCI(t, r.bin, "pull", ref, "--bundle", theirs, "--relocation-map", filepath.Join(t.TempDir(), "map.json"), "--insecure-registries", r.reg)
		r.mustVerify(t, ref, "--bundle", theirs)
	})
}

// TestInteropCnabsecPushedBundlePulledByCnabToOCIVerifiesAtLevel4: cnabsec
// signs and pushes a bundle.json in cnab-go's encoding; the file cnab-to-oci
// pulls is those bytes and verifies at level 4 with --bundle. A bundle not in
// that encoding (the scenario's, with "modifies": false) comes back from
// cnab-to-oci's pull re-encoded, and verify --bundle denies it: the pulled
// file is not the signed one.
func TestInteropCnabsecPushedBundlePulledByCnabToOCIVerifiesAtLevel4(t *testing.T) {
	eachCnabToOCI(t, func(t *testing.T, r *c2oRelease) {
		// cnab-go's encoding of the scenario's bundle: what cnab-to-oci's fixup writes.
		dir := t.TempDir()
		runCnabToOCI(t, r.bin, "fixup", filepath.Join(r.s.WorkDir, "bundle.json"), "--auto-update-bundle", "--target", r.s.App+":fixed",
			"--bundle", filepath.Join(dir, "bundle.json"), "--relocation-map", filepath.Join(dir, "map.json"), "--insecure-registries", r.reg)
		ref := r.s.App + ":cnabsec"
		if out := r.recordAndSign(t, dir, ref, true); !strings.Contains(out, "pushed as sha256:") {
			t.Fatalf("sign --push:\n%s", out)
		}
		theirs := filepath.Join(t.TempDir(), "pulled.json")
		runCnabToOCI(t, r.bin, "pull", ref, "--bundle", theirs, "--relocation-map", filepath.Join(t.TempDir(), "map.json"), "--insecure-registries", r.reg)
		r.mustVerify(t, ref, "--bundle", theirs)

		// The scenario's 1.0, pushed by cnabsec with "modifies": false.
		reencoded := filepath.Join(t.TempDir(), "pulled.json")
		runCnabToOCI(t, r.bin, "pull", r.s.BundleRef, "--bundle", reencoded, "--relocation-map", filepath.Join(t.TempDir(), "map.json"), "--insecure-registries", r.reg)
		r.mustVerify(t, r.s.BundleRef)
		code, out, errs := runCLI(t, append(append([]string{"verify", r.s.BundleRef}, r.verify...), "--bundle", reencoded)...)
		if code != 1 || !strings.Contains(out, "DENIED "+r.s.BundleRef) || !strings.Contains(errs, "bundle-digest failed") ||
			!strings.Contains(errs, "does not match signed target "+r.s.BundleRef) {
			t.Fatalf("verify --bundle of cnab-to-oci's re-encoded pull: exit %d, want 1 (denied)\n%s%s", code, out, errs)
		}
	})
}

// TestInteropCnabToOCIFixupRelocationMapVerifiesAtLevel4: cnab-to-oci's
// fixup to another repository copies the images there and writes a
// relocation map whose entries are REPOSITORY@contentDigest; cnabsec
// verifies the release with it at level 4, checking the images at their
// relocated references. The same map with an entry rewritten to a tag is
// denied.
func TestInteropCnabToOCIFixupRelocationMapVerifiesAtLevel4(t *testing.T) {
	eachCnabToOCI(t, func(t *testing.T, r *c2oRelease) {
		dir := t.TempDir()
		mapping := filepath.Join(dir, "relocation-map.json")
		runCnabToOCI(t, r.bin, "fixup", filepath.Join(r.s.WorkDir, "bundle.json"), "--auto-update-bundle", "--target", r.reg+"/mirror/app:1.0",
			"--bundle", filepath.Join(dir, "fixed.json"), "--relocation-map", mapping, "--insecure-registries", r.reg)
		raw, err := os.ReadFile(mapping)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]string
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatalf("cnab-to-oci's relocation map %s: %v", raw, err)
		}
		want := map[string]string{
			r.s.InstallerRef: r.reg + "/mirror/app@" + r.s.InstallerDigest,
			r.s.WebRef:       r.reg + "/mirror/app@" + r.s.WebDigest,
		}
		if len(m) != len(want) || m[r.s.InstallerRef] != want[r.s.InstallerRef] || m[r.s.WebRef] != want[r.s.WebRef] {
			t.Fatalf("cnab-to-oci's relocation map: %s\nwant %v", raw, want)
		}
		r.mustVerify(t, r.s.BundleRef, "--relocation-mapping", mapping)

		tagged := filepath.Join(dir, "tagged.json")
		m[r.s.WebRef] = r.reg + "/mirror/app:web"
		b, _ := json.Marshal(m)
		if err := os.WriteFile(tagged, b, 0o644); err != nil {
			t.Fatal(err)
		}
		code, out, errs := runCLI(t, append(append([]string{"verify", r.s.BundleRef}, r.verify...), "--relocation-mapping", tagged)...)
		if code != 1 || !strings.Contains(out+errs, "a tag: relocated references must be pinned by digest") {
			t.Fatalf("verify with a tag in cnab-to-oci's map: exit %d, want 1 naming the tag\n%s%s", code, out, errs)
		}
	})
}
