package server

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
)

// FuzzAdmissionReview posts arbitrary bodies to /v1/admission: the answer is
// either HTTP 400/413, or an AdmissionReview whose uid is the request's and
// which admits only when every image verified.
func FuzzAdmissionReview(f *testing.F) {
	fake := newFake(allSigned())
	s, err := New(Options{Verifier: fake})
	if err != nil {
		f.Fatal(err)
	}
	if err := s.trust.refresh(f.Context()); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		rec := post(t, s.Handler(), "/v1/admission", body)
		switch rec.Code {
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
			return
		case http.StatusOK:
		default:
			t.Fatalf("HTTP %d", rec.Code)
		}
		in, err := decodeAdmissionReview(body)
		if err != nil {
			t.Fatalf("answered 200 to a body that does not decode: %v", err)
		}
		var out admissionv1.AdmissionReview
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || out.Response == nil {
			t.Fatalf("answer is not a review: %v", err)
		}
		if out.Response.UID != in.Request.UID {
			t.Fatalf("uid %q answered as %q", in.Request.UID, out.Response.UID)
		}
		if !out.Response.Allowed || in.Request.Operation == admissionv1.Delete || in.Request.Operation == admissionv1.Connect {
			return
		}
		// Admitted: every image must be one the test verifier verifies.
		spec, prefix, err := podSpecOf(in.Request.Kind, in.Request.Object.Raw)
		if err != nil {
			t.Fatalf("admitted an unreadable object: %v", err)
		}
		for _, u := range imagesOf(spec, prefix) {
			img, err := parseImage(u.image)
			if err != nil {
				t.Fatalf("admitted invalid image %q", u.image)
			}
			if _, ok := allSigned()[img.ref]; !ok {
				t.Fatalf("admitted unsigned image %q", img.ref)
			}
		}
	})
}

// FuzzParseRegistryPath: an accepted path is plain ASCII with no escapes or
// dot segments, and its parts rebuild it exactly.
func FuzzParseRegistryPath(f *testing.F) {
	f.Fuzz(func(t *testing.T, p string) {
		rt, err := parseRegistryPath(p)
		if err != nil {
			if _, ok := err.(*pathError); !ok {
				t.Fatalf("error of type %T", err)
			}
			return
		}
		path, _, _ := strings.Cut(p, "?")
		if strings.Contains(path, "%") || strings.Contains(path, "/../") || strings.Contains(path, "/./") || strings.Contains(path, "//") {
			t.Fatalf("accepted %q", p)
		}
		var rebuilt string
		switch rt.kind {
		case routeBase:
			return
		case routeCatalog:
			rebuilt = "/v2/_catalog"
		case routeTags:
			rebuilt = "/v2/" + rt.name + "/tags/list"
		case routeManifest:
			rebuilt = "/v2/" + rt.name + "/manifests/" + rt.ref
		case routeBlob:
			rebuilt = "/v2/" + rt.name + "/blobs/" + rt.ref
		default:
			t.Fatalf("unknown route kind %d", rt.kind)
		}
		if rebuilt != path {
			t.Fatalf("parsed %q as %+v (rebuilds %q)", p, rt, rebuilt)
		}
		if rt.kind != routeCatalog && !nameRE.MatchString(rt.name) {
			t.Fatalf("accepted name %q", rt.name)
		}
	})
}

func TestFuzzSeedCorporaAreNotEmpty(t *testing.T) {
	for _, target := range []string{"FuzzAdmissionReview", "FuzzParseRegistryPath"} {
		files, err := filepath.Glob(filepath.Join("testdata", "fuzz", target, "*"))
		if err != nil || len(files) < 5 {
			t.Fatalf("%s: %d seed files (%v)", target, len(files), err)
		}
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil || !strings.HasPrefix(string(data), "go test fuzz v1\n") {
				t.Fatalf("%s is not a go fuzz corpus file", file)
			}
		}
	}
}
