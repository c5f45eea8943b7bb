package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cnabsec/cnabsec/bundle/oci"
	"github.com/cnabsec/cnabsec/internal/testing/registrytest"
)

// pushCLITestBundle pushes an image and a bundle referencing it to reg and
// returns the bundle bytes, its reference and the image.
func pushCLITestBundle(t *testing.T, reg *registrytest.Registry, repoTag string) ([]byte, string, registrytest.Image) {
	t.Helper()
	img := reg.PushImage(t, "src/invoc:1.0", 11)
	b := map[string]any{
		"schemaVersion": "v1.0.0", "name": "hello", "version": "1.0.0",
		"invocationImages": []any{map[string]any{"image": img.Ref, "imageType": "oci", "contentDigest": img.Digest, "size": img.Size, "mediaType": img.MediaType}},
	}
	raw, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	ref := reg.Ref(repoTag)
	r, err := oci.ParseRef(ref, oci.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := oci.PushBundle(context.Background(), raw, r, oci.Options{}); err != nil {
		t.Fatal(err)
	}
	return raw, ref, img
}

func TestCopyCommandWritesRelocationMappingAndKeepsDigests(t *testing.T) {
	reg := registrytest.New(t)
	other := registrytest.New(t)
	raw, src, img := pushCLITestBundle(t, reg, "bundles/hello:1.0")
	out := filepath.Join(t.TempDir(), "sub", "relocation.json")
	// Flags after positionals, DST without tag (takes the source tag).
	code, stdout, stderr := runCLI(t, "copy", src, other.Ref("mirror/hello"), "--relocation-mapping-out", out, "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d, stderr %s", code, stderr)
	}
	var rep copyReport
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("stdout is not the JSON report: %v\n%s", err, stdout)
	}
	wantTarget := other.Ref("mirror/hello@" + img.Digest)
	if rep.Destination != other.Ref("mirror/hello:1.0") || rep.RelocationMapping[img.Ref] != wantTarget {
		t.Fatalf("report %+v", rep)
	}
	file, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]string
	if err := json.Unmarshal(file, &m); err != nil || len(m) != 1 || m[img.Ref] != wantTarget {
		t.Fatalf("mapping file %s: %v", file, err)
	}
	// The copy serves the same bundle.json.
	code, pulled, stderr := runCLI(t, "bundle", "pull", other.Ref("mirror/hello:1.0"))
	if code != 0 || pulled != string(raw) {
		t.Fatalf("pull of the copy: exit %d, %q, stderr %s", code, pulled, stderr)
	}
}

func TestCopyCommandWithMissingSourceTagExitsDenied(t *testing.T) {
	reg := registrytest.New(t)
	reg.PushImage(t, "bundles/hello:0.9", 1)
	code, _, stderr := runCLI(t, "copy", reg.Ref("bundles/hello:1.0"), reg.Ref("mirror/hello:1.0"))
	if code != 1 || !strings.Contains(stderr, "cnabsec: error: bundle "+reg.Ref("bundles/hello:1.0")) || !strings.Contains(stderr, "tag not found") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
}

func TestCopyCommandWithUsageErrorsExitsTwo(t *testing.T) {
	for _, args := range [][]string{
		{"copy", "only-one-ref"},
		{"copy", "Bad/Ref:1", "127.0.0.1:1/x:1"},
	} {
		code, _, stderr := runCLI(t, args...)
		if code != 2 || !strings.Contains(stderr, "cnabsec: error:") {
			t.Errorf("%v: exit %d, stderr %q", args, code, stderr)
		}
	}
}

func TestCopyCommandHelpHasExample(t *testing.T) {
	code, stdout, _ := runCLI(t, "copy", "--help")
	if code != 0 || !strings.Contains(stdout, "cnabsec copy registry.example.com/org/app:1.0") {
		t.Fatalf("exit %d, help %s", code, stdout)
	}
}
