package oci

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/internal/testing/errtest"
	"github.com/cnabsec/cnabsec/internal/testing/registrytest"
)

// keychain answers every registry with one authenticator.
type keychain struct{ auth authn.Authenticator }

func (k keychain) Resolve(authn.Resource) (authn.Authenticator, error) { return k.auth, nil }

// basicAuth makes a registry demand user:secret.
func basicAuth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "user" || p != "secret" {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`))
			return
		}
		next.ServeHTTP(w, r)
	})
}

func TestRegistryRefusingCredentialsIsInconclusiveWithLoginHint(t *testing.T) {
	open := registrytest.New(t)
	img := open.PushImage(t, "app/web:1", 1)
	reg := registrytest.New(t, basicAuth)
	ref := mustRef(t, reg.Ref("app/web:1"))

	_, err := ResolveImage(context.Background(), ref, Options{Keychain: keychain{authn.Anonymous}})
	errtest.Want(t, err, fault.Inconclusive, "app/web:1", "access refused")
	if r, _ := fault.RemedyOf(err); r != fault.RemedyRegistryLogin {
		t.Errorf("remedy %v, want %v", r, fault.RemedyRegistryLogin)
	}

	// With the credentials from the keychain, push and resolve work.
	creds := Options{Keychain: keychain{&authn.Basic{Username: "user", Password: "secret"}}}
	raw := testBundle(t, img, nil)
	if _, err := PushBundle(context.Background(), raw, mustRef(t, reg.Ref("bundles/b:1")), creds); err != nil {
		t.Fatalf("push with credentials: %v", err)
	}
	got, _, err := PullBundle(context.Background(), mustRef(t, reg.Ref("bundles/b:1")), creds)
	if err != nil || !bytes.Equal(got, raw) {
		t.Fatalf("pull with credentials: %v", err)
	}
}

func TestBundleIndexListingTooManyManifestsIsDenied(t *testing.T) {
	ix := layoutIndexFile{SchemaVersion: 2, MediaType: MediaTypeOCIIndex}
	for i := 0; i <= MaxIndexEntries; i++ {
		ix.Manifests = append(ix.Manifests, ociDescriptor{MediaType: MediaTypeOCIManifest, Digest: "sha256:" + strings.Repeat("0", 64), Size: 1})
	}
	raw, _ := json.Marshal(ix)
	reg := registrytest.New(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/v2/bundles/huge/manifests/1" {
				next.ServeHTTP(w, r)
				return
			}
			w.Header().Set("Content-Type", MediaTypeOCIIndex)
			w.Write(raw)
		})
	})
	ref := mustRef(t, reg.Ref("bundles/huge:1"))
	_, _, err := PullBundle(context.Background(), ref, Options{})
	errtest.Want(t, err, fault.Denied, "bundles/huge:1", "1001 manifests")
	_, err = Copy(context.Background(), ref, mustRef(t, reg.Ref("copy/huge:1")), Options{})
	errtest.Want(t, err, fault.Denied, "bundles/huge:1", "1001 manifests")
}

func TestCopyAcrossRegistriesReportsProgress(t *testing.T) {
	reg := registrytest.New(t)
	other := registrytest.New(t)
	_, src, _, _ := pushTestBundle(t, reg, "bundles/hello:1")
	var reports []Progress
	var mu sync.Mutex
	record := func(p Progress) { mu.Lock(); reports = append(reports, p); mu.Unlock() }
	if _, err := Copy(context.Background(), src, mustRef(t, other.Ref("bundles/hello:1")), Options{Progress: record}); err != nil {
		t.Fatal(err)
	}
	finished := 0
	for _, p := range reports {
		if p.Finished {
			finished++
			if p.Done > p.Total || p.Total == 0 || p.Label == "" {
				t.Errorf("finished report %+v: want a labelled copy of some bytes", p)
			}
		}
	}
	if finished == 0 {
		t.Fatalf("no copy reported finishing: %+v", reports)
	}
}

func TestOpenBlobOfMissingBlobIsDeniedAndPresentBlobVerifies(t *testing.T) {
	reg := registrytest.New(t)
	raw, ref, _, _ := pushTestBundle(t, reg, "bundles/hello:1")
	repo := ref.Context()
	rc, err := OpenBlob(context.Background(), repo, sha256Digest(raw), int64(len(raw)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || !bytes.Equal(got, raw) {
		t.Fatalf("OpenBlob: %v", err)
	}
	// The same blob announced with another size is refused.
	rc, err = OpenBlob(context.Background(), repo, sha256Digest(raw), int64(len(raw))-1, Options{})
	if err == nil {
		_, err = io.ReadAll(rc)
		rc.Close()
	}
	errtest.Want(t, err, fault.Denied, sha256Digest(raw), "announces")
	missing := "sha256:" + strings.Repeat("1", 64)
	_, err = OpenBlob(context.Background(), repo, missing, 10, Options{})
	errtest.Want(t, err, fault.Denied, "bundles/hello@"+missing, "blob unknown")
}

func TestRemoteOptionsCarryThePlainHTTPRule(t *testing.T) {
	rec := &recorder{}
	ref := mustRef(t, "10.9.8.7:5000/app/web:1")
	_, err := remote.Get(ref, RemoteOptions(context.Background(), Options{transport: rec})...)
	if err == nil {
		t.Fatal("remote.Get succeeded through a disabled network")
	}
	for _, u := range rec.seen() {
		if !strings.HasPrefix(u, "https://") {
			t.Errorf("request %s reached the network over plain HTTP", u)
		}
	}
	var refused *PlainHTTPRefusedError
	if !errors.As(err, &refused) {
		t.Errorf("plain HTTP fallback not refused: %v", err)
	}
}

// Slow retrieval: headers come at once, the body never completes.
func TestRegistryDrippingManifestBodyTimesOutInconclusive(t *testing.T) {
	reg := registrytest.New(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !strings.Contains(r.URL.Path, "/manifests/") {
				next.ServeHTTP(w, r)
				return
			}
			w.Header().Set("Content-Type", MediaTypeOCIManifest)
			w.Header().Set("Content-Length", "1000")
			w.WriteHeader(http.StatusOK)
			w.Write([]byte("{"))
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		})
	})
	_, err := ResolveImage(context.Background(), mustRef(t, reg.Ref("app/web:1")), Options{Timeout: 300 * time.Millisecond})
	errtest.Want(t, err, fault.Inconclusive, "app/web:1", "timed out")
}

// A registry that is briefly busy (rate limit, 503) is asked again; one that
// stays busy is inconclusive after three attempts.
func TestBusyRegistryIsRetriedThenInconclusive(t *testing.T) {
	var mu sync.Mutex
	busy := map[string]int{} // manifest path → 503 answers still to give
	reg := registrytest.New(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			n := busy[r.URL.Path]
			if n > 0 {
				busy[r.URL.Path] = n - 1
			}
			mu.Unlock()
			if n > 0 {
				w.Header().Set("Retry-After", "1")
				w.WriteHeader(http.StatusTooManyRequests)
				return
			}
			next.ServeHTTP(w, r)
		})
	})
	img := reg.PushImage(t, "app/web:1", 1)
	mu.Lock()
	busy["/v2/app/web/manifests/1"] = 2
	mu.Unlock()
	d, err := ResolveImage(context.Background(), mustRef(t, img.Ref), Options{})
	if err != nil || d.Digest != img.Digest {
		t.Fatalf("after two busy answers: %v", err)
	}
	mu.Lock()
	busy["/v2/app/web/manifests/1"] = 3
	mu.Unlock()
	_, err = ResolveImage(context.Background(), mustRef(t, img.Ref), Options{})
	errtest.Want(t, err, fault.Inconclusive, "app/web:1", "rate-limited", "429")
}
