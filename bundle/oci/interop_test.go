//go:build interop

package oci

// Interop with real tools (make interop, CI=true): Debian's docker-registry
// (Docker Distribution 2.8) as the registry and skopeo as an independent
// reader. With CI=true a missing binary fails the test; elsewhere it skips.

import (
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/cnabsec/cnabsec/internal/testing/peers"
	"github.com/cnabsec/cnabsec/internal/testing/registrytest"
)

// skopeoRaw returns the manifest skopeo reads for ref.
func skopeoRaw(t *testing.T, skopeo, ref string) []byte {
	t.Helper()
	out, err := exec.Command(skopeo, "inspect", "--tls-verify=false", "--raw", "docker://"+ref).Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("skopeo inspect --raw %s: %v\n%s", ref, err, stderr)
	}
	return out
}

func TestInteropDistributionPushPullCopyVerifiedBySkopeo(t *testing.T) {
	skopeo := peers.NeedTool(t, "skopeo")
	host := peers.StartDistribution(t)
	reg := &registrytest.Registry{Host: host}
	ctx := context.Background()

	img := reg.PushImage(t, "src/invoc:1.0", 42)
	web := reg.PushIndex(t, "src/web:1.0", 43, 2) // a multi-platform component
	raw := testBundle(t, img, map[string]registrytest.Image{"web": web})
	ref := mustRef(t, reg.Ref("bundles/hello:0.1.1"))
	idx, err := PushBundle(ctx, raw, ref, Options{})
	if err != nil {
		t.Fatalf("PushBundle to docker-registry: %v", err)
	}
	got, pulled, err := PullBundle(ctx, ref, Options{})
	if err != nil {
		t.Fatalf("PullBundle: %v", err)
	}
	if !bytes.Equal(got, raw) || pulled.Digest != idx.Digest {
		t.Fatalf("pulled bundle differs (index %s vs pushed %s)", pulled.Digest, idx.Digest)
	}

	dst := mustRef(t, reg.Ref("relocated/hello:0.1.1"))
	mapping, err := Copy(ctx, ref, dst, Options{})
	if err != nil {
		t.Fatalf("Copy: %v", err)
	}
	want := reg.Ref("relocated/hello@" + img.Digest)
	if len(mapping) != 2 || mapping[img.Ref] != want || mapping[web.Ref] != reg.Ref("relocated/hello@"+web.Digest) {
		t.Fatalf("mapping %v, want %s → %s and the web component", mapping, img.Ref, want)
	}

	// skopeo, an independent client, reads the same digests in the copy.
	checks := map[string]string{
		reg.Ref("relocated/hello:0.1.1"):         idx.Digest,
		reg.Ref("relocated/hello@" + idx.Digest): idx.Digest,
		reg.Ref("relocated/hello@" + img.Digest): img.Digest,
		reg.Ref("bundles/hello@" + img.Digest):   img.Digest,
	}
	var ix ociIndex
	if err := json.Unmarshal(idx.RawManifest, &ix); err != nil {
		t.Fatal(err)
	}
	for _, m := range ix.Manifests {
		checks[reg.Ref("relocated/hello@"+m.Digest)] = m.Digest
	}
	for r, d := range checks {
		if got := sha256Digest(skopeoRaw(t, skopeo, r)); got != d {
			t.Errorf("skopeo reads %s with digest %s, want %s", r, got, d)
		}
	}
	// The image as skopeo describes it (not raw) carries the same digest.
	out, err := exec.Command(skopeo, "inspect", "--tls-verify=false", "docker://"+want).Output()
	if err != nil {
		t.Fatalf("skopeo inspect %s: %v", want, err)
	}
	var info struct{ Digest string }
	if err := json.Unmarshal(out, &info); err != nil || info.Digest != img.Digest {
		t.Fatalf("skopeo inspect %s: digest %q (%v)", want, info.Digest, err)
	}

	// The copy pulls back to the same bundle.json, and as a thick bundle.
	again, _, err := PullBundle(ctx, dst, Options{})
	if err != nil || !bytes.Equal(again, raw) {
		t.Fatalf("pull of the copy: %v", err)
	}
	var thick bytes.Buffer
	if err := PullThick(ctx, dst, &thick, Options{}); err != nil {
		t.Fatalf("PullThick from docker-registry: %v", err)
	}
	// Import the thick bundle's layout into a third repository.
	dir := unpack(t, thick.Bytes())
	imp := mustRef(t, reg.Ref("imported/hello:0.1.1"))
	impIdx, impMap, err := PushLayout(ctx, raw, filepath.Join(dir, "artifacts", "layout"), imp, Options{})
	if err != nil {
		t.Fatalf("PushLayout to docker-registry: %v", err)
	}
	if impIdx.Digest != idx.Digest || impMap[web.Ref] != reg.Ref("imported/hello@"+web.Digest) {
		t.Fatalf("import: index %s (want %s), mapping %v", impIdx.Digest, idx.Digest, impMap)
	}
	for _, d := range []string{idx.Digest, img.Digest, web.Digest} {
		if got := sha256Digest(skopeoRaw(t, skopeo, reg.Ref("imported/hello@"+d))); got != d {
			t.Errorf("skopeo reads imported %s as %s", d, got)
		}
	}
}
