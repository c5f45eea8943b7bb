// Package registrytest runs go-containerregistry's in-memory OCI registry on
// loopback for tests, and pushes small random images and multi-platform
// indexes into it.
package registrytest

import (
	"encoding/json"
	"io"
	"log"
	"math/rand"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Registry is an in-memory registry served on 127.0.0.1.
type Registry struct {
	// Host is "127.0.0.1:PORT", the registry part of references.
	Host   string
	Server *httptest.Server
}

// New starts a registry, closed when the test ends. Each wrap, if any, gets
// the real registry handler and returns the handler actually served: tests
// use it to play a registry that lies.
func New(t testing.TB, wrap ...func(http.Handler) http.Handler) *Registry {
	t.Helper()
	var h http.Handler = registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	for _, w := range wrap {
		h = w(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &Registry{Host: strings.TrimPrefix(srv.URL, "http://"), Server: srv}
}

// Ref returns HOST/path (path is "repo:tag", "repo@sha256:..." or "repo").
func (r *Registry) Ref(path string) string { return r.Host + "/" + path }

// Image is what was pushed: the reference and the manifest's digest, size
// and media type.
type Image struct {
	Ref       string
	Digest    string
	Size      int64
	MediaType string
}

// PushImage pushes a random single-platform image (2 layers of 256 bytes,
// content fixed by seed) to HOST/repoTag.
func (r *Registry) PushImage(t testing.TB, repoTag string, seed int64) Image {
	t.Helper()
	img, err := random.Image(256, 2, random.WithSource(rand.NewSource(seed)))
	if err != nil {
		t.Fatal(err)
	}
	ref := r.parse(t, repoTag)
	if err := remote.Write(ref, img); err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
	return describe(t, ref.Name(), img)
}

// PushIndex pushes a random multi-platform index of count images to
// HOST/repoTag.
func (r *Registry) PushIndex(t testing.TB, repoTag string, seed int64, count int64) Image {
	t.Helper()
	idx, err := random.Index(256, 1, count, random.WithSource(rand.NewSource(seed)))
	if err != nil {
		t.Fatal(err)
	}
	ref := r.parse(t, repoTag)
	if err := remote.WriteIndex(ref, idx); err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
	return describe(t, ref.Name(), idx)
}

func (r *Registry) parse(t testing.TB, repoTag string) name.Reference {
	t.Helper()
	ref, err := name.ParseReference(r.Ref(repoTag))
	if err != nil {
		t.Fatal(err)
	}
	return ref
}

type describable interface {
	Digest() (v1.Hash, error)
	Size() (int64, error)
	RawManifest() ([]byte, error)
}

func describe(t testing.TB, ref string, d describable) Image {
	t.Helper()
	h, err := d.Digest()
	if err != nil {
		t.Fatal(err)
	}
	size, err := d.Size()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := d.RawManifest()
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		MediaType string `json:"mediaType"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return Image{Ref: ref, Digest: h.String(), Size: size, MediaType: m.MediaType}
}
