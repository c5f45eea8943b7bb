package server

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"

	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/verifier"
)

// The images of testdata/admission/*.json, normalized.
const (
	webRef     = "registry.example.com/app/web:1.0"
	nginxRef   = "index.docker.io/library/nginx:1.25"
	migrateRef = "registry.example.com/app/migrate:2.1"
	debugRef   = "registry.example.com/tools/debug@sha256:dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
)

var kinds = []string{"pod", "deployment", "replicaset", "statefulset", "daemonset", "job", "cronjob"}

// allSigned is a table where every test image is signed (level 2).
func allSigned() map[string]entry {
	return map[string]entry{
		webRef:     {achieved: verifier.Level2},
		nginxRef:   {achieved: verifier.Level2},
		migrateRef: {achieved: verifier.Level2},
		debugRef:   {achieved: verifier.Level4},
	}
}

func newTestService(t *testing.T, f *fakeVerifier, o Options) *Service {
	t.Helper()
	o.Verifier = f
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Refresh(context.Background()); err != nil {
		t.Fatalf("first refresh: %v", err)
	}
	return s
}

func mustPolicy(t *testing.T, yamlText string, fallback verifier.Level) *Policy {
	t.Helper()
	cfg, err := ParseConfig([]byte(yamlText))
	if err != nil {
		t.Fatal(err)
	}
	p, err := cfg.Policy(fallback)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func readReview(t *testing.T, kind string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "admission", kind+".json"))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func post(t *testing.T, h http.Handler, path string, body []byte) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// admitReview posts a review and decodes the answer, which must be HTTP 200
// with the request's uid.
func admitReview(t *testing.T, s *Service, body []byte) *admissionv1.AdmissionResponse {
	t.Helper()
	rec := post(t, s.Handler(), "/v1/admission", body)
	if rec.Code != http.StatusOK {
		t.Fatalf("HTTP %d: %s", rec.Code, rec.Body)
	}
	var in, out admissionv1.AdmissionReview
	if err := json.Unmarshal(body, &in); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatalf("response is not an AdmissionReview: %v: %s", err, rec.Body)
	}
	if out.APIVersion != "admission.k8s.io/v1" || out.Kind != "AdmissionReview" || out.Response == nil {
		t.Fatalf("response is not an admission.k8s.io/v1 AdmissionReview with a response: %s", rec.Body)
	}
	if out.Response.UID != in.Request.UID {
		t.Fatalf("response uid %q, request uid %q", out.Response.UID, in.Request.UID)
	}
	return out.Response
}

func TestAdmissionChecksEveryContainerInitAndEphemeralImageOfEachKind(t *testing.T) {
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			f := newFake(allSigned())
			s := newTestService(t, f, Options{})
			resp := admitReview(t, s, readReview(t, kind))
			if !resp.Allowed {
				t.Fatalf("signed workload denied: %+v", resp.Result)
			}
			want := []string{webRef, nginxRef, migrateRef}
			if kind == "pod" {
				want = append(want, debugRef)
			}
			for _, ref := range want {
				if f.calls(ref) != 1 {
					t.Errorf("%s verified %d times, want 1", ref, f.calls(ref))
				}
			}
			if got := f.verifyCalls.Load(); got != int64(len(want)) {
				t.Errorf("%d verifications, want %d", got, len(want))
			}
			if r := f.lastRequested.Load(); !r.Image || r.Level != verifier.Level2 {
				t.Errorf("image checked as %+v, want an image request at level 2", *r)
			}
		})
	}
}

func TestAdmissionDeniesUnsignedInitContainerImageOfEachKindWithReason(t *testing.T) {
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			table := allSigned()
			delete(table, migrateRef)
			s := newTestService(t, newFake(table), Options{})
			resp := admitReview(t, s, readReview(t, kind))
			if resp.Allowed {
				t.Fatal("workload with an unsigned init container image admitted")
			}
			if resp.Result == nil || resp.Result.Code != http.StatusForbidden {
				t.Fatalf("want status code 403, got %+v", resp.Result)
			}
			msg := resp.Result.Message
			for _, want := range []string{"registry.example.com/app/migrate:2.1", `initContainers[0] ("migrate")`, "no TUF target of that name", "1 of 3 images"} {
				if kind == "pod" && want == "1 of 3 images" {
					want = "1 of 4 images"
				}
				if !strings.Contains(msg, want) {
					t.Errorf("message lacks %q: %s", want, msg)
				}
			}
		})
	}
}

func TestAdmissionListsEveryDeniedImage(t *testing.T) {
	table := allSigned()
	delete(table, webRef)
	table[nginxRef] = entry{kind: fault.Denied, reason: "manifest digest sha256:1111 differs from the signed target sha256:2222 (tag moved)"}
	s := newTestService(t, newFake(table), Options{})
	resp := admitReview(t, s, readReview(t, "deployment"))
	if resp.Allowed {
		t.Fatal("admitted")
	}
	msg := resp.Result.Message
	for _, want := range []string{"2 of 3 images", webRef + ": no TUF target", "nginx:1.25", "tag moved", `containers[1] ("proxy")`} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q: %s", want, msg)
		}
	}
}

func TestAdmissionWarnModeAdmitsDeniedImagesWithWarnings(t *testing.T) {
	table := allSigned()
	delete(table, webRef)
	s := newTestService(t, newFake(table), Options{Mode: Warn})
	resp := admitReview(t, s, readReview(t, "statefulset"))
	if !resp.Allowed {
		t.Fatalf("warn mode denied: %+v", resp.Result)
	}
	if len(resp.Warnings) != 1 || !strings.Contains(resp.Warnings[0], "warn mode, not enforced") || !strings.Contains(resp.Warnings[0], webRef+": no TUF target") {
		t.Fatalf("warnings = %q", resp.Warnings)
	}
}

func TestAdmissionExemptNamespaceIsNotChecked(t *testing.T) {
	f := newFake(map[string]entry{})
	s := newTestService(t, f, Options{Policy: mustPolicy(t, "exemptNamespaces: [prod]\n", verifier.Level2)})
	resp := admitReview(t, s, readReview(t, "pod"))
	if !resp.Allowed || f.verifyCalls.Load() != 0 {
		t.Fatalf("allowed=%v after %d verifications; want allowed with none", resp.Allowed, f.verifyCalls.Load())
	}
	if resp.AuditAnnotations["exempt"] != "namespace prod" {
		t.Fatalf("audit annotations %v", resp.AuditAnnotations)
	}
	// Another namespace is checked.
	body := bytes.ReplaceAll(readReview(t, "pod"), []byte(`"namespace": "prod"`), []byte(`"namespace": "default"`))
	if resp := admitReview(t, s, body); resp.Allowed {
		t.Fatal("unsigned images admitted outside the exempt namespace")
	}
}

func TestAdmissionExemptImageGlobSkipsOnlyMatchingImages(t *testing.T) {
	table := allSigned()
	delete(table, nginxRef)
	delete(table, webRef)
	f := newFake(table)
	s := newTestService(t, f, Options{Policy: mustPolicy(t, "exemptImages: ['index.docker.io/library/*']\n", verifier.Level2)})
	resp := admitReview(t, s, readReview(t, "daemonset"))
	if resp.Allowed {
		t.Fatal("unsigned web image admitted")
	}
	if strings.Contains(resp.Result.Message, "nginx") || !strings.Contains(resp.Result.Message, webRef) {
		t.Fatalf("want only the web image denied: %s", resp.Result.Message)
	}
	if f.calls(nginxRef) != 0 {
		t.Fatal("exempt image was verified")
	}
}

func TestAdmissionPolicyRequiringProvenanceDeniesSignatureOnlyImage(t *testing.T) {
	f := newFake(allSigned())
	s := newTestService(t, f, Options{Policy: mustPolicy(t, "policies:\n  - image: 'registry.example.com/app/**'\n    level: '4'\n", verifier.Level2)})
	resp := admitReview(t, s, readReview(t, "job"))
	if resp.Allowed {
		t.Fatal("signature-only images admitted under a provenance policy")
	}
	for _, want := range []string{webRef + ": achieved level 2 does not meet the required level 4", migrateRef + ": achieved level 2", "at level 4"} {
		if !strings.Contains(resp.Result.Message, want) {
			t.Errorf("message lacks %q: %s", want, resp.Result.Message)
		}
	}
	if strings.Contains(resp.Result.Message, "nginx") {
		t.Errorf("nginx (default level 2, signed) reported: %s", resp.Result.Message)
	}
}

func TestAdmissionInconclusiveVerificationDeniesFailClosed(t *testing.T) {
	table := allSigned()
	table[webRef] = entry{kind: fault.Inconclusive, reason: "registry registry.example.com: dial tcp: connection refused"}
	s := newTestService(t, newFake(table), Options{})
	resp := admitReview(t, s, readReview(t, "replicaset"))
	if resp.Allowed {
		t.Fatal("inconclusive verification admitted without failOpen")
	}
	if !strings.Contains(resp.Result.Message, "inconclusive: "+webRef+": registry registry.example.com: dial tcp: connection refused") {
		t.Fatalf("message: %s", resp.Result.Message)
	}
}

func TestAdmissionFailOpenAdmitsInconclusiveWithUnsafeWarningButStillDeniesEvidence(t *testing.T) {
	table := allSigned()
	table[webRef] = entry{kind: fault.Inconclusive, reason: "registry unreachable"}
	f := newFake(table)
	s := newTestService(t, f, Options{Policy: mustPolicy(t, "failOpen: true\n", verifier.Level2)})
	resp := admitReview(t, s, readReview(t, "cronjob"))
	if !resp.Allowed || len(resp.Warnings) != 1 || !strings.Contains(resp.Warnings[0], "UNSAFE failOpen") {
		t.Fatalf("allowed=%v warnings=%q", resp.Allowed, resp.Warnings)
	}
	// failOpen never admits an image with evidence against it.
	f.set(nginxRef, entry{kind: fault.Denied, reason: "signature by an unknown key"})
	if err := s.Refresh(context.Background()); err != nil { // new snapshot: cached verdicts no longer apply
		t.Fatal(err)
	}
	if resp := admitReview(t, s, readReview(t, "cronjob")); resp.Allowed || !strings.Contains(resp.Result.Message, "signature by an unknown key") {
		t.Fatalf("denied image admitted under failOpen: %+v", resp)
	}
}

func TestAdmissionBeforeFirstRefreshIsInconclusiveDenial(t *testing.T) {
	f := newFake(allSigned())
	f.setRefreshErr(fault.Inconclusivef("fetching timestamp.json: connection refused"))
	s, err := New(Options{Verifier: f})
	if err != nil {
		t.Fatal(err)
	}
	resp := admitReview(t, s, readReview(t, "pod"))
	if resp.Allowed || !strings.Contains(resp.Result.Message, "inconclusive: no trusted TUF metadata yet") {
		t.Fatalf("before any refresh: %+v", resp)
	}
	if f.verifyCalls.Load() != 0 {
		t.Fatal("verified without trusted metadata")
	}
}

func TestAdmissionUnsupportedKindIsDenied(t *testing.T) {
	s := newTestService(t, newFake(allSigned()), Options{})
	body := bytes.Replace(readReview(t, "deployment"), []byte(`"kind": "Deployment"`), []byte(`"kind": "Rollout"`), 1)
	resp := admitReview(t, s, body)
	if resp.Allowed || resp.Result.Code != http.StatusBadRequest || !strings.Contains(resp.Result.Message, "apps/v1/Rollout is not supported") {
		t.Fatalf("unsupported kind: %+v", resp)
	}
}

func TestAdmissionUndecodableObjectIsDenied(t *testing.T) {
	s := newTestService(t, newFake(allSigned()), Options{})
	// A well-formed review whose object has the wrong shape.
	body := bytes.Replace(readReview(t, "pod"), []byte(`"containers": [`), []byte(`"containers": "nope", "x": [`), 1)
	resp := admitReview(t, s, body)
	if resp.Allowed || !strings.Contains(resp.Result.Message, "decoding Pod") {
		t.Fatalf("undecodable pod: %+v", resp)
	}
}

func TestAdmissionInvalidImageReferenceIsDenied(t *testing.T) {
	s := newTestService(t, newFake(allSigned()), Options{})
	body := bytes.Replace(readReview(t, "pod"), []byte(`"image": "nginx:1.25"`), []byte(`"image": "NGINX::bad"`), 1)
	resp := admitReview(t, s, body)
	if resp.Allowed || !strings.Contains(resp.Result.Message, "NGINX::bad") || !strings.Contains(resp.Result.Message, "not a valid image reference") {
		t.Fatalf("invalid reference: %+v", resp)
	}
}

func TestAdmissionDeleteIsAllowedWithoutChecks(t *testing.T) {
	f := newFake(map[string]entry{})
	s := newTestService(t, f, Options{})
	body := bytes.Replace(readReview(t, "pod"), []byte(`"operation": "CREATE"`), []byte(`"operation": "DELETE"`), 1)
	if resp := admitReview(t, s, body); !resp.Allowed || f.verifyCalls.Load() != 0 {
		t.Fatalf("delete: %+v", resp)
	}
}

func TestAdmissionBodyThatIsNotAnAdmissionReviewIsHTTP400(t *testing.T) {
	s := newTestService(t, newFake(allSigned()), Options{})
	cases := map[string]struct {
		body string
		want string
	}{
		"not JSON":               {"<xml/>", "not an AdmissionReview: jsontext: invalid character '<' at start of value"},
		"empty":                  {"", "not an AdmissionReview: jsontext: unexpected EOF"},
		"a Pod, not a review":    {`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"x"}}`, `not an admission.k8s.io/v1 AdmissionReview (apiVersion "v1", kind "Pod")`},
		"v1beta1 review":         {`{"apiVersion":"admission.k8s.io/v1beta1","kind":"AdmissionReview","request":{"uid":"1"}}`, "not an admission.k8s.io/v1 AdmissionReview"},
		"review without request": {`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}`, "AdmissionReview without a request"},
		"request without uid":    {`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"operation":"CREATE"}}`, "request without a uid"},
		"trailing garbage":       {`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"1"}} {}`, "after top-level value"},
		"wrong field types":      {`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":7}}`, `unmarshal JSON number into Go types.UID within "/request/uid"`},
		"duplicate uid":          {`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"1","uid":"2"}}`, `duplicate object member name "uid"`},
		"invalid UTF-8":          {"{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{\"uid\":\"\xff\"}}", "invalid UTF-8"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			rec := post(t, s.Handler(), "/v1/admission", []byte(c.body))
			var e struct{ Error string }
			json.Unmarshal(rec.Body.Bytes(), &e)
			if rec.Code != http.StatusBadRequest || !strings.Contains(e.Error, c.want) {
				t.Fatalf("HTTP %d %s; want 400 with %q", rec.Code, rec.Body, c.want)
			}
		})
	}
}

func TestAdmissionOversizedBodyIsRefusedUnread(t *testing.T) {
	f := newFake(allSigned())
	s := newTestService(t, f, Options{})
	body := readReview(t, "pod")
	pad := strings.Repeat("x", MaxAdmissionBody)
	body = bytes.Replace(body, []byte(`"name": "shop"`), []byte(`"name": "`+pad+`"`), 1)
	rec := post(t, s.Handler(), "/v1/admission", body)
	if rec.Code != http.StatusRequestEntityTooLarge || !strings.Contains(rec.Body.String(), "larger than 1048576 bytes") {
		t.Fatalf("HTTP %d %s", rec.Code, rec.Body)
	}
	if f.verifyCalls.Load() != 0 {
		t.Fatal("oversized review verified")
	}
}

func TestAdmissionWrongMethodIsRefused(t *testing.T) {
	s := newTestService(t, newFake(allSigned()), Options{})
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v1/admission", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Fatalf("GET /v1/admission: HTTP %d", rec.Code)
	}
}

func TestAdmissionDeniesAnUnsignedEphemeralDebugContainer(t *testing.T) {
	table := allSigned()
	delete(table, debugRef)
	s := newTestService(t, newFake(table), Options{})
	// kubectl debug adds an ephemeral container through the
	// pods/ephemeralcontainers subresource: an UPDATE of the Pod.
	body := bytes.Replace(readReview(t, "pod"), []byte(`"operation": "CREATE"`), []byte(`"operation": "UPDATE"`), 1)
	resp := admitReview(t, s, body)
	if resp.Allowed || !strings.Contains(resp.Result.Message, `spec.ephemeralContainers[0] ("debugger")`) || !strings.Contains(resp.Result.Message, debugRef+": no TUF target") {
		t.Fatalf("unsigned ephemeral container: %+v", resp)
	}
}

func TestAdmissionWarnModeAdmitsInconclusiveWithAWarning(t *testing.T) {
	table := allSigned()
	table[webRef] = entry{kind: fault.Inconclusive, reason: "registry timeout"}
	s := newTestService(t, newFake(table), Options{Mode: Warn})
	resp := admitReview(t, s, readReview(t, "deployment"))
	if !resp.Allowed || len(resp.Warnings) != 1 || !strings.Contains(resp.Warnings[0], "inconclusive: "+webRef+": registry timeout") {
		t.Fatalf("warn mode, inconclusive: %+v", resp)
	}
}

// An object naming a member twice could mean one image to the API server and
// another to the webhook (encoding/json keeps the last one): such a review is
// refused, whichever image comes first.
func TestAdmissionObjectWithDuplicateImageMemberIsRefused(t *testing.T) {
	table := allSigned()
	s := newTestService(t, newFake(table), Options{})
	for _, order := range [][2]string{{"evil.example/unsigned:1", "nginx:1.25"}, {"nginx:1.25", "evil.example/unsigned:1"}} {
		body := bytes.Replace(readReview(t, "pod"), []byte(`"image": "nginx:1.25"`),
			[]byte(`"image": "`+order[0]+`", "image": "`+order[1]+`"`), 1)
		rec := post(t, s.Handler(), "/v1/admission", body)
		if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), `duplicate object member name \"image\"`) {
			t.Fatalf("duplicate image member %v: HTTP %d %s", order, rec.Code, rec.Body)
		}
	}
}

// The API server matches member names exactly; encoding/json would also read
// "Image" as the image, so a review could show the webhook a signed image
// the API server never runs. The webhook reads only the exact name.
func TestAdmissionCaseFoldedImageMemberIsNotRead(t *testing.T) {
	table := allSigned()
	s := newTestService(t, newFake(table), Options{})
	body := bytes.Replace(readReview(t, "pod"), []byte(`"image": "nginx:1.25"`),
		[]byte(`"image": "evil.example/unsigned:1", "Image": "nginx:1.25"`), 1)
	resp := admitReview(t, s, body)
	if resp.Allowed || !strings.Contains(resp.Result.Message, "image evil.example/unsigned:1 (spec.containers[1] (\"proxy\"))") {
		t.Fatalf("case-folded image member: %+v", resp)
	}
}

// A verdict answered from the cache is the verdict first reached: a denied
// image stays denied with the same reason, and is not verified again.
func TestAdmissionCachedDenialKeepsItsReason(t *testing.T) {
	table := allSigned()
	delete(table, debugRef)
	f := newFake(table)
	s := newTestService(t, f, Options{})
	first := admitReview(t, s, readReview(t, "pod"))
	calls := f.verifyCalls.Load()
	second := admitReview(t, s, readReview(t, "pod"))
	if first.Allowed || second.Allowed || first.Result.Message != second.Result.Message || !strings.Contains(second.Result.Message, debugRef+": no TUF target") {
		t.Fatalf("first %+v\nsecond %+v", first.Result, second.Result)
	}
	if f.verifyCalls.Load() != calls {
		t.Fatalf("cached verdicts verified again: %d verifications, then %d", calls, f.verifyCalls.Load())
	}
}

// A body that ends before the length it announced is refused, not decoded
// from what arrived.
func TestAdmissionBodyShorterThanAnnouncedIsRefused(t *testing.T) {
	s := newTestService(t, newFake(allSigned()), Options{})
	body := readReview(t, "pod")
	req := httptest.NewRequest(http.MethodPost, "/v1/admission", bytes.NewReader(body))
	req.ContentLength = int64(len(body)) + 100
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "reading request body: unexpected EOF") {
		t.Fatalf("HTTP %d %s", rec.Code, rec.Body)
	}
}
