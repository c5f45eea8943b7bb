package oci

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/cnabsec/cnabsec/internal/fault"
)

// Thick bundle layout (CNAB 104): bundle.json at the root and every image in
// an OCI image layout under artifacts/layout.
const (
	ThickBundleJSON = "bundle.json"
	ThickLayoutDir  = "artifacts/layout"
)

// maxManifestDepth bounds index → manifest nesting while gathering blobs.
const maxManifestDepth = 3

// layoutBlob is one blob of the image layout: either bytes in hand
// (manifests, small configs) or a registry blob streamed when written.
type layoutBlob struct {
	digest string
	size   int64
	raw    []byte // nil: stream from repo
	repo   name.Repository
	what   string
}

// PullThick writes the thin bundle ref names, with every image it references,
// as a thick bundle to w: a gzip-compressed tar holding bundle.json (the raw
// config blob) and artifacts/layout, an OCI image layout whose index.json
// lists each image's manifest by its contentDigest, annotated
// org.opencontainers.image.ref.name with the image as bundle.json names it.
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
	blobs := map[string]layoutBlob{}
	var entries []ociDescriptor
	for _, im := range imgs {
		what := fmt.Sprintf("%s: %s %s (%s@%s)", subject, im.Kind, im.Name, repo.Name(), im.ContentDigest)
		d, err := s.gatherManifest(repo, im.ContentDigest, what, blobs, 0)
		if err != nil {
			return err
		}
		entries = append(entries, ociDescriptor{MediaType: d.MediaType, Digest: d.Digest, Size: d.Size,
			Annotations: map[string]string{AnnotationRefName: im.Image}})
	}
	layoutIndex, err := json.MarshalIndent(ociIndex{SchemaVersion: 2, MediaType: MediaTypeOCIIndex, Manifests: entries}, "", "  ")
	if err != nil {
		return err
	}
	return s.writeThick(w, raw, layoutIndex, blobs, subject)
}

// gatherManifest records the manifest repo@digest and everything it
// references (child manifests, configs, layers) in blobs.
func (s *session) gatherManifest(repo name.Repository, digest, what string, blobs map[string]layoutBlob, depth int) (Descriptor, error) {
	if depth > maxManifestDepth {
		return Descriptor{}, fault.Deniedf("%s: manifests nested deeper than %d levels", what, maxManifestDepth)
	}
	ref, err := repoDigest(repo, digest)
	if err != nil {
		return Descriptor{}, err
	}
	d, err := s.fetchManifest(ref, what)
	if err != nil {
		return Descriptor{}, err
	}
	blobs[d.Digest] = layoutBlob{digest: d.Digest, size: d.Size, raw: d.RawManifest}
	var m struct {
		Manifests []ociDescriptor `json:"manifests"`
		Config    *ociDescriptor  `json:"config"`
		Layers    []ociDescriptor `json:"layers"`
	}
	if err := json.Unmarshal(d.RawManifest, &m); err != nil {
		return Descriptor{}, fault.Deniedf("%s: manifest %s: %w", what, d.Digest, err)
	}
	for _, c := range m.Manifests {
		if _, err := s.gatherManifest(repo, c.Digest, what, blobs, depth+1); err != nil {
			return Descriptor{}, err
		}
	}
	refs := m.Layers
	if m.Config != nil {
		refs = append([]ociDescriptor{*m.Config}, refs...)
	}
	for _, b := range refs {
		if !isSHA256Digest(b.Digest) || b.Size < 0 {
			return Descriptor{}, fault.Deniedf("%s: manifest %s references blob %q of size %d", what, d.Digest, b.Digest, b.Size)
		}
		if old, ok := blobs[b.Digest]; ok && old.size != b.Size {
			return Descriptor{}, fault.Deniedf("%s: blob %s is listed with sizes %d and %d", what, b.Digest, old.size, b.Size)
		}
		if _, ok := blobs[b.Digest]; !ok {
			blobs[b.Digest] = layoutBlob{digest: b.Digest, size: b.Size, repo: repo, what: what}
		}
	}
	return d, nil
}

var epoch = time.Unix(0, 0).UTC()

func (s *session) writeThick(w io.Writer, bundleJSON, layoutIndex []byte, blobs map[string]layoutBlob, subject string) error {
	var total int64
	digests := make([]string, 0, len(blobs))
	for d, b := range blobs {
		digests = append(digests, d)
		total += b.size
	}
	sort.Strings(digests)
	var line *progressLine
	if s.opts.Progress != nil {
		line = newProgressLine(s.opts.Progress, "pull "+subject)
		defer line.finish()
	}
	cw := &countingWriter{w: w, total: total, line: line}
	zw, err := gzip.NewWriterLevel(cw, gzip.DefaultCompression)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(zw)
	dir := func(name string) error {
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name, Mode: 0o755, ModTime: epoch, Format: tar.FormatUSTAR})
	}
	file := func(name string, size int64, r io.Reader) error {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: size, ModTime: epoch, Format: tar.FormatUSTAR}); err != nil {
			return err
		}
		n, err := io.Copy(tw, r)
		if err != nil {
			return err
		}
		if n != size {
			return fault.Deniedf("%s: %s: got %d bytes, expected %d", subject, name, n, size)
		}
		return nil
	}
	layout := []byte(`{"imageLayoutVersion":"1.0.0"}`)
	steps := []func() error{
		func() error { return file(ThickBundleJSON, int64(len(bundleJSON)), bytes.NewReader(bundleJSON)) },
		func() error { return dir("artifacts/") },
		func() error { return dir(ThickLayoutDir + "/") },
		func() error { return file(ThickLayoutDir+"/oci-layout", int64(len(layout)), bytes.NewReader(layout)) },
		func() error {
			return file(ThickLayoutDir+"/index.json", int64(len(layoutIndex)), bytes.NewReader(layoutIndex))
		},
		func() error { return dir(ThickLayoutDir + "/blobs/") },
		func() error { return dir(ThickLayoutDir + "/blobs/sha256/") },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return fmt.Errorf("%s: write thick bundle: %w", subject, err)
		}
	}
	for _, d := range digests {
		b := blobs[d]
		name := ThickLayoutDir + "/blobs/sha256/" + d[len("sha256:"):]
		var r io.ReadCloser
		if b.raw != nil {
			r = io.NopCloser(bytes.NewReader(b.raw))
		} else {
			r, err = s.openBlob(b.repo, b.digest, b.size, b.what)
			if err != nil {
				return err
			}
		}
		err := file(name, b.size, r)
		r.Close()
		if err != nil {
			return fault.Wrap(fault.Inconclusive, fmt.Errorf("%s: write blob %s: %w", subject, d, err))
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("%s: write thick bundle: %w", subject, err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("%s: write thick bundle: %w", subject, err)
	}
	return nil
}
