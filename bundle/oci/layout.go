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

// pushFromLayout pushes the image or index digest of the layout root to repo,
// once its manifest bytes are within the limit and hash to digest.
func (s *session) pushFromLayout(root v1.ImageIndex, digest string, repo name.Repository, what string) (Descriptor, error) {
	found, h, err := layoutEntry(root, digest, what)
	if err != nil {
		return Descriptor{}, err
	}
	t, err := layoutTaggable(root, found, h, what)
	if err != nil {
		return Descriptor{}, err
	}
	mraw, err := s.layoutManifest(t, digest, what)
	if err != nil {
		return Descriptor{}, err
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

// layoutEntry is the entry of the layout's index.json for digest.
func layoutEntry(root v1.ImageIndex, digest, what string) (*v1.Descriptor, v1.Hash, error) {
	h, err := v1.NewHash(digest)
	if err != nil {
		return nil, h, fault.Inputf("%s: %w", what, err)
	}
	im, err := root.IndexManifest()
	if err != nil {
		return nil, h, fault.Inputf("%s: index.json: %w", what, err)
	}
	for i := range im.Manifests {
		if im.Manifests[i].Digest == h {
			return &im.Manifests[i], h, nil
		}
	}
	return nil, h, fault.Deniedf("%s: not listed in the layout's index.json", what)
}

// pushable is an image or an index remote.Push can push.
type pushable interface {
	remote.Taggable
	MediaType() (types.MediaType, error)
}

// layoutTaggable opens the layout entry found as an image or an index.
func layoutTaggable(root v1.ImageIndex, found *v1.Descriptor, h v1.Hash, what string) (pushable, error) {
	var (
		t   pushable
		err error
	)
	switch {
	case found.MediaType.IsIndex():
		t, err = root.ImageIndex(h)
	case found.MediaType.IsImage():
		t, err = root.Image(h)
	default:
		return nil, fault.Deniedf("%s: unsupported media type %q", what, found.MediaType)
	}
	if err != nil {
		return nil, fault.Inputf("%s: %w", what, err)
	}
	return t, nil
}

// layoutManifest reads t's manifest bytes, refusing ones over the limit or
// that do not hash to digest.
func (s *session) layoutManifest(t pushable, digest, what string) ([]byte, error) {
	mraw, err := t.RawManifest()
	if err != nil {
		return nil, fault.Inputf("%s: %w", what, err)
	}
	if int64(len(mraw)) > s.opts.MaxManifestSize {
		return nil, fault.Deniedf("%s: manifest is %d bytes, over the %d-byte limit", what, len(mraw), s.opts.MaxManifestSize)
	}
	if got := sha256Digest(mraw); got != digest {
		return nil, fault.Deniedf("%s: the layout's manifest bytes hash to %s", what, got)
	}
	return mraw, nil
}
