package server

import (
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
)

// image is a container image reference as the service checks it.
type image struct {
	raw  string // as written in the pod spec
	ref  string // normalized: REGISTRY/REPO:TAG or REGISTRY/REPO@sha256:HEX
	repo string // REGISTRY/REPO
}

// parseImage normalizes an image reference with go-containerregistry's rules
// (Docker Hub short names become index.docker.io/...; no tag means :latest).
// A reference with both a tag and a digest names the digest: that is what the
// kubelet pulls.
func parseImage(raw string) (image, error) {
	if raw == "" {
		return image{}, fmt.Errorf("empty image reference")
	}
	ref, err := name.ParseReference(raw)
	if err != nil {
		return image{}, fmt.Errorf("image %q: %w", raw, err)
	}
	return image{raw: raw, ref: ref.Name(), repo: ref.Context().Name()}, nil
}
