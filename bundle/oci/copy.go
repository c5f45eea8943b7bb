package oci

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/cnabsec/cnabsec/internal/fault"
)

// RelocationMapping maps each image reference as bundle.json writes it to
// its relocated reference REGISTRY/REPOSITORY@sha256:HEX (CNAB 103).
type RelocationMapping map[string]string

// ParseDestination parses the destination of a copy. A destination without
// tag or digest takes the source's tag (or digest): copying
// reg/app:1.0 to other/app gives other/app:1.0.
func ParseDestination(s string, src name.Reference, opts Options) (name.Reference, error) {
	s = strings.TrimSpace(s)
	if _, err := name.NewRepository(s); err == nil && !hasTagOrDigest(s) {
		switch r := src.(type) {
		case name.Tag:
			s += ":" + r.TagStr()
		case name.Digest:
			s += "@" + r.DigestStr()
		}
	}
	return ParseRef(s, opts)
}

func hasTagOrDigest(s string) bool {
	if strings.Contains(s, "@") {
		return true
	}
	last := s[strings.LastIndex(s, "/")+1:]
	return strings.Contains(last, ":")
}

// Copy copies the thin bundle src, its config and every image it references
// to dst: same index bytes, same digests, so bundle.json and its signatures
// stay valid. The images are taken from src's repository (where PushBundle
// and cnab-to-oci put them) by the contentDigest bundle.json gives them. It
// returns the relocation mapping from each image as bundle.json names it to
// DSTREPO@contentDigest.
//
// dst may be a tag or the index digest; a digest that differs from the
// source index's is a fault.Input error.
func Copy(ctx context.Context, src, dst name.Reference, opts Options) (RelocationMapping, error) {
	s := newSession(ctx, opts)
	subject := "bundle " + src.Name()
	idx, ix, imgs, err := s.copySource(src, dst, subject)
	if err != nil {
		return nil, err
	}
	srcRepo, dstRepo := src.Context(), dst.Context()
	mapping, err := relocationMapping(subject, dstRepo, imgs)
	if err != nil {
		return nil, err
	}
	mc := &manifestCopier{s: s, src: srcRepo, dst: dstRepo, copied: map[string]bool{}}
	for _, im := range imgs {
		if err := mc.copy(im.ContentDigest, fmt.Sprintf("%s: %s %s (%s@%s)", subject, im.Kind, im.Name, srcRepo.Name(), im.ContentDigest)); err != nil {
			return nil, err
		}
	}
	for _, m := range ix.Manifests {
		if err := mc.copy(m.Digest, fmt.Sprintf("%s: index entry %s@%s", subject, srcRepo.Name(), m.Digest)); err != nil {
			return nil, err
		}
	}
	if err := remote.Put(dst, rawManifest{idx.RawManifest, idx.MediaType}, s.remoteOptions()...); err != nil {
		return nil, classify(err, fmt.Sprintf("copy %s to %s: push index", src.Name(), dst.Name()), dst)
	}
	return mapping, nil
}

// copySource reads the source bundle: its index (which must have dst's
// digest when dst is a digest), config and the images bundle.json names.
func (s *session) copySource(src, dst name.Reference, subject string) (Descriptor, ociIndex, []bundleImage, error) {
	idx, err := s.fetchManifest(src, subject)
	if err != nil {
		return idx, ociIndex{}, nil, err
	}
	if d, ok := dst.(name.Digest); ok && d.DigestStr() != idx.Digest {
		return idx, ociIndex{}, nil, fault.Inputf("copy %s to %s: the source index has digest %s", src.Name(), dst.Name(), idx.Digest)
	}
	ix, raw, err := s.bundleConfig(src.Context(), idx, subject)
	if err != nil {
		return idx, ix, nil, err
	}
	_, imgs, err := parseBundle(raw, subject+" (bundle.json)")
	if err != nil {
		return idx, ix, nil, fault.Deniedf("%w", err) // remote content, not local input
	}
	return idx, ix, imgs, nil
}

// relocationMapping maps each image as bundle.json names it to
// DSTREPO@contentDigest, refusing an image named with two digests.
func relocationMapping(subject string, dstRepo name.Repository, imgs []bundleImage) (RelocationMapping, error) {
	mapping := RelocationMapping{}
	for _, im := range imgs {
		target := dstRepo.Name() + "@" + im.ContentDigest
		if prev, ok := mapping[im.Image]; ok && prev != target {
			return nil, fault.Deniedf("%s: bundle.json names image %q with two digests (%s and %s); a relocation mapping cannot express that", subject, im.Image, prev, target)
		}
		mapping[im.Image] = target
	}
	return mapping, nil
}

// manifestCopier copies manifests from src to dst, each digest once.
type manifestCopier struct {
	s        *session
	src, dst name.Repository
	copied   map[string]bool
}

// copy copies the manifest src@digest (and what it references) to dst,
// unless it was copied already.
func (mc *manifestCopier) copy(digest, what string) error {
	if mc.copied[digest] {
		return nil
	}
	from, err := repoDigest(mc.src, digest)
	if err != nil {
		return err
	}
	if _, err := mc.s.copyManifest(from, mc.dst, what); err != nil {
		return err
	}
	mc.copied[digest] = true
	return nil
}
