//go:build interop

package oci

// Interop with cnab-to-oci itself (make interop builds v0.4.1 and v0.6.1
// from the module proxy into $CNABSEC_CNAB_TO_OCI_DIR/VERSION/cnab-to-oci):
// the same bundle.json pushed by cnab-to-oci and by cnabsec to Debian's
// docker-registry gets the same index digest, and each tool pulls what the
// other pushed. With CI=true a missing peer fails, never skips.

import (
	"bytes"
	"context"
	"encoding/json"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cnabsec/cnabsec/internal/testing/peers"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// cnabToOCIVersions are the cnab-to-oci releases make interop builds.
var cnabToOCIVersions = []string{"v0.4.1", "v0.6.1"}

func needCnabToOCI(t *testing.T, version string) string {
	t.Helper()
	p := filepath.Join(os.Getenv("CNABSEC_CNAB_TO_OCI_DIR"), version, "cnab-to-oci")
	if _, err := os.Stat(p); err != nil || os.Getenv("CNABSEC_CNAB_TO_OCI_DIR") == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("cnab-to-oci %s is required for the interop tests (CI=true; make interop builds it): %v", version, err)
		}
		t.Skipf("cnab-to-oci %s not built (make interop builds it): %v", version, err)
	}
	return p
}

func runTool(t *testing.T, bin string, args ...string) string {
	t.Helper()
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(bin), strings.Join(args, " "), err, out)
	}
	return string(out)
}

func TestInteropCnabToOCIPushGivesCnabsecsIndexDigestAndEachPullsTheOther(t *testing.T) {
	addr := peers.StartDistribution(t)
	img, err := random.Image(256, 2, random.WithSource(rand.NewSource(1)))
	if err != nil {
		t.Fatal(err)
	}
	src := mustRef(t, addr+"/src/invoc:1.0")
	if err := remote.Write(src, img); err != nil {
		t.Fatal(err)
	}
	// The golden "minimal" bundle's layout, with images in this registry.
	raw := readGolden(t, filepath.Join(goldenDir, "minimal"), "bundle.json")
	raw = bytes.Replace(raw, []byte("registry.example/src/invoc:1.0"), []byte(src.Name()), 1)
	file := filepath.Join(t.TempDir(), "bundle.json")
	if err := os.WriteFile(file, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, v := range cnabToOCIVersions {
		t.Run(v, func(t *testing.T) {
			bin := needCnabToOCI(t, v)
			theirs := mustRef(t, addr+"/org/app:c2o-"+v)
			runTool(t, bin, "push", file, "--target", theirs.Name(), "--insecure-registries", addr, "--push-images=false")
			ours, err := PushBundle(context.Background(), raw, mustRef(t, addr+"/org/app:cnabsec-"+v), Options{})
			if err != nil {
				t.Fatal(err)
			}
			got, err := remote.Get(theirs)
			if err != nil {
				t.Fatal(err)
			}
			if got.Digest.String() != ours.Digest {
				t.Fatalf("cnab-to-oci %s pushed index %s, cnabsec %s:\n%s\n%s", v, got.Digest, ours.Digest, got.Manifest, ours.RawManifest)
			}
			pulled, _, err := PullBundle(context.Background(), theirs, Options{})
			if err != nil || !bytes.Equal(pulled, raw) {
				t.Fatalf("cnabsec pull of cnab-to-oci's push: %v\n%s", err, pulled)
			}
			dir := t.TempDir()
			runTool(t, bin, "pull", addr+"/org/app:cnabsec-"+v, "--bundle", filepath.Join(dir, "b.json"),
				"--relocation-map", filepath.Join(dir, "map.json"), "--insecure-registries", addr)
			theirPull, _ := os.ReadFile(filepath.Join(dir, "b.json"))
			if !bytes.Equal(theirPull, raw) {
				t.Errorf("cnab-to-oci pull of cnabsec's push:\n%s\nwant\n%s", theirPull, raw)
			}
			var mapping map[string]string
			mraw, _ := os.ReadFile(filepath.Join(dir, "map.json"))
			if err := json.Unmarshal(mraw, &mapping); err != nil || mapping[src.Name()] != addr+"/org/app@"+"sha256:e4d99b71e1beb34a629116f35293ea425423e92e6b5ade945f38b5569020e3db" {
				t.Errorf("cnab-to-oci's relocation map of cnabsec's push: %s (%v)", mraw, err)
			}
		})
	}
}
