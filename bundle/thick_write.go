package bundle

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/cnabsec/cnabsec/internal/fault"
)

// DefaultOCILayout is the oci-layout file WriteThick writes when none is given.
var DefaultOCILayout = []byte(`{"imageLayoutVersion":"1.0.0"}`)

// Blob is one blob to write into a thick bundle's layout.
type Blob struct {
	// Digest is "sha256:<hex>" (or "sha512:<hex>").
	Digest string
	// Size is the blob's length in bytes.
	Size int64
	// Open returns the blob's content; WriteThick reads it once, checks its
	// digest and size while writing, and closes it.
	Open func() (io.ReadCloser, error)
}

// ThickContent is what WriteThick puts into a thick bundle.
type ThickContent struct {
	// BundleJSON is written as bundle.json byte for byte.
	BundleJSON []byte
	// Index is artifacts/layout/index.json (the OCI index of the images).
	Index []byte
	// OCILayout is artifacts/layout/oci-layout; nil writes DefaultOCILayout.
	OCILayout []byte
	// Blobs are written under artifacts/layout/blobs/<alg>/<hex>, sorted by
	// digest; a digest listed twice is written once.
	Blobs []Blob
	// Relocation says where each image of the bundle was when archived
	// (original reference → REPOSITORY@contentDigest), written as
	// relocation-mapping.json. Nil relocates each image to its own
	// repository (its reference without tag or digest) at its contentDigest.
	Relocation RelocationMapping
}

// WriteThick writes a thick bundle (CNAB 104) to w, reproducibly: the same
// content gives the same bytes (fixed entry order, mtime 0, uid/gid 0, no
// user or group names, fixed modes, a gzip header without name or time, and
// klauspost/compress gzip at BestSpeed, so the bytes are reproducible for a
// given version of that module, which go.mod pins). Layers are already
// compressed: at BestSpeed klauspost stores incompressible data at ~3 GB/s
// where compress/gzip manages ~0.18 GB/s, for the same output size.
// The layout is the one porter archive writes, so porter publish --archive
// takes the archive: relocation-mapping.json (c.Relocation, checked as
// ReadThick checks it: every image, each at REPOSITORY@contentDigest) and
// index.json with each image's entry named (org.opencontainers.image.ref.name)
// by its relocated reference, the name Porter's publish looks it up by;
// entry names carry no "./" prefix (Porter's extraction cleans names).
// Entry order: bundle.json, relocation-mapping.json, oci-layout, index.json,
// then the blobs, so a streaming reader sees the bundle first. Each blob is verified against its
// digest and size while it is copied; a mismatch aborts with ErrBlobDigest
// (Denied) or ErrSizeMismatch, and what was written so far must be discarded.
func WriteThick(w io.Writer, c ThickContent) error {
	blobs, err := sortedBlobs(c.Blobs)
	if err != nil {
		return err
	}
	if c.Index == nil {
		return fault.Inputf("thick bundle: no OCI index (artifacts/layout/index.json) given")
	}
	porter, err := porterParts(c)
	if err != nil {
		return err
	}
	c.Index = porter.index
	zw, err := gzip.NewWriterLevel(w, gzip.BestSpeed)
	if err != nil {
		return err
	}
	// klauspost writes uint32(ModTime.Unix()) even for the zero time.
	zw.Header = gzip.Header{ModTime: time.Unix(0, 0), OS: 255}
	tw := &thickWriter{tw: tar.NewWriter(zw), buf: make([]byte, chunkSize)}
	if err := tw.head(c, porter.mapping); err != nil {
		return err
	}
	if err := tw.blobs(blobs); err != nil {
		return err
	}
	if err := tw.tw.Close(); err != nil {
		return err
	}
	return zw.Close()
}

// sortedBlobs orders blobs by digest, refusing one digest with two sizes.
func sortedBlobs(in []Blob) ([]Blob, error) {
	blobs := append([]Blob(nil), in...)
	sort.Slice(blobs, func(i, j int) bool { return blobs[i].Digest < blobs[j].Digest })
	for i := 1; i < len(blobs); i++ {
		if blobs[i].Digest == blobs[i-1].Digest && blobs[i].Size != blobs[i-1].Size {
			return nil, fault.Inputf("%w: blob %s is listed with sizes %d and %d", ErrSizeMismatch, blobs[i].Digest, blobs[i-1].Size, blobs[i].Size)
		}
	}
	return blobs, nil
}

// thickWriter writes the archive's entries, reproducibly (fixed times,
// modes and PAX headers).
type thickWriter struct {
	tw  *tar.Writer
	buf []byte
}

var thickEpoch = time.Unix(0, 0)

func (t *thickWriter) dir(name string) error {
	return t.tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: 0o755, ModTime: thickEpoch, Format: tar.FormatPAX})
}

func (t *thickWriter) file(name string, size int64, r io.Reader) (int64, error) {
	if err := t.tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Size: size, Mode: 0o644, ModTime: thickEpoch, Format: tar.FormatPAX}); err != nil {
		return 0, err
	}
	return io.CopyBuffer(t.tw, io.LimitReader(r, size+1), t.buf)
}

func (t *thickWriter) small(name string, b []byte) error {
	_, err := t.file(name, int64(len(b)), bytes.NewReader(b))
	return err
}

// head writes bundle.json first (a streaming reader sees it first), the
// relocation mapping, then the layout's directories, oci-layout and
// index.json.
func (t *thickWriter) head(c ThickContent, mapping []byte) error {
	layout := c.OCILayout
	if layout == nil {
		layout = DefaultOCILayout
	}
	if err := t.small(ThickBundlePath, c.BundleJSON); err != nil {
		return err
	}
	if err := t.small(ThickRelocationMappingPath, mapping); err != nil {
		return err
	}
	for _, d := range []string{"artifacts", ThickLayoutDir} {
		if err := t.dir(d); err != nil {
			return err
		}
	}
	if err := t.small(ThickOCILayoutPath, layout); err != nil {
		return err
	}
	if err := t.small(ThickIndexPath, c.Index); err != nil {
		return err
	}
	return t.dir(ThickBlobsDir)
}

// blobs writes each distinct blob under blobs/<alg>/<hex>, with a directory
// entry before the first blob of each algorithm.
func (t *thickWriter) blobs(blobs []Blob) error {
	lastAlg, last := "", ""
	for _, b := range blobs {
		if b.Digest == last {
			continue
		}
		last = b.Digest
		alg, hexd, h, err := blobHash(b.Digest)
		if err != nil {
			return err
		}
		if alg != lastAlg {
			if err := t.dir(ThickBlobsDir + "/" + alg); err != nil {
				return err
			}
			lastAlg = alg
		}
		if err := t.blob(b, alg, hexd, h); err != nil {
			return err
		}
	}
	return nil
}

// blobHash parses a blob digest and returns the hash to check it with.
func blobHash(digest string) (string, string, hash.Hash, error) {
	alg, hexd, _ := strings.Cut(digest, ":")
	switch {
	case alg == "sha256" && isHex(hexd, 64):
		return alg, hexd, sha256.New(), nil
	case alg == "sha512" && isHex(hexd, 128):
		return alg, hexd, sha512.New(), nil
	}
	return "", "", nil, fault.Inputf("thick bundle: blob digest %q is not sha256:<64 hex> or sha512:<128 hex>", digest)
}

// blob copies one blob, verifying its size and digest while it is copied.
func (t *thickWriter) blob(b Blob, alg, hexd string, h hash.Hash) error {
	rc, err := b.Open()
	if err != nil {
		return fmt.Errorf("thick bundle: opening blob %s: %w", b.Digest, err)
	}
	n, err := t.file(ThickBlobsDir+"/"+alg+"/"+hexd, b.Size, io.TeeReader(rc, h))
	rc.Close()
	if err == tar.ErrWriteTooLong || (err == nil && n != b.Size) {
		return fault.Deniedf("%w: blob %s is not %d bytes long", ErrSizeMismatch, b.Digest, b.Size)
	}
	if err != nil {
		return fmt.Errorf("thick bundle: writing blob %s: %w", b.Digest, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != hexd {
		return fault.Deniedf("%w: blob %s hashes to %s:%s", ErrBlobDigest, b.Digest, alg, got)
	}
	return nil
}

// LayoutContent reads an OCI image layout directory (oci-layout, index.json,
// blobs/<alg>/<hex>) into a ThickContent for WriteThick; blobs are opened
// lazily. Problems are Input errors naming the path.
func LayoutContent(bundleJSON []byte, layoutDir string) (ThickContent, error) {
	c := ThickContent{BundleJSON: bundleJSON}
	var err error
	if c.Index, err = os.ReadFile(filepath.Join(layoutDir, "index.json")); err != nil {
		return c, fault.Inputf("OCI layout %s: %v", layoutDir, err)
	}
	if c.OCILayout, err = os.ReadFile(filepath.Join(layoutDir, "oci-layout")); err != nil {
		return c, fault.Inputf("OCI layout %s: %v", layoutDir, err)
	}
	algs, err := os.ReadDir(filepath.Join(layoutDir, "blobs"))
	if err != nil {
		return c, fault.Inputf("OCI layout %s: %v", layoutDir, err)
	}
	for _, a := range algs {
		if !a.IsDir() {
			return c, fault.Inputf("OCI layout %s: blobs/%s is not a directory", layoutDir, a.Name())
		}
		files, err := os.ReadDir(filepath.Join(layoutDir, "blobs", a.Name()))
		if err != nil {
			return c, fault.Inputf("OCI layout %s: %v", layoutDir, err)
		}
		for _, f := range files {
			p := filepath.Join(layoutDir, "blobs", a.Name(), f.Name())
			if !f.Type().IsRegular() {
				return c, fault.Inputf("OCI layout %s: %s is not a regular file", layoutDir, p)
			}
			info, err := f.Info()
			if err != nil {
				return c, fault.Inputf("OCI layout %s: %v", layoutDir, err)
			}
			c.Blobs = append(c.Blobs, Blob{
				Digest: a.Name() + ":" + f.Name(),
				Size:   info.Size(),
				Open:   func() (io.ReadCloser, error) { return os.Open(p) },
			})
		}
	}
	return c, nil
}
