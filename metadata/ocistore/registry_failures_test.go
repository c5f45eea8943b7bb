package ocistore

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cnabsec/cnabsec/bundle/oci"
	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/internal/testing/registrytest"
)

// failTimestamp answers requests for the timestamp's manifest with fn.
func failTimestamp(fn http.HandlerFunc) func(http.Handler) http.Handler {
	return func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "/manifests/tuf-timestamp.json") && r.Method == http.MethodGet {
				fn(w, r)
				return
			}
			h.ServeHTTP(w, r)
		})
	}
}

func TestRegistryServerErrorIsInconclusive(t *testing.T) {
	reg := registrytest.New(t, failTimestamp(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
	}))
	push(t, newRepo(t), mustRepo(t, reg, "org/tuf"))
	f, err := NewFetcher("oci://"+reg.Ref("org/tuf"), oci.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.Fetch(context.Background(), "metadata/timestamp.json", 16<<10)
	if fault.KindOf(err) != fault.Inconclusive {
		t.Fatalf("kind %v, want Inconclusive: %v", fault.KindOf(err), err)
	}
	wantContains(t, err, "metadata/timestamp.json", "registry error", "503")
}

func TestStalledRegistryIsInconclusiveWhenTheDeadlinePasses(t *testing.T) {
	release := make(chan struct{})
	reg := registrytest.New(t, failTimestamp(func(w http.ResponseWriter, r *http.Request) {
		select { // hold the request until the client gives up
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(func() { close(release) })
	push(t, newRepo(t), mustRepo(t, reg, "org/tuf"))
	f, err := NewFetcher("oci://"+reg.Ref("org/tuf"), oci.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err = f.Fetch(ctx, "metadata/timestamp.json", 16<<10)
	if fault.KindOf(err) != fault.Inconclusive {
		t.Fatalf("kind %v, want Inconclusive: %v", fault.KindOf(err), err)
	}
	wantContains(t, err, "metadata/timestamp.json", "timed out")
}

func TestPlainHTTPRefusalIsAnInputErrorWithAHint(t *testing.T) {
	err := classify(context.Background(), fmt.Errorf("GET: %w", &oci.PlainHTTPRefusedError{Host: "10.0.0.5:5000"}), "metadata/timestamp.json at oci://10.0.0.5:5000/org/tuf", true)
	if fault.KindOf(err) != fault.Input {
		t.Fatalf("kind %v, want Input: %v", fault.KindOf(err), err)
	}
	wantContains(t, err, "metadata/timestamp.json", "refusing plain HTTP to 10.0.0.5:5000")
	if r, host := fault.RemedyOf(err); r != fault.RemedyInsecureRegistry || host != "10.0.0.5:5000" {
		t.Fatalf("remedy %v for %q, want %v for 10.0.0.5:5000", r, host, fault.RemedyInsecureRegistry)
	}
}

func TestBadLocationsAreRefused(t *testing.T) {
	for loc, reason := range map[string]string{
		"https://reg/org/tuf":          "want oci://REGISTRY/REPOSITORY",
		"oci://reg.example.com":        "want oci://REGISTRY/REPOSITORY",
		"oci://reg.example.com/a:tag":  "metadata location",
		"oci://reg.example.com/a@sha2": "no tag, digest",
		"oci://reg.example.com/A/b":    "metadata location",
		"oci://reg.example.com/a?x=1":  "no tag, digest, query",
	} {
		_, err := NewFetcher(loc, oci.Options{})
		if fault.KindOf(err) != fault.Input || !strings.Contains(err.Error(), reason) {
			t.Errorf("NewFetcher(%q) = %v, want an Input error containing %q", loc, err, reason)
		}
	}
}
