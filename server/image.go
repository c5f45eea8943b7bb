package server

import (
	"fmt"

	"github.com/cnabsec/cnabsec/internal/names"
	"github.com/google/go-containerregistry/pkg/name"
	lru "github.com/hashicorp/golang-lru/v2"
)

// image is a container image reference as the service checks it.
type image struct {
	raw  string // as written in the pod spec
	ref  string // normalized: REGISTRY/REPO:TAG or REGISTRY/REPO@sha256:HEX
	repo string // REGISTRY/REPO
	// byDigest: ref names its content by digest (no registry lookup needed).
	byDigest bool
}

// parseImage normalizes an image reference with go-containerregistry's rules
// (Docker Hub short names become index.docker.io/...; no tag means :latest).
// A reference with both a tag and a digest names the digest: that is what the
// kubelet pulls.
func parseImage(raw string) (image, error) {
	if raw == "" {
		return image{}, fmt.Errorf("empty image reference")
	}
	ref, err := names.ParseReference(raw)
	if err != nil {
		return image{}, fmt.Errorf("image %q: %w", raw, err)
	}
	_, byDigest := ref.(name.Digest)
	return image{raw: raw, ref: ref.Name(), repo: ref.Context().Name(), byDigest: byDigest}, nil
}

// parsedImages remembers the normalized form of recently seen image
// references: a cluster names the same few images over and over, and
// go-containerregistry's parser was a tenth of a cached admission request.
// Only references that parse are remembered, at most size of them.
type parsedImages struct{ cache *lru.Cache[string, image] }

func newParsedImages(size int) *parsedImages {
	c, err := lru.New[string, image](size)
	if err != nil {
		panic(err) // size is a positive constant
	}
	return &parsedImages{cache: c}
}

func (p *parsedImages) parse(raw string) (image, error) {
	if img, ok := p.cache.Get(raw); ok {
		return img, nil
	}
	img, err := parseImage(raw)
	if err == nil {
		p.cache.Add(raw, img)
	}
	return img, err
}
