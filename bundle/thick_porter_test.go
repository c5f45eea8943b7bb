package bundle

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/internal/testing/errtest"
)

// porterArchive is f in the layout porter archive writes: a gzip tar whose
// entries are named "./PATH" (directories too, with a trailing slash, mode
// 0755; files 0644; every time the Unix epoch), in the order of a walk of
// the archive directory: artifacts/layout (oci-layout, index.json, blobs),
// then bundle.json and relocation-mapping.json. The layout's index names
// each image by the reference the mapping relocates it to.
func porterArchive(t *testing.T, f *fixture, mapping string) []byte {
	t.Helper()
	dir := func(name string) entry {
		return entry{tar.Header{Typeflag: tar.TypeDir, Name: name, Mode: 0o755, ModTime: time.Unix(0, 0)}, nil}
	}
	put := func(name string, body []byte) entry {
		e := file("./"+name, body)
		e.hdr.ModTime = time.Unix(0, 0)
		return e
	}
	entries := []entry{dir("./"), dir("./artifacts/"), dir("./artifacts/layout/"), dir("./artifacts/layout/blobs/"), dir("./artifacts/layout/blobs/sha256/")}
	for _, b := range [][]byte{f.config, f.layer, f.manifest} {
		entries = append(entries, put(blobPath(b), b))
	}
	entries = append(entries,
		put("artifacts/layout/index.json", f.index),
		put("artifacts/layout/oci-layout", DefaultOCILayout),
		put("bundle.json", f.bundle),
		put("relocation-mapping.json", []byte(mapping)))
	return tgz(t, entries...)
}

// porterFixture is a thick bundle whose installer was archived from
// registry.example/org/app@DIGEST, as porter archive writes it.
func porterFixture(t *testing.T) (*fixture, string) {
	f := newFixture(t, []byte("layer bytes"))
	relocated := "registry.example/org/app@" + f.mDigest
	f.index = []byte(fmt.Sprintf(`{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"%s","size":%d,"annotations":{"org.opencontainers.image.ref.name":%q}}]}`,
		f.mDigest, len(f.manifest), relocated))
	return f, relocated
}

func TestPorterArchiveIsReadWithItsRelocationMapping(t *testing.T) {
	f, relocated := porterFixture(t)
	th, err := ReadThick(bytes.NewReader(porterArchive(t, f, `{"example.com/app-installer:1.0":"`+relocated+`"}`)), ThickOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := th.RelocationMapping["example.com/app-installer:1.0"]; got != relocated || len(th.RelocationMapping) != 1 {
		t.Errorf("relocation mapping %v, want the installer at %s", th.RelocationMapping, relocated)
	}
	if len(th.Other) != 0 || len(th.Blobs) != 3 {
		t.Errorf("other files %v, blobs %v", th.Other, th.Blobs)
	}
}

// A mapping that sends the installer to another manifest would have Porter's
// publish push that manifest (it finds images by their relocated name).
func TestPorterArchiveRelocatingAnImageToAnotherDigestIsDenied(t *testing.T) {
	f, _ := porterFixture(t)
	other := "registry.example/org/app@sha256:" + strings.Repeat("0", 64)
	_, err := ReadThick(bytes.NewReader(porterArchive(t, f, `{"example.com/app-installer:1.0":"`+other+`"}`)), ThickOptions{})
	errtest.WantIs(t, err, fault.Denied, ErrRelocation, "relocation-mapping.json: ", "is relocated to "+other+", whose digest is not the bundle's contentDigest "+f.mDigest)
}

func TestPorterArchiveMappingMissingAnImageOrRelocatingToATagIsDenied(t *testing.T) {
	f, _ := porterFixture(t)
	for mapping, want := range map[string]string{
		`{}`: "example.com/app-installer:1.0) is missing from the mapping",
		`{"example.com/app-installer:1.0":"registry.example/org/app:1.0"}`:                                         "a tag: relocated references must be pinned by digest",
		`{"example.com/app-installer:1.0":"registry.example/org/app@` + f.mDigest + `","other.example/x:1":"y@z"}`: "other.example/x:1 is not an image of the bundle",
	} {
		_, err := ReadThick(bytes.NewReader(porterArchive(t, f, mapping)), ThickOptions{})
		errtest.WantIs(t, err, fault.Denied, ErrRelocation, want)
	}
}

func TestPorterArchiveWithAMalformedMappingIsBadInput(t *testing.T) {
	f, _ := porterFixture(t)
	_, err := ReadThick(bytes.NewReader(porterArchive(t, f, `null`)), ThickOptions{})
	errtest.Want(t, err, fault.Input, "thick bundle relocation-mapping.json: relocation mapping: want a JSON object")
}

// An index entry named REPOSITORY@DIGEST that is another manifest: a runtime
// looking images up by name (Porter) would take it instead of DIGEST.
func TestLayoutEntryNamedForAnotherDigestIsDenied(t *testing.T) {
	f, _ := porterFixture(t)
	forged := "registry.example/org/app@sha256:" + strings.Repeat("1", 64)
	f.index = []byte(fmt.Sprintf(`{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"%s","size":%d,"annotations":{"org.opencontainers.image.ref.name":%q}}]}`,
		f.mDigest, len(f.manifest), forged))
	_, err := ReadThick(bytes.NewReader(tgz(t, f.entries()...)), ThickOptions{})
	errtest.WantIs(t, err, fault.Denied, ErrRelocation, "artifacts/layout/index.json: the entry named "+forged+" is manifest "+f.mDigest)
}

// writtenArchive is f written by WriteThick with relocation m (nil: the
// default), read back as tar entries.
func writtenArchive(t *testing.T, f *fixture, m RelocationMapping) ([]byte, map[string][]byte, []string) {
	t.Helper()
	c := f.content()
	c.Relocation = m
	var buf bytes.Buffer
	if err := WriteThick(&buf, c); err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	files, order := map[string][]byte{}, []string(nil)
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		files[h.Name], order = b, append(order, h.Name)
	}
	return buf.Bytes(), files, order
}

// publishLookup finds img as porter publish --archive does: the mapping's
// value for the image's reference, then the index entry annotated
// org.opencontainers.image.ref.name with exactly that value.
func publishLookup(t *testing.T, files map[string][]byte, img string) string {
	t.Helper()
	var m map[string]string
	if err := json.Unmarshal(files["relocation-mapping.json"], &m); err != nil {
		t.Fatalf("relocation-mapping.json: %v", err)
	}
	var idx struct {
		Manifests []struct {
			Digest      string            `json:"digest"`
			Annotations map[string]string `json:"annotations"`
		} `json:"manifests"`
	}
	if err := json.Unmarshal(files["artifacts/layout/index.json"], &idx); err != nil {
		t.Fatal(err)
	}
	for _, d := range idx.Manifests {
		if d.Annotations["org.opencontainers.image.ref.name"] == m[img] {
			return d.Digest
		}
	}
	t.Fatalf("no index entry named %q (mapping %v, index %s)", m[img], m, files["artifacts/layout/index.json"])
	return ""
}

func TestWrittenArchiveHasAMappingAndIndexNamesPorterPublishFindsImagesBy(t *testing.T) {
	f := newFixture(t, []byte("layer bytes"))
	relocated := "registry.example/org/app@" + f.mDigest
	raw, files, order := writtenArchive(t, f, RelocationMapping{"example.com/app-installer:1.0": relocated})
	if order[0] != "bundle.json" || order[1] != "relocation-mapping.json" {
		t.Errorf("entry order %v, want bundle.json then relocation-mapping.json", order)
	}
	if got := publishLookup(t, files, "example.com/app-installer:1.0"); got != f.mDigest {
		t.Errorf("publish would push %s, want the installer %s", got, f.mDigest)
	}
	th, err := ReadThick(bytes.NewReader(raw), ThickOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(th.RelocationMapping, RelocationMapping{"example.com/app-installer:1.0": relocated}) || len(th.Other) != 0 {
		t.Errorf("read back mapping %v, other %v", th.RelocationMapping, th.Other)
	}
}

func TestWrittenArchiveWithoutARelocationPinsEachImageInItsOwnRepository(t *testing.T) {
	f := newFixture(t, []byte("layer bytes"))
	raw, files, _ := writtenArchive(t, f, nil)
	want := RelocationMapping{"example.com/app-installer:1.0": "example.com/app-installer@" + f.mDigest}
	th, err := ReadThick(bytes.NewReader(raw), ThickOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(th.RelocationMapping, want) {
		t.Errorf("mapping %v, want %v", th.RelocationMapping, want)
	}
	if got := publishLookup(t, files, "example.com/app-installer:1.0"); got != f.mDigest {
		t.Errorf("publish would push %s, want %s", got, f.mDigest)
	}
}

func TestWrittenArchiveWithAMappingIsReproducible(t *testing.T) {
	f := newFixture(t, []byte("layer bytes"))
	m := func() RelocationMapping {
		return RelocationMapping{"example.com/app-installer:1.0": "registry.example/org/app@" + f.mDigest}
	}
	a, _, _ := writtenArchive(t, f, m())
	b, _, _ := writtenArchive(t, f, m())
	if !bytes.Equal(a, b) {
		t.Fatal("two writes of the same content and mapping differ")
	}
}

// Writing is held to the reader's check: an archive whose mapping sends an
// image to a tag or another digest, or misses it, is never written.
func TestWriteThickRefusesAMappingTheReaderWouldDeny(t *testing.T) {
	f := newFixture(t, []byte("layer bytes"))
	for want, m := range map[string]RelocationMapping{
		"a tag: relocated references must be pinned by digest":       {"example.com/app-installer:1.0": "registry.example/org/app:1.0"},
		"whose digest is not the bundle's contentDigest":             {"example.com/app-installer:1.0": "registry.example/org/app@sha256:" + strings.Repeat("0", 64)},
		"example.com/app-installer:1.0) is missing from the mapping": {},
	} {
		c := f.content()
		c.Relocation = m
		errtest.WantIs(t, WriteThick(io.Discard, c), fault.Denied, ErrRelocation, "relocation-mapping.json: ", want)
	}
}

// Index entries for other manifests than the bundle's images (a layout
// holding more) are kept as they were.
func TestWriteThickKeepsIndexEntriesThatAreNotImagesOfTheBundle(t *testing.T) {
	f := newFixture(t, []byte("layer bytes"))
	f.index = []byte(fmt.Sprintf(`{"schemaVersion":2,"manifests":[{"digest":"sha256:%s","size":%d,"annotations":{"org.opencontainers.image.ref.name":"extra"}},{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"%s","size":%d,"platform":{"os":"linux"}}]}`,
		sha256Hex(f.config), len(f.config), f.mDigest, len(f.manifest)))
	_, files, _ := writtenArchive(t, f, nil)
	var idx struct {
		Manifests []map[string]any `json:"manifests"`
	}
	if err := json.Unmarshal(files["artifacts/layout/index.json"], &idx); err != nil || len(idx.Manifests) != 2 {
		t.Fatalf("index %s: %v", files["artifacts/layout/index.json"], err)
	}
	if idx.Manifests[0]["platform"] == nil || idx.Manifests[1]["annotations"].(map[string]any)["org.opencontainers.image.ref.name"] != "extra" {
		t.Errorf("index %s: want the image's entry (platform kept) named by its relocation, then the other entry unchanged", files["artifacts/layout/index.json"])
	}
}

// Porter's publish finds images through index.json only: an archive whose
// index does not list an image is not written.
func TestWriteThickRefusesAnIndexThatDoesNotListAnImage(t *testing.T) {
	f := newFixture(t, []byte("layer bytes"))
	f.index = []byte(`{"schemaVersion":2,"manifests":[]}`)
	errtest.WantIs(t, WriteThick(io.Discard, f.content()), fault.Input, ErrNotInLayout,
		"artifacts/layout/index.json lists no manifest "+f.mDigest+" (relocated to example.com/app-installer@"+f.mDigest+")")
}

// Writing an archive read back from one cnabsec wrote gives the same bytes:
// naming the index entries again changes nothing.
func TestRewritingAWrittenArchiveGivesTheSameBytes(t *testing.T) {
	f := newFixture(t, []byte("layer bytes"))
	a, files, _ := writtenArchive(t, f, nil)
	f.index = files["artifacts/layout/index.json"]
	b, _, _ := writtenArchive(t, f, nil)
	if !bytes.Equal(a, b) {
		t.Fatalf("rewrite differs; index was %s", f.index)
	}
}
