package oci

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

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

// ociIndex and ociManifest are encoded exactly as cnab-to-oci (v0.4.1 to
// v0.6.1) encodes a bundle's index and config manifest, so that the same
// bundle.json and images give the same digests whichever tool pushed them:
// members in this order, no mediaType member (the registry learns the media
// type from the request), annotation maps with their keys sorted (as
// encoding/json writes maps), and the config manifest's "layers": null.
type ociIndex struct {
	SchemaVersion int               `json:"schemaVersion"`
	Manifests     []ociDescriptor   `json:"manifests"`
	Annotations   map[string]string `json:"annotations,omitempty"`
}

type ociManifest struct {
	SchemaVersion int             `json:"schemaVersion"`
	Config        ociDescriptor   `json:"config"`
	Layers        []ociDescriptor `json:"layers"`
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
	cfg, err := s.pushConfig(raw, repo, subject)
	if err != nil {
		return Descriptor{}, nil, err
	}
	manifests, mapping, err := s.placeImages(imgs, repo, subject, place)
	if err != nil {
		return Descriptor{}, nil, err
	}
	idxRaw, err := encodeIndex(b, cfg, manifests)
	if err != nil {
		return Descriptor{}, nil, fmt.Errorf("%s: %w", subject, err)
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

// placeImages has place put every image in repo and returns their index
// entries (invocation images first, then the components in the byte order of
// their names, as cnab-to-oci lists them) and the relocation mapping.
func (s *session) placeImages(imgs []bundleImage, repo name.Repository, subject string, place imageCopier) ([]ociDescriptor, RelocationMapping, error) {
	manifests := make([]ociDescriptor, 0, len(imgs))
	mapping := RelocationMapping{}
	for _, im := range indexOrder(imgs) {
		d, err := place(im, fmt.Sprintf("%s: %s %s", subject, im.Kind, im.Name))
		if err != nil {
			return nil, nil, err
		}
		if d.Digest != im.ContentDigest {
			return nil, nil, fault.Deniedf("%s: %s (%s): got manifest %s, not contentDigest %s", subject, im.Name, im.Image, d.Digest, im.ContentDigest)
		}
		if im.Size != 0 && im.Size != d.Size {
			return nil, nil, fault.Inputf("%s: %s (%s): bundle.json says size %d but its manifest %s is %d bytes", subject, im.Name, im.Image, im.Size, im.ContentDigest, d.Size)
		}
		manifests = append(manifests, imageEntry(im, d))
		mapping[im.Image] = repo.Name() + "@" + im.ContentDigest
	}
	return manifests, mapping, nil
}

// indexOrder is the order of a bundle's images in its index: invocation
// images as bundle.json lists them, then the components sorted by name.
func indexOrder(imgs []bundleImage) []bundleImage {
	out := slices.Clone(imgs)
	slices.SortStableFunc(out, func(a, b bundleImage) int {
		ca, cb := a.Kind == ManifestTypeComponent, b.Kind == ManifestTypeComponent
		switch {
		case ca != cb && ca:
			return 1
		case ca != cb:
			return -1
		case ca:
			return strings.Compare(a.Name, b.Name)
		}
		return 0
	})
	return out
}

// imageEntry is the index entry of an image whose manifest is d.
func imageEntry(im bundleImage, d Descriptor) ociDescriptor {
	desc := ociDescriptor{MediaType: d.MediaType, Digest: d.Digest, Size: d.Size,
		Annotations: map[string]string{AnnotationManifestType: im.Kind}}
	if im.Kind == ManifestTypeComponent {
		desc.Annotations[AnnotationComponentName] = im.Name
	}
	return desc
}

// encodeIndex is the bundle's index: the config manifest's entry, then the
// images', with the bundle's annotations.
func encodeIndex(b bundleFields, cfg ociDescriptor, images []ociDescriptor) ([]byte, error) {
	annotations, err := bundleAnnotations(b)
	if err != nil {
		return nil, err
	}
	idx := ociIndex{SchemaVersion: 2, Manifests: append([]ociDescriptor{cfg}, images...), Annotations: annotations}
	raw, err := json.Marshal(idx)
	if err != nil {
		return nil, fmt.Errorf("encode index: %w", err)
	}
	return raw, nil
}

// bundleAnnotations are the index annotations cnab-to-oci writes: the
// maintainers and keywords as encoding/json writes its structures (members
// name, email, url in that order, empty ones left out; <, > and & escaped),
// present when the member is present and not null.
func bundleAnnotations(b bundleFields) (map[string]string, error) {
	a := map[string]string{
		AnnotationRuntimeVersion: b.SchemaVersion,
		AnnotationArtifactType:   ArtifactTypeCNABManifest,
		AnnotationTitle:          b.Name,
		AnnotationVersion:        b.Version,
		AnnotationDescription:    b.Description,
	}
	if b.Maintainers != nil {
		m, err := json.Marshal(b.Maintainers)
		if err != nil {
			return nil, fmt.Errorf("encode maintainers annotation: %w", err)
		}
		a[AnnotationAuthors] = string(m)
	}
	if b.Keywords != nil {
		k, err := json.Marshal(b.Keywords)
		if err != nil {
			return nil, fmt.Errorf("encode keywords annotation: %w", err)
		}
		a[AnnotationKeywords] = string(k)
	}
	return a, nil
}

// pushConfig uploads bundle.json as the config blob of an image manifest and
// returns the index entry for that manifest.
func (s *session) pushConfig(raw []byte, repo name.Repository, subject string) (ociDescriptor, error) {
	layer := static.NewLayer(raw, types.MediaType(MediaTypeCNABConfig))
	if err := remote.WriteLayer(repo, layer, s.remoteOptions()...); err != nil {
		return ociDescriptor{}, classify(err, subject+": push bundle.json blob", repo.Tag("config"))
	}
	mraw, err := configManifest(raw)
	if err != nil {
		return ociDescriptor{}, fmt.Errorf("%s: %w", subject, err)
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

// configManifest is the image manifest whose config blob is bundle.json.
func configManifest(raw []byte) ([]byte, error) {
	m := ociManifest{
		SchemaVersion: 2,
		Config:        ociDescriptor{MediaType: MediaTypeCNABConfig, Digest: sha256Digest(raw), Size: int64(len(raw))},
	}
	mraw, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode config manifest: %w", err)
	}
	return mraw, nil
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

// taggableOf opens a fetched manifest of media type mt as the image or index
// remote.Push copies; other media types are refused.
func taggableOf(desc *remote.Descriptor, mediaType, what string, src name.Digest) (remote.Taggable, error) {
	mt := types.MediaType(mediaType)
	if !mt.IsIndex() && !mt.IsImage() {
		return nil, fault.Deniedf("%s: unsupported manifest media type %q", what, mediaType)
	}
	var (
		t   remote.Taggable
		err error
	)
	if mt.IsIndex() {
		t, err = desc.ImageIndex()
	} else {
		t, err = desc.Image()
	}
	if err != nil {
		return nil, classify(err, what, src)
	}
	return t, nil
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
	t, err := taggableOf(desc, out.MediaType, what, src)
	if err != nil {
		return Descriptor{}, err
	}
	progress, done := s.progress(what)
	err = remote.Push(dstRef, t, s.remoteOptions(progress...)...)
	done()
	if err != nil {
		return Descriptor{}, classify(err, what+" → "+dstRef.Name(), dstRef)
	}
	return out, nil
}
