package ocistore

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/cnabsec/cnabsec/bundle/oci"
	"github.com/cnabsec/cnabsec/internal/testing/registrytest"
	"github.com/cnabsec/cnabsec/internal/testing/testrepo"
	"github.com/cnabsec/cnabsec/metadata"
	"github.com/cnabsec/cnabsec/metadata/client"
)

// testTarget is listed in the releases hash bins by newRepo.
const testTarget = "example.com/org/app/in-toto-metadata/abc/root.layout"

var testContent = []byte("layout bytes of the test target\n")

// newRepo builds a repository with 4 hash bins and one target file.
func newRepo(t *testing.T) *testrepo.Repo {
	t.Helper()
	r := testrepo.New(t, testrepo.WithBins(4), testrepo.WithDelegated("example.com/org/app"))
	r.AddTarget(t, testTarget, metadata.TargetInfo{Content: testContent})
	return r
}

func mustRepoB(t testing.TB, reg *registrytest.Registry, path string) name.Repository {
	t.Helper()
	repo, err := name.NewRepository(reg.Ref(path))
	if err != nil {
		t.Fatal(err)
	}
	return repo
}

func clientNew(r *testrepo.Repo, location string) (*client.Client, error) {
	return client.New(client.Options{TrustedRoot: r.TrustedRoot, Location: location})
}

func mustRepo(t *testing.T, reg *registrytest.Registry, path string) name.Repository {
	t.Helper()
	repo, err := name.NewRepository(reg.Ref(path))
	if err != nil {
		t.Fatal(err)
	}
	return repo
}

func push(t *testing.T, r *testrepo.Repo, repo name.Repository) PushResult {
	t.Helper()
	res, err := Push(context.Background(), r.Dir, repo, oci.Options{})
	if err != nil {
		t.Fatalf("push: %v", err)
	}
	return res
}

// newClient is a TUF client on location, pinned to r's root.
func newClient(t *testing.T, r *testrepo.Repo, location string) *client.Client {
	t.Helper()
	c, err := client.New(client.Options{TrustedRoot: r.TrustedRoot, Location: location})
	if err != nil {
		t.Fatalf("client.New: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// counter counts requests by method, and by "METHOD blob" for blob requests.
type counter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *counter) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.mu.Lock()
		if c.n == nil {
			c.n = map[string]int{}
		}
		c.n[r.Method]++
		if strings.Contains(r.URL.Path, "/blobs/") {
			c.n[r.Method+" blob"]++
		}
		c.mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

func (c *counter) get(method string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[method]
}

func (c *counter) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n = nil
}

func wantContains(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one containing %q", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Fatalf("error %q does not contain %q", err, p)
		}
	}
}
