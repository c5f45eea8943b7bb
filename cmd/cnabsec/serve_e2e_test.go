package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	admissionv1 "k8s.io/api/admission/v1"

	"github.com/cnabsec/cnabsec/bundle/oci"
	"github.com/cnabsec/cnabsec/internal/atomicfile"
	"github.com/cnabsec/cnabsec/internal/testing/registrytest"
	"github.com/cnabsec/cnabsec/internal/testing/scenario"
	"github.com/cnabsec/cnabsec/server"
	"github.com/cnabsec/cnabsec/signer"
	"github.com/cnabsec/cnabsec/verifier"
)

// The service and the gateway use the real verifier.
var _ server.Verifier = (*verifier.Verifier)(nil)

// e2eRelease is a signed level-2 release on an in-memory registry, plus a
// second bundle version (app:2.0) whose tag was then moved to other content,
// and an image nobody signed.
type e2eRelease struct {
	*scenario.Scenario
	reg         *registrytest.Registry
	rootFile    string
	tamperedRef string
	unsignedRef string
}

func buildE2E(t *testing.T) *e2eRelease {
	t.Helper()
	ctx := context.Background()
	reg := registrytest.New(t)
	s, err := scenario.Build(ctx, scenario.Options{Dir: t.TempDir(), Registry: reg.Host})
	if err != nil {
		t.Fatalf("scenario: %v", err)
	}
	e := &e2eRelease{Scenario: s, reg: reg, tamperedRef: s.App + ":2.0"}
	e.rootFile = filepath.Join(t.TempDir(), "root.json")
	if err := atomicfile.WriteFile(e.rootFile, s.TrustedRoot, 0o600); err != nil {
		t.Fatal(err)
	}
	// Sign app:2.0, then move its tag to content that was never signed.
	v2, err := scenario.BundleJSON("app", "2.0", s.InstallerRef, s.InstallerDigest, s.WebRef, s.WebDigest)
	if err != nil {
		t.Fatal(err)
	}
	v2File := filepath.Join(s.WorkDir, "bundle-2.0.json")
	if err := atomicfile.WriteFile(v2File, v2, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := signer.Sign(ctx, s.Repo, s.Signing("releases"), signer.Item{Kind: "bundle", Ref: e.tamperedRef, File: v2File, Push: true}); err != nil {
		t.Fatalf("signing %s: %v", e.tamperedRef, err)
	}
	evil, err := scenario.BundleJSON("app", "2.0-evil", s.InstallerRef, s.InstallerDigest, s.WebRef, s.WebDigest)
	if err != nil {
		t.Fatal(err)
	}
	tref, err := name.ParseReference(e.tamperedRef)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := oci.PushBundle(ctx, evil, tref, oci.Options{}); err != nil {
		t.Fatal(err)
	}
	e.unsignedRef = reg.PushImage(t, "org/unsigned:1.0", 77).Ref
	return e
}

// startReal runs `cnabsec args...` with the verifier its flags build (no test
// double) until the test ends, and returns the address it listens on.
func startReal(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan net.Addr, 1)
	oldS, oldR := stopContext, listenReady
	stopContext = func(context.Context) (context.Context, context.CancelFunc) { return ctx, cancel }
	listenReady = func(a net.Addr) { addrc <- a }
	var stderr bytes.Buffer
	done := make(chan int, 1)
	go func() {
		var out bytes.Buffer
		done <- run(append([]string{"cnabsec"}, args...), strings.NewReader(""), &out, &stderr)
	}()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("%v exited with %d: %s", args, code, stderr.String())
		}
		stopContext, listenReady = oldS, oldR
	})
	select {
	case a := <-addrc:
		return a.String()
	case code := <-done:
		done <- code
		t.Fatalf("exited with %d before listening: %s", code, stderr.String())
	}
	return ""
}

func waitReady(t *testing.T, base string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never became ready", base)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func postVerify(t *testing.T, base, ref string) (int, verifier.Report) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"reference": ref, "level": "2"})
	resp, err := http.Post(base+"/v1/verify", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var rep verifier.Report
	if err := json.NewDecoder(resp.Body).Decode(&rep); err != nil {
		t.Fatalf("/v1/verify %s: HTTP %d, body not a report: %v", ref, resp.StatusCode, err)
	}
	return resp.StatusCode, rep
}

func podReview(uid, image string) []byte {
	pod := map[string]any{
		"apiVersion": "v1", "kind": "Pod",
		"metadata": map[string]any{"name": "web", "namespace": "default"},
		"spec":     map[string]any{"containers": []any{map[string]any{"name": "web", "image": image}}},
	}
	raw, _ := json.Marshal(pod)
	review := map[string]any{
		"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
		"request": map[string]any{
			"uid": uid, "operation": "CREATE", "namespace": "default", "name": "web",
			"kind":     map[string]any{"group": "", "version": "v1", "kind": "Pod"},
			"resource": map[string]any{"group": "", "version": "v1", "resource": "pods"},
			"object":   json.RawMessage(raw),
		},
	}
	b, _ := json.Marshal(review)
	return b
}

func postAdmission(t *testing.T, base, uid, image string) *admissionv1.AdmissionResponse {
	t.Helper()
	resp, err := http.Post(base+"/v1/admission", "application/json", bytes.NewReader(podReview(uid, image)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out admissionv1.AdmissionReview
	if resp.StatusCode != http.StatusOK || json.Unmarshal(b, &out) != nil || out.Response == nil || string(out.Response.UID) != uid {
		t.Fatalf("admission of %s: HTTP %d %s", image, resp.StatusCode, b)
	}
	return out.Response
}

func TestServeVerifiesSignedReleaseAndDeniesTamperedBundleAndUnsignedImage(t *testing.T) {
	e := buildE2E(t)
	addr := startReal(t, "serve", "--addr", "127.0.0.1:0", "--trust-root", e.rootFile, "--metadata", e.RepoDir, "--level", "2")
	base := "http://" + addr
	waitReady(t, base)

	code, rep := postVerify(t, base, e.BundleRef)
	if code != http.StatusOK || !rep.Verified || rep.AchievedLevel != verifier.Level2 || rep.Error != "" {
		t.Fatalf("signed bundle %s: HTTP %d %+v", e.BundleRef, code, rep)
	}

	// Tag moved after signing: denied with the reason, HTTP 200.
	code, rep = postVerify(t, base, e.tamperedRef)
	if code != http.StatusOK || rep.Verified {
		t.Fatalf("tampered bundle %s: HTTP %d verified=%v", e.tamperedRef, code, rep.Verified)
	}
	f := rep.FirstFailure()
	if f == nil || f.Name != "bundle-digest" || !strings.Contains(f.Detail, "does not match signed target") || !strings.Contains(rep.Error, "bundle-digest") {
		t.Fatalf("tampered bundle: first failure %+v, error %q", f, rep.Error)
	}

	// Admission: the signed web image is allowed at level 2 ...
	resp := postAdmission(t, base, "uid-signed", e.WebRef)
	if !resp.Allowed {
		t.Fatalf("pod with signed image %s denied: %+v", e.WebRef, resp.Result)
	}
	// ... and an image nobody signed is denied, saying why.
	resp = postAdmission(t, base, "uid-unsigned", e.unsignedRef)
	if resp.Allowed || resp.Result == nil {
		t.Fatalf("pod with unsigned image %s allowed: %+v", e.unsignedRef, resp)
	}
	if msg := resp.Result.Message; !strings.Contains(msg, e.unsignedRef) || !strings.Contains(msg, "no trusted TUF role signs image") {
		t.Fatalf("denial message %q does not name the image and the reason", msg)
	}
}

// The real verifier behind the service: a tag moved to other content after
// it was admitted (its verdict cached) is denied on the next review.
func TestServeDeniesAnImageWhoseTagMovedAfterItWasAdmitted(t *testing.T) {
	e := buildE2E(t)
	addr := startReal(t, "serve", "--addr", "127.0.0.1:0", "--trust-root", e.rootFile, "--metadata", e.RepoDir, "--level", "2")
	base := "http://" + addr
	waitReady(t, base)
	if resp := postAdmission(t, base, "uid-1", e.WebRef); !resp.Allowed {
		t.Fatalf("signed image %s denied: %+v", e.WebRef, resp.Result)
	}
	moved := e.reg.PushImage(t, "org/web:1.0", 99)
	resp := postAdmission(t, base, "uid-2", e.WebRef)
	if resp.Allowed || resp.Result == nil || !strings.Contains(resp.Result.Message, moved.Digest) || !strings.Contains(resp.Result.Message, "does not match signed target") {
		t.Fatalf("moved tag %s (now %s) admitted or denied without the reason: %+v", e.WebRef, moved.Digest, resp)
	}
}

func TestGatewayServesSignedImageAndRefusesUnsignedWithDenied(t *testing.T) {
	e := buildE2E(t)
	addr := startReal(t, "gateway", "--addr", "127.0.0.1:0", "--upstream", "http://"+e.reg.Host,
		"--trust-root", e.rootFile, "--metadata", e.RepoDir, "--level", "2")
	waitReady(t, "http://"+addr)

	signed, err := name.ParseReference(addr + "/org/web:1.0")
	if err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Get(signed)
	if err != nil {
		t.Fatalf("pulling the signed image through the gateway: %v", err)
	}
	if desc.Digest.String() != e.WebDigest {
		t.Fatalf("gateway served %s, signed digest is %s", desc.Digest, e.WebDigest)
	}
	img, err := desc.Image()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := img.Layers(); err != nil {
		t.Fatal(err)
	}

	unsigned, err := name.ParseReference(addr + "/org/unsigned:1.0")
	if err != nil {
		t.Fatal(err)
	}
	_, err = remote.Get(unsigned)
	var terr *transport.Error
	if !errors.As(err, &terr) || terr.StatusCode != http.StatusForbidden {
		t.Fatalf("unsigned image through the gateway: %v, want HTTP 403", err)
	}
	if len(terr.Errors) == 0 || terr.Errors[0].Code != transport.DeniedErrorCode || !strings.Contains(terr.Errors[0].Message, "no signed target of that name") {
		t.Fatalf("unsigned image: registry errors %+v, want DENIED with a reason", terr.Errors)
	}
	t.Logf("gateway denial: %s", terr.Errors[0].Message)
}
