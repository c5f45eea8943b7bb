package oci

import (
	"bytes"
	"context"
	"encoding/json"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/cnabsec/cnabsec/internal/fault"
)

// configMediaTypes are the config blob media types a CNAB config manifest may
// use: cnab-to-oci's, the spec's (201), and the OCI and Docker fallbacks
// cnab-to-oci uses for registries that refuse custom types.
var configMediaTypes = map[string]bool{
	MediaTypeCNABConfig:     true,
	MediaTypeCNABSpecConfig: true,
	MediaTypeOCIConfig:      true,
	MediaTypeDockerConfig:   true,
}

// PullBundle fetches the thin bundle ref names (an index in the CNAB-in-OCI
// format, by tag or digest) and returns bundle.json exactly as stored in the
// config blob — never re-marshalled, so its sha256 is the signed digest —
// with the descriptor of the index. The config manifest and blob are
// digest-checked and capped (MaxManifestSize, MaxConfigSize). An index that
// is not a CNAB bundle, or content that does not match its digests, is
// fault.Denied.
func PullBundle(ctx context.Context, ref name.Reference, opts Options) ([]byte, Descriptor, error) {
	s := newSession(ctx, opts)
	subject := "bundle " + ref.Name()
	idx, err := s.fetchManifest(ref, subject)
	if err != nil {
		return nil, Descriptor{}, err
	}
	_, raw, err := s.bundleConfig(ref.Context(), idx, subject)
	if err != nil {
		return nil, Descriptor{}, err
	}
	return raw, idx, nil
}

// MaxIndexEntries caps the manifests a bundle index may list: each one costs
// requests when a bundle is copied or pulled thick.
const MaxIndexEntries = 1000

// parseIndex decodes a CNAB bundle index.
func parseIndex(idx Descriptor, subject string) (ociIndex, error) {
	var ix ociIndex
	switch idx.MediaType {
	case MediaTypeOCIIndex, MediaTypeDockerList:
	default:
		return ix, fault.Deniedf("%s: not a CNAB bundle: %s is a %q, not an image index", subject, idx.Digest, idx.MediaType)
	}
	if err := json.Unmarshal(idx.RawManifest, &ix); err != nil {
		return ix, fault.Deniedf("%s: index %s: %w", subject, idx.Digest, err)
	}
	if len(ix.Manifests) > MaxIndexEntries {
		return ix, fault.Deniedf("%s: index %s lists %d manifests, more than the %d allowed", subject, idx.Digest, len(ix.Manifests), MaxIndexEntries)
	}
	for _, m := range ix.Manifests {
		if !isSHA256Digest(m.Digest) {
			return ix, fault.Deniedf("%s: index %s lists manifest digest %q, not sha256:<64 hex>", subject, idx.Digest, m.Digest)
		}
	}
	return ix, nil
}

// bundleConfig finds the config manifest of a bundle index and returns the
// index and the raw config blob.
func (s *session) bundleConfig(repo name.Repository, idx Descriptor, subject string) (ociIndex, []byte, error) {
	ix, err := parseIndex(idx, subject)
	if err != nil {
		return ix, nil, err
	}
	cfg, err := configEntry(ix, idx, subject)
	if err != nil {
		return ix, nil, err
	}
	m, err := s.configManifest(repo, cfg, subject)
	if err != nil {
		return ix, nil, err
	}
	if !configMediaTypes[m.Config.MediaType] {
		return ix, nil, fault.Deniedf("%s: config manifest %s has config media type %q, not a CNAB bundle config", subject, cfg.Digest, m.Config.MediaType)
	}
	if m.Config.Size > s.opts.MaxConfigSize {
		return ix, nil, fault.Deniedf("%s: bundle.json blob %s is announced as %d bytes, over the %d-byte limit", subject, m.Config.Digest, m.Config.Size, s.opts.MaxConfigSize)
	}
	raw, err := s.fetchBlob(repo, m.Config.Digest, m.Config.Size, subject+": bundle.json blob")
	if err != nil {
		return ix, nil, err
	}
	return ix, raw, nil
}

// configEntry is the one index entry annotated as the bundle's config manifest.
func configEntry(ix ociIndex, idx Descriptor, subject string) (*ociDescriptor, error) {
	var cfg *ociDescriptor
	for i := range ix.Manifests {
		if ix.Manifests[i].Annotations[AnnotationManifestType] != ManifestTypeConfig {
			continue
		}
		if cfg != nil {
			return nil, fault.Deniedf("%s: index %s has more than one %s=config manifest", subject, idx.Digest, AnnotationManifestType)
		}
		cfg = &ix.Manifests[i]
	}
	if cfg == nil {
		return nil, fault.Deniedf("%s: not a CNAB bundle: index %s has no manifest annotated %s=config", subject, idx.Digest, AnnotationManifestType)
	}
	return cfg, nil
}

// configManifest fetches and parses the config manifest cfg, within the
// manifest size limit and with the size the index gives it.
func (s *session) configManifest(repo name.Repository, cfg *ociDescriptor, subject string) (*ociManifest, error) {
	if cfg.Size > s.opts.MaxManifestSize {
		return nil, fault.Deniedf("%s: config manifest %s is announced as %d bytes, over the %d-byte limit", subject, cfg.Digest, cfg.Size, s.opts.MaxManifestSize)
	}
	cref, err := repoDigest(repo, cfg.Digest)
	if err != nil {
		return nil, err
	}
	md, err := s.fetchManifest(cref, subject+": config manifest")
	if err != nil {
		return nil, err
	}
	if md.Size != cfg.Size {
		return nil, fault.Deniedf("%s: config manifest %s is %d bytes, the index says %d", subject, cfg.Digest, md.Size, cfg.Size)
	}
	var m ociManifest
	if err := json.NewDecoder(bytes.NewReader(md.RawManifest)).Decode(&m); err != nil {
		return nil, fault.Deniedf("%s: config manifest %s: %w", subject, cfg.Digest, err)
	}
	return &m, nil
}
