package oci

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"

	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/internal/testing/errtest"
	"github.com/cnabsec/cnabsec/internal/testing/registrytest"
)

// inProcess serves plain-HTTP requests for one host name from an in-memory
// registry inside the test process and fails HTTPS ones, so a registry on a
// non-loopback name can be exercised without contacting any address.
type inProcess struct {
	host string
	h    http.Handler
	mu   sync.Mutex
	seen []string
}

func (p *inProcess) RoundTrip(req *http.Request) (*http.Response, error) {
	p.mu.Lock()
	p.seen = append(p.seen, req.URL.Scheme+"://"+req.URL.Host)
	p.mu.Unlock()
	if req.URL.Host != p.host || req.URL.Scheme != "http" {
		return nil, errors.New("test: no such server (in-process registry speaks plain HTTP only)")
	}
	if req.Body == nil {
		req.Body = http.NoBody // as a server sees it
	}
	rec := httptest.NewRecorder()
	p.h.ServeHTTP(rec, req)
	resp := rec.Result()
	resp.Request = req
	if req.Method == http.MethodHead {
		resp.Body = io.NopCloser(bytes.NewReader(nil))
	}
	return resp, nil
}

// A registry on a private network name works over plain HTTP once the user
// names it with --insecure-registry, for every operation; the name survives
// into every digest reference derived from the bundle reference.
func TestListedInsecureRegistryWorksForEveryOperationAndUnlistedIsRefused(t *testing.T) {
	const host = "registry.lan:5000"
	fake := &inProcess{host: host, h: registry.New(registry.Logger(log.New(io.Discard, "", 0)))}
	opts := Options{Insecure: []string{host}, transport: fake}
	ctx := context.Background()

	// An image to reference, pushed through the same in-process registry.
	src := registrytest.New(t)
	img := src.PushImage(t, "src/invoc:1", 9)
	raw := testBundle(t, img, nil)
	ref, err := ParseRef(host+"/bundles/hello:1", opts)
	if err != nil {
		t.Fatal(err)
	}
	// PushBundle reads the image from the loopback registry: give both
	// hosts to the fake by routing loopback to the real server.
	both := &router{fake: fake, loopback: http.DefaultTransport}
	opts.transport = both
	if _, err := PushBundle(ctx, raw, ref, opts); err != nil {
		t.Fatalf("PushBundle: %v", err)
	}
	got, _, err := PullBundle(ctx, ref, opts)
	if err != nil || !bytes.Equal(got, raw) {
		t.Fatalf("PullBundle: %v", err)
	}
	dst, _ := ParseRef(host+"/mirror/hello:1", opts)
	if _, err := Copy(ctx, ref, dst, opts); err != nil {
		t.Fatalf("Copy: %v", err)
	}
	if err := PullThick(ctx, dst, io.Discard, opts); err != nil {
		t.Fatalf("PullThick: %v", err)
	}

	// Without the listing the same registry is refused before any plain
	// HTTP request leaves.
	before := len(fake.seen)
	unlisted := Options{transport: both}
	r2, _ := ParseRef(host+"/bundles/hello:1", unlisted)
	_, _, err = PullBundle(ctx, r2, unlisted)
	if err == nil {
		t.Fatal("unlisted private registry was read")
	}
	for _, u := range fake.seen[before:] {
		if u == "http://"+host {
			t.Fatalf("plain HTTP request to unlisted %s", host)
		}
	}
	errtest.Want(t, err, fault.Inconclusive, host+"/bundles/hello:1", "https://"+host)
}

// router sends loopback requests to the network (the test's own registry)
// and everything else to the in-process fake.
type router struct {
	fake     *inProcess
	loopback http.RoundTripper
}

func (r *router) RoundTrip(req *http.Request) (*http.Response, error) {
	if IsLoopback(req.URL.Host) {
		return r.loopback.RoundTrip(req)
	}
	return r.fake.RoundTrip(req)
}
