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
