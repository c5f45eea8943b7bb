package oci

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/cnabsec/cnabsec/internal/fault"
)

// PushLayout pushes a bundle whose images come from a local OCI image layout
// (e.g. a thick bundle's artifacts/layout, unpacked, or an export directory)
// rather than from registries: every image is looked up in the layout's
// index.json by its contentDigest and pushed to ref's repository under that
// digest, then bundle.json (raw, byte for byte) and the index are pushed as
// PushBundle does. It returns the index and the relocation mapping from each
// image as bundle.json names it to REPO@contentDigest.
//
// An image missing from the layout, or a manifest whose bytes do not hash to
// its digest, is fault.Denied; an unreadable layout is fault.Input.
// Registries check uploaded blobs against their digests.
func PushLayout(ctx context.Context, raw []byte, layoutDir string, ref name.Reference, opts Options) (Descriptor, RelocationMapping, error) {
	s := newSession(ctx, opts)
	if _, err := os.Stat(filepath.Join(layoutDir, "index.json")); err != nil {
		return Descriptor{}, nil, fault.Inputf("OCI layout %s: %w", layoutDir, err)
	}
	root, err := layout.ImageIndexFromPath(layoutDir)
	if err != nil {
		return Descriptor{}, nil, fault.Inputf("OCI layout %s: %w", layoutDir, err)
	}
	return s.pushBundle(raw, ref, func(im bundleImage, what string) (Descriptor, error) {
		what = fmt.Sprintf("%s (%s from layout %s)", what, im.ContentDigest, layoutDir)
		return s.pushFromLayout(root, im.ContentDigest, ref.Context(), what)
	})
}

func (s *session) pushFromLayout(root v1.ImageIndex, digest string, repo name.Repository, what string) (Descriptor, error) {
	h, err := v1.NewHash(digest)
	if err != nil {
		return Descriptor{}, fault.Inputf("%s: %w", what, err)
	}
	im, err := root.IndexManifest()
	if err != nil {
		return Descriptor{}, fault.Inputf("%s: index.json: %w", what, err)
	}
	var found *v1.Descriptor
	for i := range im.Manifests {
		if im.Manifests[i].Digest == h {
			found = &im.Manifests[i]
			break
		}
	}
	if found == nil {
		return Descriptor{}, fault.Deniedf("%s: not listed in the layout's index.json", what)
	}
	var t interface {
		remote.Taggable
		MediaType() (types.MediaType, error)
	}
	switch {
	case found.MediaType.IsIndex():
		t, err = root.ImageIndex(h)
	case found.MediaType.IsImage():
		t, err = root.Image(h)
	default:
		return Descriptor{}, fault.Deniedf("%s: unsupported media type %q", what, found.MediaType)
	}
	if err != nil {
		return Descriptor{}, fault.Inputf("%s: %w", what, err)
	}
	mraw, err := t.RawManifest()
	if err != nil {
		return Descriptor{}, fault.Inputf("%s: %w", what, err)
	}
	if int64(len(mraw)) > s.opts.MaxManifestSize {
		return Descriptor{}, fault.Deniedf("%s: manifest is %d bytes, over the %d-byte limit", what, len(mraw), s.opts.MaxManifestSize)
	}
	if got := sha256Digest(mraw); got != digest {
		return Descriptor{}, fault.Deniedf("%s: the layout's manifest bytes hash to %s", what, got)
	}
	dst, err := repoDigest(repo, digest)
	if err != nil {
		return Descriptor{}, err
	}
	progress, done := s.progress(what)
	err = remote.Push(dst, t, s.remoteOptions(progress...)...)
	done()
	if err != nil {
		return Descriptor{}, classify(err, what+" → "+dst.Name(), dst)
	}
	return Descriptor{Digest: digest, Size: int64(len(mraw)), MediaType: mediaTypeOf(mraw, string(found.MediaType)), RawManifest: mraw}, nil
}
