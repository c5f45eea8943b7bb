package server

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"

	"github.com/cnabsec/cnabsec/verifier"
)

// signedAt makes ref's signed content the digest d (a TUF image target the
// digest index lists, and the verdict the fake verifier gives content read
// by d) and the registry serve d for ref.
func signedAt(f *fakeVerifier, ref, d string) {
	f.set(ref, entry{achieved: verifier.Level2, digest: d})
	f.mu.Lock()
	f.targets = append(f.targets, verifier.TargetRef{Name: ref, SHA256: strings.TrimPrefix(d, "sha256:"), Kind: "image"})
	f.mu.Unlock()
	f.moveTag(ref, d)
}

// signedTags signs the three tags of the test workloads at their own digests.
func signedTags(f *fakeVerifier) map[string]string {
	digests := map[string]string{webRef: "sha256:" + hex64('1'), nginxRef: "sha256:" + hex64('2'), migrateRef: "sha256:" + hex64('3')}
	for ref, d := range digests {
		signedAt(f, ref, d)
	}
	return digests
}

// repoOf is REGISTRY/REPO of a normalized tag reference.
func repoOf(ref string) string { return ref[:strings.LastIndex(ref, ":")] }

// applyPatch applies a JSON Patch of "replace" operations to the review's
// object and returns the review carrying the patched object (as the API
// server would store it, and a controller copy its template).
func applyPatch(t *testing.T, review []byte, resp *admissionv1.AdmissionResponse) []byte {
	t.Helper()
	if resp.PatchType == nil || *resp.PatchType != admissionv1.PatchTypeJSONPatch {
		t.Fatalf("patchType %v, want JSONPatch", resp.PatchType)
	}
	var ops []patchOp
	if err := json.Unmarshal(resp.Patch, &ops); err != nil {
		t.Fatalf("patch is not a JSON Patch: %v: %s", err, resp.Patch)
	}
	var doc map[string]any
	if err := json.Unmarshal(review, &doc); err != nil {
		t.Fatal(err)
	}
	obj := doc["request"].(map[string]any)["object"]
	for _, op := range ops {
		if op.Op != "replace" {
			t.Fatalf("op %q", op.Op)
		}
		parts := strings.Split(strings.TrimPrefix(op.Path, "/"), "/")
		cur := obj
		for _, p := range parts[:len(parts)-1] {
			switch c := cur.(type) {
			case map[string]any:
				cur = c[p]
			case []any:
				i, err := strconv.Atoi(p)
				if err != nil || i >= len(c) {
					t.Fatalf("path %s: bad index %s", op.Path, p)
				}
				cur = c[i]
			}
		}
		m, ok := cur.(map[string]any)
		last := parts[len(parts)-1]
		if !ok || m[last] == nil {
			t.Fatalf("path %s names no existing field (a replace would fail)", op.Path)
		}
		m[last] = op.Value
	}
	out, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// imagesIn lists the images a review's object names.
func imagesIn(t *testing.T, review []byte) []string {
	t.Helper()
	var r fastReview
	if err := json.Unmarshal(review, &r); err != nil {
		t.Fatal(err)
	}
	spec, prefix, err := specFor(r.Request.Kind, r.Request.Object)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, u := range imagesOf(spec, prefix) {
		out = append(out, u.image)
	}
	return out
}

func TestAdmissionPinsAVerifiedTagToTheVerifiedDigest(t *testing.T) {
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			f := newFake(allSigned())
			digests := signedTags(f)
			s := newTestService(t, f, Options{})
			review := readReview(t, kind)
			resp := admitReview(t, s, review)
			if !resp.Allowed {
				t.Fatalf("signed workload denied: %+v", resp.Result)
			}
			patched := applyPatch(t, review, resp)
			// The registry moves every tag right after the review: what the
			// pod runs is named by the digest the verdict was about.
			for ref := range digests {
				f.moveTag(ref, "sha256:"+hex64('e'))
			}
			want := map[string]bool{}
			for ref, d := range digests {
				want[repoOf(ref)+"@"+d] = true
			}
			if kind == "pod" {
				want[debugRef] = true
			}
			got := imagesIn(t, patched)
			for _, img := range got {
				if !want[img] {
					t.Errorf("after the patch the workload names %q, not a verified digest", img)
				}
			}
			if len(got) != len(imagesIn(t, review)) {
				t.Fatalf("patched workload names %d images, the original %d", len(got), len(imagesIn(t, review)))
			}
			if !strings.Contains(resp.AuditAnnotations[pinnedAnnotation], "registry.example.com/app/web:1.0 -> registry.example.com/app/web@"+digests[webRef]) {
				t.Fatalf("audit annotation %q", resp.AuditAnnotations)
			}
			// The patched object (a controller's pods, a reinvocation) is
			// admitted as it is, from the verdicts already reached.
			calls := f.verifyCalls.Load()
			again := admitReview(t, s, patched)
			if !again.Allowed || again.Patch != nil {
				t.Fatalf("pinned workload: allowed %v, patch %s, %+v", again.Allowed, again.Patch, again.Result)
			}
			if n := f.verifyCalls.Load() - calls; n != 0 {
				t.Fatalf("pinned workload verified %d times again (want the cached verdicts of the tags it was pinned from)", n)
			}
			// The tag itself now names other, unsigned content: denied.
			if moved := admitReview(t, s, review); moved.Allowed {
				t.Fatal("a moved tag was admitted")
			}
		})
	}
}

func TestMutatingAdmissionDeniesAVerifiedTagItCannotPin(t *testing.T) {
	f := newFake(allSigned())
	f.moveTag(webRef, "") // a verifier that reads no registry knows no digest
	s := newTestService(t, f, Options{})
	resp := admitReview(t, s, readReview(t, "deployment"))
	if resp.Allowed || resp.Patch != nil {
		t.Fatalf("a tag that cannot be pinned was admitted (patch %s)", resp.Patch)
	}
	if !strings.Contains(resp.Result.Message, "image registry.example.com/app/web:1.0 (spec.template.spec.containers[0] (\"web\")) at level 2: verified, but no digest is known to pin the tag to") {
		t.Fatalf("reason: %s", resp.Result.Message)
	}
}

func TestValidatingOnlyAdmissionDeniesATagReference(t *testing.T) {
	for _, path := range []string{"/v1/admission", "/v1/admission/validate"} {
		f := newFake(allSigned())
		signedTags(f)
		o := Options{}
		if path == "/v1/admission" {
			o.AdmissionMode = Validate
		}
		s := newTestService(t, f, o)
		resp := postReview(t, s, path, readReview(t, "deployment"))
		if resp.Allowed || resp.Patch != nil || resp.PatchType != nil {
			t.Fatalf("%s: tag reference admitted (or patched: a validating webhook may not patch)", path)
		}
		for _, want := range []string{
			"3 of 3 images failed verification",
			"image registry.example.com/app/web:1.0 (spec.template.spec.containers[0] (\"web\")) at level 2: a tag reference is not admitted by the validating webhook: the kubelet pulls the tag later and may get other content; name the image by digest (registry.example.com/app/web@sha256:...)",
		} {
			if !strings.Contains(resp.Result.Message, want) {
				t.Fatalf("%s: reason %s\nwant %q", path, resp.Result.Message, want)
			}
		}
		if f.verifyCalls.Load() != 0 {
			t.Fatalf("%s: tag references verified in validate mode", path)
		}
	}
}

func TestValidatingOnlyAdmissionAdmitsADigestSignedUnderItsTag(t *testing.T) {
	f := newFake(allSigned())
	digests := signedTags(f)
	s := newTestService(t, f, Options{AdmissionMode: Validate})
	review := string(readReview(t, "deployment"))
	for ref, d := range digests {
		raw := strings.TrimPrefix(ref, "index.docker.io/library/")
		review = strings.Replace(review, `"`+raw+`"`, `"`+repoOf(ref)+"@"+d+`"`, 1)
	}
	resp := admitReview(t, s, []byte(review))
	if !resp.Allowed || resp.Patch != nil {
		t.Fatalf("digest references of signed tags: %+v", resp.Result)
	}
	// The verdict is the tag's, read by the digest.
	if last := f.lastRequested.Load(); last == nil || last.From == "" || !strings.HasPrefix(last.From, repoOf(last.Reference)+"@sha256:") {
		t.Fatalf("verified %+v, want a tag target read by its digest", last)
	}
	// A digest that no signed tag of the repository names is denied.
	evil := strings.Replace(review, digests[webRef], "sha256:"+hex64('e'), 1)
	if resp := admitReview(t, s, []byte(evil)); resp.Allowed || !strings.Contains(resp.Result.Message, "registry.example.com/app/web@sha256:"+hex64('e')+": no TUF target of that name") {
		t.Fatalf("an unsigned digest: %+v", resp.Result)
	}
}

func TestAdmissionModeIsMutateOrValidate(t *testing.T) {
	for in, want := range map[string]AdmissionMode{"": Mutate, "mutate": Mutate, "validate": Validate} {
		if got, err := ParseAdmissionMode(in); err != nil || got != want {
			t.Errorf("%q: %v %v", in, got, err)
		}
	}
	if _, err := New(Options{Verifier: newFake(nil), AdmissionMode: "audit"}); err == nil || !strings.Contains(err.Error(), `admission mode "audit": want mutate or validate`) {
		t.Fatalf("bad mode: %v", err)
	}
	// The mutate path pins whatever /v1/admission does.
	f := newFake(allSigned())
	signedTags(f)
	s := newTestService(t, f, Options{AdmissionMode: Validate})
	if resp := postReview(t, s, "/v1/admission/mutate", readReview(t, "deployment")); !resp.Allowed || resp.Patch == nil {
		t.Fatalf("/v1/admission/mutate: %+v", resp)
	}
}

// postReview posts a review to path and decodes the response.
func postReview(t *testing.T, s *Service, path string, body []byte) *admissionv1.AdmissionResponse {
	t.Helper()
	rec := post(t, s.Handler(), path, body)
	if rec.Code != http.StatusOK {
		t.Fatalf("%s: HTTP %d: %s", path, rec.Code, rec.Body)
	}
	var out admissionv1.AdmissionReview
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || out.Response == nil {
		t.Fatalf("%s: %v: %s", path, err, rec.Body)
	}
	return out.Response
}
