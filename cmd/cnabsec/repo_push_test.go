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

// TestVerifyFromMetadataInTheRegistry: a release is pushed with `repo push`,
// verified at level 4 with nothing but the registry, then mirrored with
// `copy --with-metadata` and verified from the mirror with the original
// registry gone.
func TestVerifyFromMetadataInTheRegistry(t *testing.T) {
	reg := registrytest.New(t)
	s, err := scenario.Build(context.Background(), scenario.Options{Dir: t.TempDir(), Registry: reg.Host, Provenance: true})
	if err != nil {
		t.Fatalf("scenario: %v", err)
	}
	root := filepath.Join(t.TempDir(), "root.json")
	if err := atomicfile.WriteFile(root, s.TrustedRoot, 0o600); err != nil {
		t.Fatal(err)
	}
	loc := "oci://" + reg.Ref("org/tuf")

	code, out, errOut := runCLI(t, "repo", "push", s.RepoDir, loc)
	if code != 0 || !strings.Contains(out, "pushed "+s.RepoDir) || !strings.Contains(out, "+ timestamp.json") {
		t.Fatalf("repo push: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	code, out, errOut = runCLI(t, "verify", s.BundleRef, "--trust-root", root, "--metadata", loc, "--level", "4")
	if code != 0 {
		t.Fatalf("verify from oci metadata: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	// Re-push: nothing changed, nothing uploaded.
	code, out, _ = runCLI(t, "repo", "push", s.RepoDir, loc, "-o", "json")
	if code != 0 || !strings.Contains(out, `"metadataPushed": []`) || !strings.Contains(out, `"targetsPushed": 0`) {
		t.Fatalf("second repo push: exit %d, %s", code, out)
	}

	mirror := registrytest.New(t)
	mapping := filepath.Join(t.TempDir(), "relocation.json")
	code, out, errOut = runCLI(t, "copy", s.BundleRef, mirror.Ref("org/app:1.0"), "--relocation-mapping-out", mapping, "--with-metadata", loc)
	if code != 0 || !strings.Contains(out, "verify the copy with: --metadata oci://"+mirror.Ref("org/tuf")) {
		t.Fatalf("copy --with-metadata: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	reg.Server.Close() // the mirror must be enough
	code, out, errOut = runCLI(t, "verify", s.BundleRef, "--from", mirror.Ref("org/app:1.0"), "--relocation-mapping", mapping,
		"--trust-root", root, "--metadata", "oci://"+mirror.Ref("org/tuf"), "--level", "4")
	if code != 0 {
		t.Fatalf("verify from the mirror: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
}

func TestRepoPushToALocationThatIsNotOCIIsRefused(t *testing.T) {
	code, _, errOut := runCLI(t, "repo", "push", t.TempDir(), "https://example.com/tuf")
	if code != 2 || !strings.Contains(errOut, `metadata location "https://example.com/tuf": want oci://REGISTRY/REPOSITORY`) {
		t.Fatalf("exit %d, stderr %s", code, errOut)
	}
}

func TestVerifyWithMetadataMissingFromTheRegistryIsInconclusive(t *testing.T) {
	reg := registrytest.New(t)
	s, err := scenario.Build(context.Background(), scenario.Options{Dir: t.TempDir(), Registry: reg.Host})
	if err != nil {
		t.Fatalf("scenario: %v", err)
	}
	root := filepath.Join(t.TempDir(), "root.json")
	if err := atomicfile.WriteFile(root, s.TrustedRoot, 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI(t, "verify", s.BundleRef, "--trust-root", root, "--metadata", "oci://"+reg.Ref("org/never-pushed"))
	if code != 3 || !strings.Contains(out+errOut, "timestamp.json") {
		t.Fatalf("exit %d, want 3 naming timestamp.json\nstdout: %s\nstderr: %s", code, out, errOut)
	}
}
