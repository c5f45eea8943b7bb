package bundle

import (
	"archive/tar"
	"bytes"
	"fmt"
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
