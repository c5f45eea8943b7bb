package oci

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/cnabsec/cnabsec/internal/fault"
)

// CNAB-in-OCI annotations (cnab-to-oci converter).
const (
	AnnotationRuntimeVersion = "io.cnab.runtime_version"
	AnnotationKeywords       = "io.cnab.keywords"
	AnnotationArtifactType   = "org.opencontainers.artifactType"
	AnnotationManifestType   = "io.cnab.manifest.type"
	AnnotationComponentName  = "io.cnab.component.name"
	AnnotationTitle          = "org.opencontainers.image.title"
	AnnotationVersion        = "org.opencontainers.image.version"
	AnnotationDescription    = "org.opencontainers.image.description"
	AnnotationAuthors        = "org.opencontainers.image.authors"
	AnnotationRefName        = "org.opencontainers.image.ref.name"

	ManifestTypeConfig     = "config"
	ManifestTypeInvocation = "invocation"
	ManifestTypeComponent  = "component"
)

type ociDescriptor struct {
	MediaType   string            `json:"mediaType"`
	Digest      string            `json:"digest"`
	Size        int64             `json:"size"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

type ociIndex struct {
	SchemaVersion int               `json:"schemaVersion"`
	MediaType     string            `json:"mediaType,omitempty"`
	Manifests     []ociDescriptor   `json:"manifests"`
	Annotations   map[string]string `json:"annotations,omitempty"`
}

type ociManifest struct {
	SchemaVersion int               `json:"schemaVersion"`
	MediaType     string            `json:"mediaType,omitempty"`
	Config        ociDescriptor     `json:"config"`
	Layers        []ociDescriptor   `json:"layers"`
	Annotations   map[string]string `json:"annotations,omitempty"`
}

// rawManifest is a manifest to PUT exactly as given.
type rawManifest struct {
	raw []byte
	mt  string
}

func (r rawManifest) RawManifest() ([]byte, error)        { return r.raw, nil }
func (r rawManifest) MediaType() (types.MediaType, error) { return types.MediaType(r.mt), nil }

func sha256Digest(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// PushBundle pushes raw (bundle.json, pushed byte for byte) to ref as a thin
// bundle in the CNAB-in-OCI format and returns the descriptor of the index.
//
// Like cnab-to-oci, it first copies every image the bundle references
// (invocation and component images, by their contentDigest, from the
// repository their "image" member names) into ref's repository, keeping
// their digests, so that bundle.json stays valid as it is and registries
// accept an index whose manifests all live in its repository. An image
// absent from its registry is a fault.Denied error naming it; an image
// without contentDigest is a fault.Input error.
func PushBundle(ctx context.Context, raw []byte, ref name.Reference, opts Options) (Descriptor, error) {
	s := newSession(ctx, opts)
	desc, _, err := s.pushBundle(raw, ref, func(im bundleImage, what string) (Descriptor, error) {
		src, err := imageSource(im, s.opts)
		if err != nil {
			return Descriptor{}, fault.Inputf("%s: %w", what, err)
		}
		return s.copyManifest(src, ref.Context(), what+" "+src.Name())
	})
	return desc, err
}

// imageCopier puts the image im into the bundle repository under its
// contentDigest and returns its manifest descriptor.
type imageCopier func(im bundleImage, what string) (Descriptor, error)

// pushBundle pushes the config, has place put every image in the repository, then
// pushes the index; it returns the index and the relocation mapping of the
// images to the bundle repository.
func (s *session) pushBundle(raw []byte, ref name.Reference, place imageCopier) (Descriptor, RelocationMapping, error) {
	subject := "bundle " + ref.Name()
	if int64(len(raw)) > s.opts.MaxConfigSize {
		return Descriptor{}, nil, fault.Inputf("%s: bundle.json is %d bytes, over the %d-byte limit", subject, len(raw), s.opts.MaxConfigSize)
	}
	b, imgs, err := parseBundle(raw, subject)
	if err != nil {
		return Descriptor{}, nil, err
	}
	repo := ref.Context()

	manifests := make([]ociDescriptor, 0, len(imgs)+1)
	cfg, err := s.pushConfig(raw, repo, subject)
	if err != nil {
		return Descriptor{}, nil, err
	}
	manifests = append(manifests, cfg)
	mapping := RelocationMapping{}
	for _, im := range imgs {
		d, err := place(im, fmt.Sprintf("%s: %s %s", subject, im.Kind, im.Name))
		if err != nil {
			return Descriptor{}, nil, err
		}
		if d.Digest != im.ContentDigest {
			return Descriptor{}, nil, fault.Deniedf("%s: %s (%s): got manifest %s, not contentDigest %s", subject, im.Name, im.Image, d.Digest, im.ContentDigest)
		}
		if im.Size != 0 && im.Size != d.Size {
			return Descriptor{}, nil, fault.Inputf("%s: %s (%s): bundle.json says size %d but its manifest %s is %d bytes", subject, im.Name, im.Image, im.Size, im.ContentDigest, d.Size)
		}
		desc := ociDescriptor{MediaType: d.MediaType, Digest: d.Digest, Size: d.Size,
			Annotations: map[string]string{AnnotationManifestType: im.Kind}}
		if im.Kind == ManifestTypeComponent {
			desc.Annotations[AnnotationComponentName] = im.Name
		}
		manifests = append(manifests, desc)
		mapping[im.Image] = repo.Name() + "@" + im.ContentDigest
	}

	idx := ociIndex{SchemaVersion: 2, MediaType: MediaTypeOCIIndex, Manifests: manifests, Annotations: bundleAnnotations(b)}
	idxRaw, err := json.Marshal(idx)
	if err != nil {
		return Descriptor{}, nil, fmt.Errorf("%s: encode index: %w", subject, err)
	}
	out := Descriptor{Digest: sha256Digest(idxRaw), Size: int64(len(idxRaw)), MediaType: MediaTypeOCIIndex, RawManifest: idxRaw}
	if d, ok := ref.(name.Digest); ok && d.DigestStr() != out.Digest {
		return Descriptor{}, nil, fault.Inputf("%s: the bundle index has digest %s, not the digest in the reference", subject, out.Digest)
	}
	if err := remote.Put(ref, rawManifest{idxRaw, MediaTypeOCIIndex}, s.remoteOptions()...); err != nil {
		return Descriptor{}, nil, classify(err, subject+": push index", ref)
	}
	return out, mapping, nil
}

// bundleAnnotations are the index annotations cnab-to-oci writes.
func bundleAnnotations(b bundleFields) map[string]string {
	a := map[string]string{
		AnnotationRuntimeVersion: b.SchemaVersion,
		AnnotationArtifactType:   ArtifactTypeCNABManifest,
		AnnotationTitle:          b.Name,
		AnnotationVersion:        b.Version,
		AnnotationDescription:    b.Description,
	}
	if m := compactJSON(b.Maintainers); m != "" {
		a[AnnotationAuthors] = m
	}
	if k := compactJSON(b.Keywords); k != "" {
		a[AnnotationKeywords] = k
	}
	return a
}

// pushConfig uploads bundle.json as the config blob of an image manifest and
// returns the index entry for that manifest.
func (s *session) pushConfig(raw []byte, repo name.Repository, subject string) (ociDescriptor, error) {
	layer := static.NewLayer(raw, types.MediaType(MediaTypeCNABConfig))
	if err := remote.WriteLayer(repo, layer, s.remoteOptions()...); err != nil {
		return ociDescriptor{}, classify(err, subject+": push bundle.json blob", repo.Tag("config"))
	}
	m := ociManifest{
		SchemaVersion: 2,
		MediaType:     MediaTypeOCIManifest,
		Config:        ociDescriptor{MediaType: MediaTypeCNABConfig, Digest: sha256Digest(raw), Size: int64(len(raw))},
		Layers:        []ociDescriptor{},
	}
	mraw, err := json.Marshal(m)
	if err != nil {
		return ociDescriptor{}, fmt.Errorf("%s: encode config manifest: %w", subject, err)
	}
	d := sha256Digest(mraw)
	ref, err := repoDigest(repo, d)
	if err != nil {
		return ociDescriptor{}, err
	}
	if err := remote.Put(ref, rawManifest{mraw, MediaTypeOCIManifest}, s.remoteOptions()...); err != nil {
		return ociDescriptor{}, classify(err, subject+": push config manifest", ref)
	}
	return ociDescriptor{MediaType: MediaTypeOCIManifest, Digest: d, Size: int64(len(mraw)),
		Annotations: map[string]string{AnnotationManifestType: ManifestTypeConfig}}, nil
}

// imageSource is where a bundle image is read from: the repository of its
// "image" member at its contentDigest.
func imageSource(im bundleImage, opts Options) (name.Digest, error) {
	ref, err := ParseRef(im.Image, opts)
	if err != nil {
		return name.Digest{}, err
	}
	if d, ok := ref.(name.Digest); ok && d.DigestStr() != im.ContentDigest {
		return name.Digest{}, fault.Inputf("image %q names digest %s but contentDigest is %s", im.Image, d.DigestStr(), im.ContentDigest)
	}
	return repoDigest(ref.Context(), im.ContentDigest)
}

// copyManifest copies the image, index or artifact src (and, for images and
// indexes, every blob and child manifest) into dst under the same digest and
// returns its descriptor.
func (s *session) copyManifest(src name.Digest, dst name.Repository, what string) (Descriptor, error) {
	desc, err := remote.Get(src, s.remoteOptions()...)
	if err != nil {
		return Descriptor{}, classify(err, what, src)
	}
	out := Descriptor{Digest: desc.Digest.String(), Size: desc.Size, MediaType: string(desc.MediaType), RawManifest: desc.Manifest}
	if out.Digest != src.DigestStr() || sha256Digest(desc.Manifest) != src.DigestStr() {
		return Descriptor{}, fault.Deniedf("%s: manifest bytes hash to %s, not to %s", what, sha256Digest(desc.Manifest), src.DigestStr())
	}
	if mt := mediaTypeOf(desc.Manifest, string(desc.MediaType)); mt != "" {
		out.MediaType = mt
	}
	if src.Context().Name() == dst.Name() {
		return out, nil // already in place
	}
	dstRef, err := repoDigest(dst, out.Digest)
	if err != nil {
		return Descriptor{}, err
	}
	mt := types.MediaType(out.MediaType)
	if !mt.IsIndex() && !mt.IsImage() {
		return Descriptor{}, fault.Deniedf("%s: unsupported manifest media type %q", what, out.MediaType)
	}
	var t remote.Taggable
	if mt.IsIndex() {
		t, err = desc.ImageIndex()
	} else {
		t, err = desc.Image()
	}
	if err != nil {
		return Descriptor{}, classify(err, what, src)
	}
	progress, done := s.progress(what)
	err = remote.Push(dstRef, t, s.remoteOptions(progress...)...)
	done()
	if err != nil {
		return Descriptor{}, classify(err, what+" → "+dstRef.Name(), dstRef)
	}
	return out, nil
}
