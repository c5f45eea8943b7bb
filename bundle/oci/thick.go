package oci

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/cnabsec/cnabsec/bundle"
	"github.com/cnabsec/cnabsec/internal/fault"
)

// maxManifestDepth bounds index → manifest nesting while gathering blobs.
const maxManifestDepth = 3

// MaxThickBlobs caps the blobs one thick pull gathers (manifests, configs
// and layers of every image), so a hostile registry cannot make it walk
// without end.
const MaxThickBlobs = 10000

// layoutBlob is one blob of the image layout: either bytes in hand
// (manifests, small configs) or a registry blob streamed when written.
type layoutBlob struct {
	digest string
	size   int64
	raw    []byte // nil: stream from repo
	mt     string // media type, for manifests
	repo   name.Repository
	what   string
}

// PullThick writes the thin bundle ref names, with every image it references,
// as a thick bundle to w: a gzip-compressed tar holding bundle.json (the raw
// config blob) and artifacts/layout, an OCI image layout whose index.json
// lists each image's manifest by its contentDigest, and
// relocation-mapping.json, which relocates each image to REPOSITORY@DIGEST in
// ref's repository; each index entry is named (annotation
// org.opencontainers.image.ref.name) by that relocated reference, as porter
// archive writes it and porter publish --archive looks it up.
// Images are read from ref's repository by digest; every blob is size- and
// digest-checked while it is copied. The archive is byte-for-byte
// reproducible: sorted entries, zero timestamps and owners, no gzip name or
// time.
//
// On error, w holds a partial archive: write to a temporary file and rename
// only on success.
func PullThick(ctx context.Context, ref name.Reference, w io.Writer, opts Options) error {
	s := newSession(ctx, opts)
	subject := "bundle " + ref.Name()
	idx, err := s.fetchManifest(ref, subject)
	if err != nil {
		return err
	}
	_, raw, err := s.bundleConfig(ref.Context(), idx, subject)
	if err != nil {
		return err
	}
	_, imgs, err := parseBundle(raw, subject+" (bundle.json)")
	if err != nil {
		return fault.Deniedf("%w", err)
	}
	repo := ref.Context()
	g := &gatherer{s: s, blobs: map[string]layoutBlob{}}
	var entries []ociDescriptor
	// Every image is in the bundle's repository: that is where the archive
	// relocates them (relocation-mapping.json, as porter archive writes it).
	relocation := bundle.RelocationMapping{}
	for _, im := range imgs {
		relocation[im.Image] = repo.Name() + "@" + im.ContentDigest
		what := fmt.Sprintf("%s: %s %s (%s@%s)", subject, im.Kind, im.Name, repo.Name(), im.ContentDigest)
		d, err := g.manifest(repo, im.ContentDigest, what, 0)
		if err != nil {
			return err
		}
		entries = append(entries, ociDescriptor{MediaType: d.MediaType, Digest: d.Digest, Size: d.Size,
			Annotations: map[string]string{AnnotationRefName: im.Image}})
	}
	layoutIndex, err := json.MarshalIndent(layoutIndexFile{SchemaVersion: 2, MediaType: MediaTypeOCIIndex, Manifests: entries}, "", "  ")
	if err != nil {
		return err
	}
	return s.writeThick(w, bundle.ThickContent{BundleJSON: raw, Index: layoutIndex, Relocation: relocation}, g.blobs, subject)
}

// layoutIndexFile is the index.json of a thick bundle's OCI image layout.
type layoutIndexFile struct {
	SchemaVersion int             `json:"schemaVersion"`
	MediaType     string          `json:"mediaType,omitempty"`
	Manifests     []ociDescriptor `json:"manifests"`
}

// MaxThickManifestBytes caps the manifest bytes a thick pull holds in memory
// until the archive is written.
const MaxThickManifestBytes = 64 << 20

// gatherer collects the blobs of the images of a thick pull.
type gatherer struct {
	s        *session
	blobs    map[string]layoutBlob
	retained int64
}

func (g *gatherer) add(b layoutBlob, what string) error {
	g.blobs[b.digest] = b
	g.retained += int64(len(b.raw))
	if len(g.blobs) > MaxThickBlobs {
		return fault.Deniedf("%s: the images reference more than %d blobs", what, MaxThickBlobs)
	}
	if g.retained > MaxThickManifestBytes {
		return fault.Deniedf("%s: the images' manifests add up to more than %d bytes", what, MaxThickManifestBytes)
	}
	return nil
}

// manifest records the manifest repo@digest and everything it references
// (child manifests, configs, layers).
func (g *gatherer) manifest(repo name.Repository, digest, what string, depth int) (Descriptor, error) {
	if depth > maxManifestDepth {
		return Descriptor{}, fault.Deniedf("%s: manifests nested deeper than %d levels", what, maxManifestDepth)
	}
	if !isSHA256Digest(digest) {
		return Descriptor{}, fault.Deniedf("%s: manifest digest %q is not sha256:<64 hex>", what, digest)
	}
	if d, ok := g.recorded(digest); ok {
		return d, nil
	}
	d, m, err := g.fetchManifest(repo, digest, what)
	if err != nil {
		return Descriptor{}, err
	}
	for _, c := range m.Manifests {
		if _, err := g.manifest(repo, c.Digest, what, depth+1); err != nil {
			return Descriptor{}, err
		}
	}
	refs := m.Layers
	if m.Config != nil {
		refs = append([]ociDescriptor{*m.Config}, refs...)
	}
	for _, b := range refs {
		if err := g.blobRef(repo, d.Digest, b, what); err != nil {
			return Descriptor{}, err
		}
	}
	return d, nil
}

// recorded is the descriptor of manifest digest when it was gathered before.
func (g *gatherer) recorded(digest string) (Descriptor, bool) {
	b, ok := g.blobs[digest]
	if !ok || b.raw == nil {
		return Descriptor{}, false
	}
	return Descriptor{Digest: digest, Size: b.size, MediaType: b.mt, RawManifest: b.raw}, true
}

// gatheredManifest is the part of a manifest or index the gatherer follows.
type gatheredManifest struct {
	Manifests []ociDescriptor `json:"manifests"`
	Config    *ociDescriptor  `json:"config"`
	Layers    []ociDescriptor `json:"layers"`
}

// fetchManifest fetches the manifest repo@digest, records it and parses what
// it references, refusing an index with more than MaxIndexEntries entries.
func (g *gatherer) fetchManifest(repo name.Repository, digest, what string) (Descriptor, *gatheredManifest, error) {
	ref, err := repoDigest(repo, digest)
	if err != nil {
		return Descriptor{}, nil, err
	}
	d, err := g.s.fetchManifest(ref, what)
	if err != nil {
		return Descriptor{}, nil, err
	}
	if err := g.add(layoutBlob{digest: d.Digest, size: d.Size, raw: d.RawManifest, mt: d.MediaType}, what); err != nil {
		return Descriptor{}, nil, err
	}
	var m gatheredManifest
	if err := json.Unmarshal(d.RawManifest, &m); err != nil {
		return Descriptor{}, nil, fault.Deniedf("%s: manifest %s: %w", what, d.Digest, err)
	}
	if len(m.Manifests) > MaxIndexEntries {
		return Descriptor{}, nil, fault.Deniedf("%s: index %s lists %d manifests, more than the %d allowed", what, d.Digest, len(m.Manifests), MaxIndexEntries)
	}
	return d, &m, nil
}

// blobRef records a config or layer blob b that manifest references, once,
// refusing a malformed descriptor or one listed with two sizes.
func (g *gatherer) blobRef(repo name.Repository, manifest string, b ociDescriptor, what string) error {
	if !isSHA256Digest(b.Digest) || b.Size < 0 {
		return fault.Deniedf("%s: manifest %s references blob %q of size %d", what, manifest, b.Digest, b.Size)
	}
	if old, ok := g.blobs[b.Digest]; ok {
		if old.size != b.Size {
			return fault.Deniedf("%s: blob %s is listed with sizes %d and %d", what, b.Digest, old.size, b.Size)
		}
		return nil
	}
	return g.add(layoutBlob{digest: b.Digest, size: b.Size, repo: repo, what: what}, what)
}

// writeThick writes the archive with bundle.WriteThick (reproducible entry
// order, zero times and owners, digest and size checked per blob); registry
// blobs are streamed through openBlob, which checks them as well.
func (s *session) writeThick(w io.Writer, content bundle.ThickContent, blobs map[string]layoutBlob, subject string) error {
	var total int64
	for _, b := range blobs {
		b := b
		total += b.size
		open := func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b.raw)), nil }
		if b.raw == nil {
			open = func() (io.ReadCloser, error) { return s.openBlob(b.repo, b.digest, b.size, b.what) }
		}
		content.Blobs = append(content.Blobs, bundle.Blob{Digest: b.digest, Size: b.size, Open: open})
	}
	if s.opts.Progress != nil {
		line := newProgressLine(s.opts.Progress, "pull "+subject)
		defer line.finish()
		w = &countingWriter{w: w, total: total, line: line}
	}
	if err := bundle.WriteThick(w, content); err != nil {
		if fault.KindOf(err) != fault.Unknown {
			return err
		}
		return fmt.Errorf("%s: write thick bundle: %w", subject, err)
	}
	return nil
}
