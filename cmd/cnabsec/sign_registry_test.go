package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cnabsec/cnabsec/bundle"
	"github.com/cnabsec/cnabsec/bundle/oci"
	"github.com/cnabsec/cnabsec/internal/testing/registrytest"
	"github.com/cnabsec/cnabsec/internal/testing/testrepo"
)

// TestSignBundleDifferingFromTheRegistryCopyIsExit2WithTheMembersNamed: the
// registry holds the bundle as cnab-to-oci pushed it ("images": null
// dropped); signing the local file is refused with exit 2, the members
// named and the way out given, and --allow-registry-mismatch overrides.
func TestSignBundleDifferingFromTheRegistryCopyIsExit2WithTheMembersNamed(t *testing.T) {
	reg := registrytest.New(t)
	inv := reg.PushImage(t, "org/installer:1.0", 1)
	held := `{"description":"","invocationImages":[{"contentDigest":"` + inv.Digest + `","image":"` + inv.Ref + `","imageType":"docker"}],"name":"app","schemaVersion":"v1.0.0","version":"1.0.0"}`
	ref := reg.Ref("org/app:1.0")
	parsed, err := oci.ParseRef(ref, oci.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := oci.PushBundle(context.Background(), []byte(held), parsed, oci.Options{}); err != nil {
		t.Fatal(err)
	}
	local, err := bundle.Canonicalize([]byte(strings.Replace(held, `"invocationImages"`, `"images":null,"invocationImages"`, 1)))
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "bundle.json")
	if err := os.WriteFile(file, local, 0o644); err != nil {
		t.Fatal(err)
	}
	r := testrepo.New(t, testrepo.WithDelegated(reg.Host+"/org/app"))
	args := []string{"sign", "bundle", file, "--ref", ref, "--repo", r.Dir, "--key", r.KeyFile("releases")}
	code, _, errs := runCLI(t, args...)
	for _, want := range []string{`"images" only in the file`, "differs from the bundle the registry holds", "cnabsec bundle pull " + ref, "--allow-registry-mismatch"} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr does not say %q:\n%s", want, errs)
		}
	}
	if code != 2 {
		t.Fatalf("exit %d, want 2", code)
	}
	code, out, errs := runCLI(t, append(args, "--allow-registry-mismatch")...)
	if code != 0 || !strings.Contains(out, "registry copy: differs (allowed)") {
		t.Fatalf("with --allow-registry-mismatch: exit %d\n%s%s", code, out, errs)
	}
}

// TestSignBatchRefusesAnItemDifferingFromTheRegistryCopyAndSignsNothing: a
// batch of two bundles, one matching what its REF holds and one that the
// registry holds re-encoded ("images": null dropped, as cnab-to-oci pushes
// it): the batch is exit 2 naming that item's file, REF and member, and
// nothing is published; --allow-registry-mismatch signs both, and
// --no-registry-check does not compare.
func TestSignBatchRefusesAnItemDifferingFromTheRegistryCopyAndSignsNothing(t *testing.T) {
	reg := registrytest.New(t)
	inv := reg.PushImage(t, "org/installer:1.0", 1)
	held := `{"description":"","invocationImages":[{"contentDigest":"` + inv.Digest + `","image":"` + inv.Ref + `","imageType":"docker"}],"name":"app","schemaVersion":"v1.0.0","version":"1.0.0"}`
	dir := t.TempDir()
	for _, tag := range []string{"1.0", "2.0"} {
		parsed, err := oci.ParseRef(reg.Ref("org/app:"+tag), oci.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := oci.PushBundle(context.Background(), []byte(held), parsed, oci.Options{}); err != nil {
			t.Fatal(err)
		}
	}
	local, err := bundle.Canonicalize([]byte(strings.Replace(held, `"invocationImages"`, `"images":null,"invocationImages"`, 1)))
	if err != nil {
		t.Fatal(err)
	}
	for file, raw := range map[string][]byte{"same.json": []byte(held), "local.json": local} {
		if err := os.WriteFile(filepath.Join(dir, file), raw, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	batch := filepath.Join(dir, "release.yaml")
	if err := os.WriteFile(batch, []byte("- {kind: bundle, ref: "+reg.Ref("org/app:1.0")+", file: same.json}\n- {kind: bundle, ref: "+reg.Ref("org/app:2.0")+", file: local.json}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := testrepo.New(t, testrepo.WithDelegated(reg.Host+"/org/app"))
	args := []string{"sign", "batch", batch, "--repo", r.Dir, "--key", r.KeyFile("releases")}
	code, out, errs := runCLI(t, args...)
	for _, want := range []string{"local.json", "differs from the bundle the registry holds", reg.Ref("org/app:2.0"), `"images" only in the file`, "--allow-registry-mismatch"} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr does not say %q:\n%s", want, errs)
		}
	}
	if code != 2 || strings.Contains(out, "signed ") {
		t.Fatalf("exit %d, want 2 with nothing signed:\n%s", code, out)
	}
	code, out, errs = runCLI(t, append(args, "--allow-registry-mismatch")...)
	if code != 0 || !strings.Contains(out, "registry copy: same bytes") || !strings.Contains(out, `registry copy: differs (allowed): "images" only in the file`) {
		t.Fatalf("with --allow-registry-mismatch: exit %d\n%s%s", code, out, errs)
	}
	code, out, errs = runCLI(t, append(args, "--no-registry-check")...)
	if code != 0 || strings.Contains(out, "registry copy") {
		t.Fatalf("with --no-registry-check: exit %d (want 0, nothing compared)\n%s%s", code, out, errs)
	}
}
