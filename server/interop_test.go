//go:build interop

package server

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/cnabsec/cnabsec/internal/testing/peers"
	"github.com/cnabsec/cnabsec/internal/testing/scenario"
	"github.com/cnabsec/cnabsec/verifier"
)

// TestInteropSkopeoPullsThroughTheGatewayFromDebianRegistry runs against the
// test verifier (a table of signed targets) until the real verifier
// implements the service interface; the gateway, the registry and the client
// are real.
func TestInteropSkopeoPullsThroughTheGatewayFromDebianRegistry(t *testing.T) {
	skopeo := peers.NeedTool(t, "skopeo")
	reg := peers.StartDistribution(t)

	push := func(ref string, img v1.Image) v1.Hash {
		r, err := name.ParseReference(reg + "/" + ref)
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(r, img); err != nil {
			t.Fatal(err)
		}
		d, _ := img.Digest()
		return d
	}
	signedImg := randomImage(t)
	signed := push("team/app:1.0", signedImg)
	push("team/unsigned:1.0", randomImage(t))
	retagged := push("team/moved:1.0", randomImage(t))
	push("team/app:copy", signedImg)

	f := newFake(map[string]entry{
		reg + "/team/app:1.0":   {achieved: verifier.Level2},
		reg + "/team/moved:1.0": {achieved: verifier.Level2},
	})
	f.targets = []verifier.TargetRef{
		{Name: reg + "/team/app:1.0", SHA256: signed.Hex, Kind: "image"},
		// Signed for other content than the tag now names upstream.
		{Name: reg + "/team/moved:1.0", SHA256: hex64('c'), Kind: "image"},
	}
	g, err := NewGateway(GatewayOptions{Verifier: f, Upstream: "http://" + reg})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	gw := httptest.NewServer(g.Handler())
	defer gw.Close()
	gwHost := strings.TrimPrefix(gw.URL, "http://")

	copyOut := func(ref string) (string, error) {
		dst := filepath.Join(t.TempDir(), "out")
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, skopeo, "copy", "--src-tls-verify=false", "docker://"+gwHost+"/"+ref, "dir:"+dst)
		out, err := cmd.CombinedOutput()
		if err == nil {
			manifest, rerr := os.ReadFile(filepath.Join(dst, "manifest.json"))
			if rerr != nil {
				return string(out), rerr
			}
			return string(manifest), nil
		}
		return string(out), err
	}

	manifest, err := copyOut("team/app:1.0")
	if err != nil {
		t.Fatalf("skopeo refused the verified image: %v\n%s", err, manifest)
	}
	if d, _, _ := v1.SHA256(strings.NewReader(manifest)); d != signed {
		t.Fatalf("skopeo got manifest %s, signed %s", d, signed)
	}
	for ref, want := range map[string]string{
		"team/unsigned:1.0": "no signed target of that name",
		"team/app:copy":     "no signed target of that name",
		"team/moved:1.0":    "the tag points upstream to " + retagged.String(),
	} {
		out, err := copyOut(ref)
		if err == nil {
			t.Errorf("skopeo pulled %s through the gateway", ref)
			continue
		}
		if !strings.Contains(strings.ToLower(out), "denied") || !strings.Contains(out, want) {
			t.Errorf("%s: skopeo said %q; want a denial with %q", ref, out, want)
		}
	}
}

// TestInteropSkopeoPullsThroughTheGatewayWithTheRealVerifier signs a level-2
// release (TUF repository, images in Debian's registry) and lets skopeo pull
// through a gateway that runs the real verifier.
func TestInteropSkopeoPullsThroughTheGatewayWithTheRealVerifier(t *testing.T) {
	skopeo := peers.NeedTool(t, "skopeo")
	reg, s, v := signedReleaseInDebianRegistry(t)
	ctx := context.Background()
	g, err := NewGateway(GatewayOptions{Verifier: v, Upstream: "http://" + reg})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Refresh(ctx); err != nil {
		t.Fatalf("refresh: %v", err)
	}
	gw := httptest.NewServer(g.Handler())
	defer gw.Close()
	gwHost := strings.TrimPrefix(gw.URL, "http://")
	repoTag := strings.TrimPrefix(s.WebRef, reg+"/") // org/web:1.0

	skopeoCopy := func(ref string) (string, error) {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		defer cancel()
		out, err := exec.CommandContext(cctx, skopeo, "copy", "--src-tls-verify=false", "docker://"+gwHost+"/"+ref, "dir:"+filepath.Join(t.TempDir(), "out")).CombinedOutput()
		return string(out), err
	}
	if out, err := skopeoCopy(repoTag); err != nil {
		t.Fatalf("skopeo refused the signed image %s: %v\n%s", s.WebRef, err, out)
	}
	// An unsigned image, and the signed tag moved to other content.
	pushRandom := func(ref string) {
		r, err := name.ParseReference(reg + "/" + ref)
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(r, randomImage(t)); err != nil {
			t.Fatal(err)
		}
	}
	pushRandom("org/unsigned:1.0")
	pushRandom(repoTag)
	for ref, want := range map[string]string{
		"org/unsigned:1.0": "no signed target of that name",
		repoTag:            "(re-tagged or moved tag)",
	} {
		out, err := skopeoCopy(ref)
		if err == nil {
			t.Errorf("skopeo pulled %s through the gateway", ref)
			continue
		}
		if !strings.Contains(strings.ToLower(out), "denied") || !strings.Contains(out, want) {
			t.Errorf("%s: skopeo said %q; want a denial with %q", ref, out, want)
		}
	}
}

// TestInteropAdmissionDeniesATagMovedInDebianRegistryAfterItWasAdmitted runs
// the webhook on the real verifier against Debian's registry: a Pod naming a
// signed tag is admitted; once the tag is pushed over with other content the
// next review of the same Pod is denied, although a verdict for the tag was
// cached.
func TestInteropAdmissionDeniesATagMovedInDebianRegistryAfterItWasAdmitted(t *testing.T) {
	_, s, v := signedReleaseInDebianRegistry(t)
	ctx := context.Background()
	svc, err := New(Options{Verifier: v, Level: verifier.Level2})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Refresh(ctx); err != nil {
		t.Fatalf("refresh: %v", err)
	}
	review := readReview(t, "pod")
	pod := func() []byte {
		// Only the signed image: the other containers of the test Pod name
		// registries that do not exist here.
		var r map[string]any
		if err := json.Unmarshal(review, &r); err != nil {
			t.Fatal(err)
		}
		spec := r["request"].(map[string]any)["object"].(map[string]any)["spec"].(map[string]any)
		spec["containers"] = []any{map[string]any{"name": "web", "image": s.WebRef}}
		delete(spec, "initContainers")
		delete(spec, "ephemeralContainers")
		b, _ := json.Marshal(r)
		return b
	}()
	if resp := admitReview(t, svc, pod); !resp.Allowed {
		t.Fatalf("signed image %s denied: %+v", s.WebRef, resp.Result)
	}
	r, err := name.ParseReference(s.WebRef)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, randomImage(t)); err != nil {
		t.Fatal(err)
	}
	resp := admitReview(t, svc, pod)
	if resp.Allowed || !strings.Contains(resp.Result.Message, "does not match signed target") {
		t.Fatalf("moved tag %s admitted or denied without the reason: %+v", s.WebRef, resp.Result)
	}
}

// signedReleaseInDebianRegistry signs a level-2 release whose images are in
// a Debian docker-registry started for the test, and returns the registry's
// host, the release and a real verifier trusting it (closed with the test).
func signedReleaseInDebianRegistry(t *testing.T) (string, *scenario.Scenario, *verifier.Verifier) {
	t.Helper()
	reg := peers.StartDistribution(t)
	s, err := scenario.Build(context.Background(), scenario.Options{Dir: t.TempDir(), Registry: reg})
	if err != nil {
		t.Fatalf("building the signed release: %v", err)
	}
	v, err := verifier.New(verifier.Config{TrustedRoot: s.TrustedRoot, Location: s.RepoDir, Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	return reg, s, v
}
