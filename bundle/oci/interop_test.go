//go:build interop

package oci

// Interop with real tools (make interop, CI=true): Debian's docker-registry
// (Docker Distribution 2.8) as the registry and skopeo as an independent
// reader. With CI=true a missing binary fails the test; elsewhere it skips.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/cnabsec/cnabsec/internal/testing/registrytest"
)

func needBinary(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is required for the interop tests (CI=true): %v", name, err)
		}
		t.Skipf("%s not installed: %v", name, err)
	}
	return p
}

// startDistribution runs docker-registry on a free loopback port with
// temporary storage and returns "127.0.0.1:PORT"; it is stopped when the
// test ends.
func startDistribution(t *testing.T) string {
	t.Helper()
	bin := needBinary(t, "docker-registry")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	dir := t.TempDir()
	cfg := fmt.Sprintf(`version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
http:
  addr: %s
`, filepath.Join(dir, "storage"), addr)
	cfgPath := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	cmd := exec.Command(bin, "serve", cfgPath)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("start docker-registry: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("docker-registry output:\n%s", logs.String())
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return addr
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("docker-registry did not come up on %s: %v\n%s", addr, err, logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

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
	skopeo := needBinary(t, "skopeo")
	host := startDistribution(t)
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
