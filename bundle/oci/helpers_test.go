package oci

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/cnabsec/cnabsec/internal/testing/registrytest"
)

// testBundle returns a bundle.json (compact, sorted keys) whose invocation
// image and components are the given images.
func testBundle(t *testing.T, invocation registrytest.Image, components map[string]registrytest.Image) []byte {
	t.Helper()
	img := func(i registrytest.Image) map[string]any {
		return map[string]any{"image": i.Ref, "imageType": "oci", "contentDigest": i.Digest, "mediaType": i.MediaType, "size": i.Size}
	}
	b := map[string]any{
		"schemaVersion":    "v1.0.0",
		"name":             "helloworld",
		"version":          "0.1.1",
		"description":      "a test bundle",
		"keywords":         []string{"test", "cnab"},
		"maintainers":      []map[string]string{{"name": "Jane Doe", "email": "jane@example.com"}},
		"invocationImages": []any{img(invocation)},
	}
	if len(components) > 0 {
		m := map[string]any{}
		for k, v := range components {
			m[k] = img(v)
		}
		b["images"] = m
	}
	raw, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func mustRef(t *testing.T, s string) name.Reference {
	t.Helper()
	r, err := ParseRef(s, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// pushTestBundle pushes two images and a bundle referencing them; it returns
// the bundle bytes, the bundle reference and the images.
func pushTestBundle(t *testing.T, reg *registrytest.Registry, bundleRef string) ([]byte, name.Reference, registrytest.Image, registrytest.Image) {
	t.Helper()
	inv := reg.PushImage(t, "src/invoc:1.0", 1)
	web := reg.PushIndex(t, "src/web:1.0", 2, 2)
	raw := testBundle(t, inv, map[string]registrytest.Image{"web": web})
	ref := mustRef(t, reg.Ref(bundleRef))
	if _, err := PushBundle(context.Background(), raw, ref, Options{}); err != nil {
		t.Fatalf("PushBundle: %v", err)
	}
	return raw, ref, inv, web
}

// tamper wraps a registry handler: for requests matching match it records
// the real answer and lets edit change the body and headers before sending.
// The answer carries the edited body's true Content-Length, unless edit sets
// the header X-Test-Chunked: then it is sent chunked, with no length.
func tamper(match func(*http.Request) bool, edit func(body []byte, h http.Header) []byte) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !match(r) {
				next.ServeHTTP(w, r)
				return
			}
			rec := httptest.NewRecorder()
			next.ServeHTTP(rec, r)
			body := rec.Body.Bytes()
			h := rec.Header().Clone()
			if rec.Code == http.StatusOK {
				body = edit(body, h)
			}
			chunked := h.Get("X-Test-Chunked") != ""
			h.Del("X-Test-Chunked")
			h.Del("Content-Length")
			for k, v := range h {
				w.Header()[k] = v
			}
			if !chunked {
				w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			}
			w.WriteHeader(rec.Code)
			if chunked {
				w.(http.Flusher).Flush() // no Content-Length: chunked encoding
			}
			if r.Method != http.MethodHead {
				w.Write(body)
			}
		})
	}
}
