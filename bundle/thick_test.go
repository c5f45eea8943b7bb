package bundle

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/internal/testing/errtest"
)

func TestSignyThickVectorVerifies(t *testing.T) {
	raw := readVector(t, "cnab/signy-helloworld-0.1.1.tgz")
	th, err := ReadThick(bytes.NewReader(raw), ThickOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if th.Digest != "sha256:540cc4dc213548ebbdffb2ab0ef58729e089d1887edbcde6eeca851de624da70" || th.Size != int64(len(raw)) {
		t.Errorf("digest %s size %d", th.Digest, th.Size)
	}
	if th.Bundle.Digest != "sha256:c7e92bd51f059d60b15ad456edf194648997d739f60799b37e08edafd88a81b5" {
		t.Errorf("bundle.json digest %s", th.Bundle.Digest)
	}
	if len(th.Blobs) != 5 || th.Blobs[digestA] != 942 {
		t.Errorf("blobs = %v", th.Blobs)
	}
	if m := th.Manifests[digestA]; len(th.Manifests) != 1 || "sha256:"+sha256Hex(m) != digestA {
		t.Errorf("manifests = %d, invocation image manifest %d bytes", len(th.Manifests), len(m))
	}
	if err := th.Bundle.Validate(); err != nil {
		t.Error(err)
	}
	if len(th.Other) != 0 {
		t.Errorf("other = %v", th.Other)
	}
}

// RecompressedThickArchiveChangesDigest: a thick bundle is signed as the
// .tgz bytes; the same tar recompressed is a different artifact.
func TestRecompressedThickArchiveHasAnotherDigest(t *testing.T) {
	raw := readVector(t, "cnab/signy-helloworld-0.1.1.tgz")
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	var re bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&re, gzip.BestCompression)
	zw.Write(plain)
	zw.Close()
	recompressed := re.Bytes()
	th, err := ReadThick(&re, ThickOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if th.Digest == "sha256:540cc4dc213548ebbdffb2ab0ef58729e089d1887edbcde6eeca851de624da70" {
		t.Fatal("recompressed archive has the original digest")
	}
	if th.Digest != "sha256:"+sha256Hex(recompressed) || th.Size != int64(len(recompressed)) {
		t.Errorf("digest %s is not of the bytes read", th.Digest)
	}
}

func TestTruncatedThickArchiveIsRefused(t *testing.T) {
	raw := readVector(t, "cnab/signy-helloworld-0.1.1.tgz")
	for _, n := range []int{0, 5, 100, len(raw) / 2, len(raw) - 4} {
		_, err := ReadThick(bytes.NewReader(raw[:n]), ThickOptions{})
		want := "the archive is truncated"
		if n == 0 {
			want = "the archive is empty"
		}
		errtest.WantIs(t, err, fault.Input, ErrThickArchive, want)
	}
}

func TestCorruptGzipIsRefused(t *testing.T) {
	raw := bytes.Clone(readVector(t, "cnab/signy-helloworld-0.1.1.tgz"))
	raw[len(raw)-6] ^= 0xff // the CRC-32 in the gzip trailer
	_, err := ReadThick(bytes.NewReader(raw), ThickOptions{})
	errtest.WantIs(t, err, fault.Input, ErrThickArchive, "unreadable thick bundle archive", "invalid checksum")

	// A flipped bit inside the layer is caught by the blob's digest before
	// gzip's checksum at the end.
	raw = bytes.Clone(readVector(t, "cnab/signy-helloworld-0.1.1.tgz"))
	raw[len(raw)/2] ^= 0xff
	_, err = ReadThick(bytes.NewReader(raw), ThickOptions{})
	errtest.WantIs(t, err, fault.Denied, ErrBlobDigest, "8e3ba11ec2a2b39ab372c60c16b421536e50e5ce64a0bc81765c2e38381bcff6\" hashes to")

	_, err = ReadThick(strings.NewReader("not gzip at all"), ThickOptions{})
	errtest.WantIs(t, err, fault.Input, ErrThickArchive, "not a gzip stream")
}

func TestTrailingBytesAfterGzipAreRefused(t *testing.T) {
	raw := readVector(t, "cnab/signy-helloworld-0.1.1.tgz")
	_, err := ReadThick(bytes.NewReader(append(bytes.Clone(raw), "junk"...)), ThickOptions{})
	errtest.WantIs(t, err, fault.Input, ErrThickArchive)
}

// entry is one tar entry for hand-made archives.
type entry struct {
	hdr  tar.Header
	body []byte
}

func file(name string, body []byte) entry {
	return entry{tar.Header{Typeflag: tar.TypeReg, Name: name, Size: int64(len(body)), Mode: 0o644}, body}
}

func tgz(t testing.TB, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, e := range entries {
		h := e.hdr
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(e.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	zw.Close()
	return buf.Bytes()
}

// fixture is a valid thick bundle: one invocation image whose manifest
// references a config and a layer.
type fixture struct {
	bundle, index, manifest, config, layer []byte
	mDigest                                string
}

func blobPath(b []byte) string { return "artifacts/layout/blobs/sha256/" + sha256Hex(b) }

func newFixture(t testing.TB, layer []byte) *fixture {
	f := &fixture{config: []byte(`{"architecture":"amd64","os":"linux"}`), layer: layer}
	f.manifest = []byte(fmt.Sprintf(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%d},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%d}]}`,
		sha256Hex(f.config), len(f.config), sha256Hex(layer), len(layer)))
	f.mDigest = "sha256:" + sha256Hex(f.manifest)
	f.index = []byte(fmt.Sprintf(`{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"%s","size":%d,"annotations":{"org.opencontainers.image.ref.name":"example.com/app-installer:1.0"}}]}`, f.mDigest, len(f.manifest)))
	f.setBundle(t, fmt.Sprintf(`{"image":"example.com/app-installer:1.0","imageType":"oci","contentDigest":%q,"size":%d}`, f.mDigest, len(f.manifest)))
	return f
}

func (f *fixture) setBundle(t testing.TB, inv string) {
	b, err := Canonicalize([]byte(`{"schemaVersion":"v1.0.0","name":"app","version":"1.0.0","invocationImages":[` + inv + `]}`))
	if err != nil {
		t.Fatal(err)
	}
	f.bundle = b
}

func (f *fixture) entries() []entry {
	return []entry{
		file("bundle.json", f.bundle),
		file("artifacts/layout/oci-layout", DefaultOCILayout),
		file("artifacts/layout/index.json", f.index),
		file(blobPath(f.manifest), f.manifest),
		file(blobPath(f.config), f.config),
		file(blobPath(f.layer), f.layer),
	}
}

func (f *fixture) content() ThickContent {
	c := ThickContent{BundleJSON: f.bundle, Index: f.index}
	for _, b := range [][]byte{f.layer, f.manifest, f.config} {
		b := b
		c.Blobs = append(c.Blobs, Blob{Digest: "sha256:" + sha256Hex(b), Size: int64(len(b)),
			Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }})
	}
	return c
}

func TestHandMadeThickBundleVerifies(t *testing.T) {
	f := newFixture(t, []byte("layer bytes"))
	th, err := ReadThick(bytes.NewReader(tgz(t, f.entries()...)), ThickOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(th.Blobs) != 3 {
		t.Errorf("blobs %v", th.Blobs)
	}
}

func TestCorruptedBlobIsRefused(t *testing.T) {
	f := newFixture(t, []byte("layer bytes"))
	es := f.entries()
	es[5].body = []byte("LAYER BYTES") // same size, other content, old name
	_, err := ReadThick(bytes.NewReader(tgz(t, es...)), ThickOptions{})
	errtest.WantIs(t, err, fault.Denied, ErrBlobDigest, blobPath(f.layer)+`" hashes to sha256:`+sha256Hex([]byte("LAYER BYTES")), "corrupted or substituted blob")
}

func TestPathTraversalEntryIsRefused(t *testing.T) {
	f := newFixture(t, []byte("x"))
	for _, tc := range []struct{ name, want string }{
		{"../evil", "escapes the archive root (path traversal)"},
		{"artifacts/../../evil", "escapes the archive root"},
		{"./artifacts/layout/../../../etc/passwd", "escapes the archive root"},
		{"/etc/passwd", "is an absolute path"},
		{"artifacts//layout/x", "is not a clean path"},
		{`artifacts\..\evil`, "contains a backslash"},
	} {
		_, err := ReadThick(bytes.NewReader(tgz(t, append(f.entries(), file(tc.name, []byte("x")))...)), ThickOptions{})
		errtest.WantIs(t, err, fault.Denied, ErrUnsafeEntry, fmt.Sprintf("%q", tc.name), tc.want)
	}
}

func TestLinksAndDevicesAreRefused(t *testing.T) {
	f := newFixture(t, []byte("x"))
	for _, tc := range []struct {
		hdr  tar.Header
		want string
	}{
		{tar.Header{Typeflag: tar.TypeSymlink, Name: "artifacts/link", Linkname: "/etc/passwd"}, `"artifacts/link" is a symbolic link to "/etc/passwd"`},
		{tar.Header{Typeflag: tar.TypeLink, Name: "artifacts/hard", Linkname: "bundle.json"}, `"artifacts/hard" is a hard link to "bundle.json"`},
		{tar.Header{Typeflag: tar.TypeChar, Name: "dev", Devmajor: 1, Devminor: 3}, `"dev" has tar type "3"`},
		{tar.Header{Typeflag: tar.TypeFifo, Name: "fifo"}, `"fifo" has tar type "6"`},
	} {
		_, err := ReadThick(bytes.NewReader(tgz(t, append(f.entries(), entry{hdr: tc.hdr})...)), ThickOptions{})
		errtest.WantIs(t, err, fault.Denied, ErrUnsafeEntry, tc.want)
	}
}

func TestDuplicateBundleJSONIsRefused(t *testing.T) {
	f := newFixture(t, []byte("x"))
	other := bytes.Replace(f.bundle, []byte(`"1.0.0"`), []byte(`"6.6.6"`), 1)
	for _, name := range []string{"bundle.json", "./bundle.json"} {
		_, err := ReadThick(bytes.NewReader(tgz(t, append(f.entries(), file(name, other))...)), ThickOptions{})
		errtest.WantIs(t, err, fault.Denied, ErrUnsafeEntry, fmt.Sprintf("%q appears twice in the archive", name))
	}
}

func TestEntryDuplicatedUpToCaseIsRefused(t *testing.T) {
	f := newFixture(t, []byte("x"))
	_, err := ReadThick(bytes.NewReader(tgz(t, append(f.entries(), file("BUNDLE.JSON", []byte("{}")))...)), ThickOptions{})
	errtest.WantIs(t, err, fault.Denied, ErrUnsafeEntry, `"BUNDLE.JSON" appears twice in the archive, up to letter case`)
}

func TestOversizedEntriesAreRefused(t *testing.T) {
	f := newFixture(t, bytes.Repeat([]byte("L"), 5000))
	_, err := ReadThick(bytes.NewReader(tgz(t, f.entries()...)), ThickOptions{MaxEntrySize: 4096})
	errtest.WantIs(t, err, fault.Denied, ErrTooLarge, blobPath(f.layer)+`" is 5000 bytes, more than the 4096 allowed per entry`)

	_, err = ReadThick(bytes.NewReader(tgz(t, f.entries()...)), ThickOptions{MaxTotalSize: 5100})
	errtest.WantIs(t, err, fault.Denied, ErrTooLarge, "add up to more than the 5100 bytes allowed")

	_, err = ReadThick(bytes.NewReader(tgz(t, f.entries()...)), ThickOptions{MaxBundleSize: 100})
	errtest.WantIs(t, err, fault.Denied, ErrTooLarge, `"bundle.json" is`, "more than the 100 allowed")

	_, err = ReadThick(bytes.NewReader(tgz(t, f.entries()...)), ThickOptions{MaxEntries: 3})
	errtest.WantIs(t, err, fault.Denied, ErrTooLarge, "more than 3 entries")
}

func TestImageAbsentFromLayoutIsRefused(t *testing.T) {
	f := newFixture(t, []byte("x"))
	es := f.entries()
	es = append(es[:3], es[4:]...) // drop the manifest blob
	f.index = []byte(`{"schemaVersion":2,"manifests":[]}`)
	es[2] = file("artifacts/layout/index.json", f.index)
	_, err := ReadThick(bytes.NewReader(tgz(t, es...)), ThickOptions{})
	errtest.WantIs(t, err, fault.Denied, ErrNotInLayout, `invocation image 0 (example.com/app-installer:1.0): contentDigest `+f.mDigest+` is not in the archive's OCI layout`)
}

// A ref.name annotation naming the image does not stand in for its digest.
func TestImageFoundOnlyByRefNameIsRefused(t *testing.T) {
	f := newFixture(t, []byte("x"))
	other := "sha256:" + strings.Repeat("0", 64)
	f.setBundle(t, fmt.Sprintf(`{"image":"example.com/app-installer:1.0","imageType":"oci","contentDigest":%q}`, other))
	_, err := ReadThick(bytes.NewReader(tgz(t, f.entries()...)), ThickOptions{})
	errtest.WantIs(t, err, fault.Denied, ErrNotInLayout, "contentDigest "+other+" is not in the archive's OCI layout")
}

func TestImageSizeMismatchIsRefused(t *testing.T) {
	f := newFixture(t, []byte("x"))
	f.setBundle(t, fmt.Sprintf(`{"image":"example.com/app-installer:1.0","imageType":"oci","contentDigest":%q,"size":%d}`, f.mDigest, len(f.manifest)+1))
	_, err := ReadThick(bytes.NewReader(tgz(t, f.entries()...)), ThickOptions{})
	errtest.WantIs(t, err, fault.Denied, ErrSizeMismatch, fmt.Sprintf("the bundle states size %d but the layout's manifest %s is %d bytes", len(f.manifest)+1, f.mDigest, len(f.manifest)))
}

func TestLayerMissingFromLayoutIsRefused(t *testing.T) {
	f := newFixture(t, []byte("layer"))
	es := f.entries()
	_, err := ReadThick(bytes.NewReader(tgz(t, es[:5]...)), ThickOptions{})
	errtest.WantIs(t, err, fault.Denied, ErrNotInLayout, "manifest "+f.mDigest+" references sha256:"+sha256Hex(f.layer)+", which is not in the archive's OCI layout")
}

func TestIndexListingAMissingBlobIsRefused(t *testing.T) {
	f := newFixture(t, []byte("x"))
	es := f.entries()
	missing := "sha256:" + strings.Repeat("1", 64)
	es[2] = file("artifacts/layout/index.json", []byte(`{"schemaVersion":2,"manifests":[{"digest":"`+missing+`","size":3}]}`))
	_, err := ReadThick(bytes.NewReader(tgz(t, es...)), ThickOptions{})
	errtest.WantIs(t, err, fault.Denied, ErrNotInLayout, "artifacts/layout/index.json lists "+missing)
}

func TestThickArchiveWithoutBundleJSONIsRefused(t *testing.T) {
	f := newFixture(t, []byte("x"))
	_, err := ReadThick(bytes.NewReader(tgz(t, f.entries()[1:]...)), ThickOptions{})
	errtest.WantIs(t, err, fault.Input, ErrThickArchive, "no bundle.json at the archive root")
}

func TestBlobWithBadNameIsRefused(t *testing.T) {
	f := newFixture(t, []byte("x"))
	_, err := ReadThick(bytes.NewReader(tgz(t, append(f.entries(), file("artifacts/layout/blobs/md5/abc", []byte("x")))...)), ThickOptions{})
	errtest.WantIs(t, err, fault.Denied, ErrUnsafeEntry, `"artifacts/layout/blobs/md5/abc" is not a blob path`)
}

func TestWriteThickIsReproducibleAndReadable(t *testing.T) {
	f := newFixture(t, bytes.Repeat([]byte("layer"), 1000))
	var a, b bytes.Buffer
	if err := WriteThick(&a, f.content()); err != nil {
		t.Fatal(err)
	}
	c := f.content()
	c.Blobs = append(c.Blobs, c.Blobs[0]) // listed twice, written once; order differs
	c.Blobs[0], c.Blobs[2] = c.Blobs[2], c.Blobs[0]
	if err := WriteThick(&b, c); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("two writes of the same content differ")
	}
	th, err := ReadThick(bytes.NewReader(a.Bytes()), ThickOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if th.Digest != "sha256:"+sha256Hex(a.Bytes()) || !bytes.Equal(th.Bundle.Raw, f.bundle) || len(th.Blobs) != 3 {
		t.Errorf("read back: %s %d blobs", th.Digest, len(th.Blobs))
	}
	// Header fields that would make the archive depend on who wrote it when.
	// ID1 ID2 CM FLG MTIME×4 XFL OS: no name or comment flag, mtime 0, OS unknown.
	if hdr := a.Bytes()[:10]; !bytes.Equal(hdr[3:8], []byte{0, 0, 0, 0, 0}) || hdr[9] != 0xff {
		t.Errorf("gzip header % x: want no flags, mtime 0, OS 255", hdr)
	}
	zr, _ := gzip.NewReader(bytes.NewReader(a.Bytes()))
	if zr.Name != "" || !zr.ModTime.IsZero() {
		t.Errorf("gzip header name %q time %v", zr.Name, zr.ModTime)
	}
	tr := tar.NewReader(zr)
	var names []string
	for {
		h, err := tr.Next()
		if err != nil {
			break
		}
		if h.ModTime.Unix() != 0 || h.Uid != 0 || h.Gid != 0 || h.Uname != "" || h.Gname != "" {
			t.Errorf("%s: mtime %v uid %d gid %d %q %q", h.Name, h.ModTime, h.Uid, h.Gid, h.Uname, h.Gname)
		}
		names = append(names, h.Name)
	}
	if names[0] != "bundle.json" {
		t.Errorf("first entry %q, want bundle.json", names[0])
	}
}

func TestWriteThickRefusesABlobThatDoesNotMatchItsDigest(t *testing.T) {
	f := newFixture(t, []byte("layer"))
	c := f.content()
	for i := range c.Blobs {
		if c.Blobs[i].Digest == "sha256:"+sha256Hex(f.layer) {
			c.Blobs[i].Open = func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader("LAYER")), nil }
		}
	}
	errtest.WantIs(t, WriteThick(io.Discard, c), fault.Denied, ErrBlobDigest, "blob sha256:"+sha256Hex(f.layer)+" hashes to sha256:"+sha256Hex([]byte("LAYER")))

	c = f.content()
	for i := range c.Blobs {
		if c.Blobs[i].Digest == "sha256:"+sha256Hex(f.layer) {
			c.Blobs[i].Open = func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader("layer+more")), nil }
		}
	}
	errtest.WantIs(t, WriteThick(io.Discard, c), fault.Denied, ErrSizeMismatch, "is not 5 bytes long")
}

func TestWriteThickFromLayoutDirectoryRoundTripsTheVector(t *testing.T) {
	dir := t.TempDir()
	raw := readVector(t, "cnab/signy-helloworld-0.1.1.tgz")
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	var bundleJSON []byte
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, filepath.FromSlash(h.Name))
		if h.Typeflag == tar.TypeDir {
			os.MkdirAll(p, 0o755)
			continue
		}
		b, _ := io.ReadAll(tr)
		if strings.HasSuffix(h.Name, "bundle.json") {
			bundleJSON = b
			continue
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	c, err := LayoutContent(bundleJSON, filepath.Join(dir, "artifacts", "layout"))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := WriteThick(&out, c); err != nil {
		t.Fatal(err)
	}
	th, err := ReadThick(&out, ThickOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(th.Blobs) != 5 || th.Bundle.Digest != "sha256:c7e92bd51f059d60b15ad456edf194648997d739f60799b37e08edafd88a81b5" {
		t.Errorf("round trip: %d blobs, bundle %s", len(th.Blobs), th.Bundle.Digest)
	}
}

type failingReader struct {
	r    io.Reader
	left int
	err  error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if f.left <= 0 {
		return 0, f.err
	}
	if len(p) > f.left {
		p = p[:f.left]
	}
	n, err := f.r.Read(p)
	f.left -= n
	return n, err
}

// A stream that breaks off (a registry connection reset) is inconclusive,
// not a bad archive; an error that already has a kind keeps it.
func TestThickArchiveSourceErrorIsNotBlamedOnTheArchive(t *testing.T) {
	raw := readVector(t, "cnab/signy-helloworld-0.1.1.tgz")
	_, err := ReadThick(&failingReader{bytes.NewReader(raw), 100000, errors.New("connection reset by peer")}, ThickOptions{})
	errtest.WantIs(t, err, fault.Inconclusive, nil, "reading the thick bundle archive after 100000 bytes: connection reset by peer")

	denied := fault.Deniedf("blob sha256:x: digest mismatch")
	_, err = ReadThick(&failingReader{bytes.NewReader(raw), 100000, denied}, ThickOptions{})
	errtest.WantIs(t, err, fault.Denied, denied, "digest mismatch")
}

// endlessReader yields the archive, then zeros forever.
type endlessReader struct{ r io.Reader }

func (e *endlessReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err == io.EOF {
		clear(p)
		return len(p), nil
	}
	return n, err
}

func TestEndlessThickArchiveIsCutAtTheSignedLength(t *testing.T) {
	raw := readVector(t, "cnab/signy-helloworld-0.1.1.tgz")
	_, err := ReadThick(&endlessReader{bytes.NewReader(raw)}, ThickOptions{ExpectedSize: int64(len(raw))})
	errtest.WantIs(t, err, fault.Denied, ErrArchiveMismatch, fmt.Sprintf("the archive is longer than the %d bytes expected", len(raw)))

	_, err = ReadThick(bytes.NewReader(raw[:len(raw)-10]), ThickOptions{ExpectedSize: int64(len(raw))})
	errtest.WantIs(t, err, fault.Denied, ErrArchiveMismatch, fmt.Sprintf("the archive is shorter than the %d bytes expected", len(raw)))

	th, err := ReadThick(bytes.NewReader(raw), ThickOptions{ExpectedSize: int64(len(raw)),
		ExpectedDigest: "sha256:540cc4dc213548ebbdffb2ab0ef58729e089d1887edbcde6eeca851de624da70"})
	if err != nil || th.Size != int64(len(raw)) {
		t.Fatalf("the signed archive: %v", err)
	}
}

func TestThickArchiveNotMatchingTheSignedDigestIsRefused(t *testing.T) {
	f := newFixture(t, []byte("x"))
	a := tgz(t, f.entries()...)
	want := "sha256:540cc4dc213548ebbdffb2ab0ef58729e089d1887edbcde6eeca851de624da70"
	_, err := ReadThick(bytes.NewReader(a), ThickOptions{ExpectedDigest: want})
	errtest.WantIs(t, err, fault.Denied, ErrArchiveMismatch, "the archive's digest is sha256:"+sha256Hex(a)+", expected "+want)
}

func TestDigestReaderMatchesTheVectorDigest(t *testing.T) {
	raw := readVector(t, "cnab/signy-helloworld-0.1.1.tgz")
	d, n, err := DigestReader(bytes.NewReader(raw))
	if err != nil || d != "sha256:540cc4dc213548ebbdffb2ab0ef58729e089d1887edbcde6eeca851de624da70" || n != int64(len(raw)) {
		t.Fatalf("DigestReader = %s %d %v", d, n, err)
	}
	_, _, err = DigestReader(&failingReader{bytes.NewReader(raw), 10, errors.New("input/output error")})
	errtest.WantIs(t, err, fault.Input, nil, "reading the archive: input/output error")
}

// indexFixture: the invocation image is a multi-platform index whose two
// children are image manifests (one with a foreign layer).
func indexFixture(t *testing.T) (entries []entry, child2 []byte, idxDigest string) {
	f := newFixture(t, []byte("layer-amd64"))
	foreign := fmt.Sprintf(`{"mediaType":"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip","digest":"sha256:%s","size":1000}`, strings.Repeat("f", 64))
	child2 = []byte(fmt.Sprintf(`{"schemaVersion":2,"config":{"digest":"sha256:%s","size":%d},"layers":[%s]}`, sha256Hex(f.config), len(f.config), foreign))
	index := []byte(fmt.Sprintf(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"digest":"%s","size":%d},{"digest":"sha256:%s","size":%d}]}`,
		f.mDigest, len(f.manifest), sha256Hex(child2), len(child2)))
	idxDigest = "sha256:" + sha256Hex(index)
	f.index = []byte(fmt.Sprintf(`{"schemaVersion":2,"manifests":[{"digest":"%s","size":%d}]}`, idxDigest, len(index)))
	f.setBundle(t, fmt.Sprintf(`{"image":"example.com/app-installer:1.0","contentDigest":%q,"size":%d}`, idxDigest, len(index)))
	return append(f.entries(), file(blobPath(index), index), file(blobPath(child2), child2)), child2, idxDigest
}

func TestMultiPlatformImageIsCheckedDownToEveryLayer(t *testing.T) {
	es, _, idx := indexFixture(t)
	th, err := ReadThick(bytes.NewReader(tgz(t, es...)), ThickOptions{})
	if err != nil {
		t.Fatal(err) // the foreign layer may be absent
	}
	if len(th.Manifests) != 3 || th.Manifests[idx] == nil {
		t.Errorf("manifests: %d", len(th.Manifests))
	}
}

func TestIndexChildManifestMissingFromLayoutIsRefused(t *testing.T) {
	es, child2, idx := indexFixture(t)
	es = es[:len(es)-1] // drop child2
	_, err := ReadThick(bytes.NewReader(tgz(t, es...)), ThickOptions{})
	errtest.WantIs(t, err, fault.Denied, ErrNotInLayout, "index "+idx+" references sha256:"+sha256Hex(child2)+", which is not in the archive's OCI layout")
}

func TestOtherFilesAreListed(t *testing.T) {
	f := newFixture(t, []byte("x"))
	th, err := ReadThick(bytes.NewReader(tgz(t, append(f.entries(), file("README.md", []byte("hi")), file("artifacts/notes.txt", nil))...)), ThickOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(th.Other, ",") != "README.md,artifacts/notes.txt" {
		t.Errorf("other = %v", th.Other)
	}
}

func TestGzipBombIsStoppedByTheRatioCap(t *testing.T) {
	defer func(f int64) { ratioFloor = f }(ratioFloor)
	ratioFloor = 1 << 20
	f := newFixture(t, make([]byte, 16<<20)) // 16 MiB of zeros compress ~1000:1
	_, err := ReadThick(bytes.NewReader(tgz(t, f.entries()...)), ThickOptions{})
	errtest.WantIs(t, err, fault.Denied, ErrTooLarge, "more than 100 times as many (a decompression bomb?)")

	if _, err := ReadThick(bytes.NewReader(tgz(t, f.entries()...)), ThickOptions{MaxRatio: -1}); err != nil {
		t.Errorf("with the ratio cap off: %v", err)
	}
}
