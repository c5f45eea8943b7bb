package oci

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/internal/testing/errtest"
	"github.com/cnabsec/cnabsec/internal/testing/registrytest"
)

// recorder stands in for the network: it records each request that got past
// the security checks and fails it, so no address is ever contacted.
type recorder struct {
	mu   sync.Mutex
	urls []string
}

var errNoNetwork = errors.New("test: network disabled")

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.urls = append(r.urls, req.URL.Scheme+"://"+req.URL.Host+req.URL.Path)
	r.mu.Unlock()
	return nil, errNoNetwork
}

func (r *recorder) seen() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.urls...)
}

func TestPlainHTTPOnlyForLoopbackOrListedHosts(t *testing.T) {
	o := Options{Insecure: []string{"registry.lan:5000", "mirror.internal", "http://scheme.lan:8080/"}}
	for host, want := range map[string]bool{
		"127.0.0.1:5000":     true,
		"127.8.9.10":         true,
		"[::1]:5000":         true,
		"localhost:5000":     true,
		"localhost":          true,
		"registry.lan:5000":  true,
		"registry.lan:5001":  false, // listed with another port
		"mirror.internal":    true,
		"mirror.internal:80": true, // listed without port: any port
		"10.0.0.5:5000":      false,
		"192.168.1.2":        false,
		"172.16.0.1:443":     false,
		"registry.local":     false,
		"example.com":        false,
		"localhost.evil.com": false,
		"scheme.lan:8080":    true, // listed as a URL
		"scheme.lan:8081":    false,
		"127.0.0.1.nip.io":   false,
	} {
		if got := o.AllowsPlainHTTP(host); got != want {
			t.Errorf("AllowsPlainHTTP(%q) = %v, want %v", host, got, want)
		}
	}
}

// go-containerregistry would fall back to plain HTTP for RFC 1918 and *.local
// registries; cnabsec must only ever try HTTPS there.
func TestPrivateNetworkRegistryWithoutInsecureFlagUsesHTTPSOnly(t *testing.T) {
	for _, s := range []string{"10.1.2.3:5000/app/web:1", "192.168.7.7/app/web:1", "registry.local/app/web:1", "example.com/app/web:1"} {
		rec := &recorder{}
		opts := Options{transport: rec}
		_, err := ResolveImage(context.Background(), mustRef(t, s), opts)
		if err == nil {
			t.Fatalf("%s: resolved through a disabled network", s)
		}
		seen := rec.seen()
		if len(seen) == 0 {
			t.Fatalf("%s: no request attempted", s)
		}
		for _, u := range seen {
			if !strings.HasPrefix(u, "https://") {
				t.Errorf("%s: request %s reached the network over plain HTTP", s, u)
			}
		}
		var refused *PlainHTTPRefusedError
		if errors.As(err, &refused) {
			// The ggcr fallback was attempted and stopped before dialling.
			errtest.Want(t, err, fault.Input, "refusing plain HTTP", "listed as insecure")
			if r, host := fault.RemedyOf(err); r != fault.RemedyInsecureRegistry || host != refused.Host {
				t.Errorf("%s: remedy %v for %q, want %v for %s", s, r, host, fault.RemedyInsecureRegistry, refused.Host)
			}
		} else {
			errtest.Want(t, err, fault.Inconclusive, "network disabled")
		}
	}
}

func TestListedInsecureRegistryMayFallBackToHTTP(t *testing.T) {
	rec := &recorder{}
	opts := Options{Insecure: []string{"10.1.2.3:5000"}, transport: rec}
	ref, err := ParseRef("10.1.2.3:5000/app/web:1", opts)
	if err != nil {
		t.Fatal(err)
	}
	_, err = ResolveImage(context.Background(), ref, opts)
	errtest.Want(t, err, fault.Inconclusive, "network disabled")
	var schemes []string
	for _, u := range rec.seen() {
		schemes = append(schemes, u[:strings.Index(u, ":")])
	}
	if !strings.Contains(strings.Join(schemes, ","), "http") || !strings.Contains(strings.Join(schemes, ","), "https") {
		t.Fatalf("attempted schemes %v, want https then http", schemes)
	}
}

func TestRedirectFromHTTPSToPlainHTTPIsRefused(t *testing.T) {
	req, _ := http.NewRequest(http.MethodGet, "http://blobs.example.com/x", nil)
	via, _ := http.NewRequest(http.MethodGet, "https://registry.example.com/v2/a/blobs/sha256:00", nil)
	if err := sameSchemeRedirect(req, []*http.Request{via}); err == nil || !strings.Contains(err.Error(), "refusing redirect from HTTPS") {
		t.Fatalf("redirect to plain HTTP allowed: %v", err)
	}
}

func TestManifestStreamedPastSizeCapIsDenied(t *testing.T) {
	reg := registrytest.New(t, tamper(
		func(r *http.Request) bool {
			return strings.Contains(r.URL.Path, "/manifests/") && r.Method == http.MethodGet
		},
		func(body []byte, h http.Header) []byte { h.Set("X-Test-Chunked", "1"); return body }))
	img := reg.PushIndex(t, "app/multi:1", 1, 4)
	_, err := ResolveImage(context.Background(), mustRef(t, img.Ref), Options{MaxManifestSize: 100})
	errtest.Want(t, err, fault.Denied, "app/multi:1", "larger than the 100-byte limit")
}

func TestCappedBodyReturnsAtMostTheCap(t *testing.T) {
	c := &cappedBody{rc: io.NopCloser(strings.NewReader(strings.Repeat("x", 50))), left: 10, err: &TooLargeError{What: "m", Limit: 10}}
	b, err := io.ReadAll(c)
	var tl *TooLargeError
	if !errors.As(err, &tl) {
		t.Fatalf("read %d bytes, err %v; want TooLargeError", len(b), err)
	}
	if len(b) > 11 {
		t.Fatalf("read %d bytes through a 10-byte cap", len(b))
	}
}
