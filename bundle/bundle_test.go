package bundle

import (
	"fmt"
	"strings"
	"testing"

	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/internal/testing/errtest"
)

const (
	digestA = "sha256:a59a4e74d9cc89e4e75dfb2cc7ea5c108e4236ba6231b53081a9e2506d1197b6"
	digestB = "sha256:bbffe37bb3899b1384bf1483cdcff44bd148d52078b4655e69cd23d534ea043d"
)

// testBundle returns a canonical bundle.json with an invocation image and a
// component image "web"; extra members (already JSON) are spliced into the
// top-level object and the images can be edited by the callbacks.
func testBundle(t testing.TB, inv, web, extra string) []byte {
	t.Helper()
	if inv == "" {
		inv = fmt.Sprintf(`{"image":"cnab/app:1.0","imageType":"docker","contentDigest":%q,"size":942,"mediaType":"application/vnd.docker.distribution.manifest.v2+json"}`, digestA)
	}
	if web == "" {
		web = fmt.Sprintf(`{"image":"docker.io/x/web:1.0","imageType":"oci","contentDigest":%q}`, digestB)
	}
	raw := fmt.Sprintf(`{"schemaVersion":"v1.0.0","name":"app","version":"1.0.0","invocationImages":[%s],"images":{"web":%s}%s}`, inv, web, extra)
	c, err := Canonicalize([]byte(raw))
	if err != nil {
		t.Fatalf("test bundle: %v\n%s", err, raw)
	}
	return c
}

func TestParseKeepsExactBytesAndDigest(t *testing.T) {
	raw := readVector(t, "cnab/signy-thin-bundle.json")
	b, err := Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	if &b.Raw[0] != &raw[0] || b.Digest != "sha256:c7e92bd51f059d60b15ad456edf194648997d739f60799b37e08edafd88a81b5" {
		t.Errorf("Raw/Digest = %p %s", b.Raw, b.Digest)
	}
	if err := b.Validate(); err != nil {
		t.Error(err)
	}
	imgs := b.Images()
	if len(imgs) != 1 {
		t.Fatalf("images = %+v", imgs)
	}
	want := Image{Name: "invocationImages[0]", Invocation: true, Reference: "cnab/helloworld:0.1.1", ImageType: "docker",
		ContentDigest: digestA, Size: 942, HasSize: true, MediaType: "application/vnd.docker.distribution.manifest.v2+json"}
	if imgs[0] != want {
		t.Errorf("image = %+v\nwant    %+v", imgs[0], want)
	}
}

func TestImagesHaveStableNames(t *testing.T) {
	raw := testBundle(t, "", "", "")
	raw = []byte(strings.Replace(string(raw), `"images":{`, `"images":{"db":{"contentDigest":"`+digestA+`","image":"d:1"},`, 1))
	b, err := Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, i := range b.Images() {
		names = append(names, i.Name+"="+i.String())
	}
	got := strings.Join(names, " | ")
	want := `invocationImages[0]=invocation image 0 (cnab/app:1.0) | images.db=image "db" (d:1) | images.web=image "web" (docker.io/x/web:1.0)`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestSpec101VectorsParse(t *testing.T) {
	for _, f := range []string{"cnab/spec-101.01-bundle.json", "cnab/spec-101.02-bundle.json", "cnab/spec-101.03-bundle.json"} {
		b, err := Parse(readVector(t, f))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if n := len(b.Images()); n != 2 {
			t.Errorf("%s: %d images, want 2", f, n)
		}
		// The spec examples carry placeholder digests ("sha256:aaaaaaa..."):
		// they cannot be checked, so they do not validate.
		errtest.WantIs(t, b.Validate(), fault.Denied, ErrNoContentDigest,
			`invocation image 0 (example/helloworld:`, `has a malformed contentDigest "sha256:aaaaaaa`, `image "my-microservice"`)
	}
}

func TestMissingContentDigestIsRefused(t *testing.T) {
	b, err := Parse(testBundle(t, "", `{"image":"docker.io/x/web:1.0","imageType":"oci"}`, ""))
	if err != nil {
		t.Fatal(err)
	}
	errtest.WantIs(t, b.Validate(), fault.Denied, ErrNoContentDigest, `image "web" (docker.io/x/web:1.0) has no contentDigest`)

	b, err = Parse(testBundle(t, `{"image":"cnab/app:1.0","imageType":"docker"}`, "", ""))
	if err != nil {
		t.Fatal(err)
	}
	errtest.WantIs(t, b.Validate(), fault.Denied, ErrNoContentDigest, `invocation image 0 (cnab/app:1.0) has no contentDigest`)
}

func TestMalformedContentDigestIsRefused(t *testing.T) {
	b, err := Parse(testBundle(t, "", `{"image":"docker.io/x/web:1.0","contentDigest":"sha256:abc"}`, ""))
	if err != nil {
		t.Fatal(err)
	}
	errtest.WantIs(t, b.Validate(), fault.Denied, ErrNoContentDigest, `image "web" (docker.io/x/web:1.0) has a malformed contentDigest "sha256:abc"`)
}

// cnab-go (encoding/json) reads "ContentDigest" as contentDigest; a reader
// that matches names exactly does not. A bundle readable two ways is refused.
func TestCaseVariantOfContentDigestIsRefused(t *testing.T) {
	raw := testBundle(t, "", `{"image":"docker.io/x/web:1.0","ContentDigest":"`+digestA+`"}`, "")
	_, err := Parse(raw)
	errtest.WantIs(t, err, fault.Input, ErrAmbiguousBundle, `images.web: member "ContentDigest" differs from the CNAB field "contentDigest" only in letter case`)

	raw = []byte(`{"InvocationImages":[{"image":"a:1"}],"name":"a","schemaVersion":"v1.0.0","version":"1"}`)
	_, err = Parse(raw)
	errtest.WantIs(t, err, fault.Input, ErrAmbiguousBundle, `"InvocationImages"`)
}

func TestSchemaViolationsAreRefused(t *testing.T) {
	for _, tc := range []struct{ name, extra, want string }{
		{"unknown top-level member", `,"surprise":1`, "Additional property surprise is not allowed"},
		{"latest version", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw := testBundle(t, "", "", tc.extra)
			if tc.name == "latest version" {
				raw = []byte(strings.Replace(string(raw), `"version":"1.0.0"`, `"version":"latest"`, 1))
				tc.want = "'latest' is not a valid bundle version"
			}
			b, err := Parse(raw)
			if err != nil {
				t.Fatal(err)
			}
			errtest.WantIs(t, b.Validate(), fault.Denied, ErrInvalidBundle, tc.want, `bundle "app" version`)
		})
	}
}

func TestNoInvocationImageIsRefused(t *testing.T) {
	raw := []byte(`{"images":{},"invocationImages":[],"name":"app","schemaVersion":"v1.0.0","version":"1.0.0"}`)
	b, err := Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	errtest.WantIs(t, b.Validate(), fault.Denied, ErrInvalidBundle, "at least one invocation image must be defined")
}

func TestNullMembersCountAsAbsent(t *testing.T) {
	c, err := Canonicalize(readVector(t, "cnab/cnab-to-oci-helloworld.pretty.json"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := Parse(c)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Validate(); err != nil {
		t.Errorf("cnab-to-oci's bundle with null members: %v", err)
	}
}

func TestRequiredExtensionsDuplicatedOrEmptyAreRefused(t *testing.T) {
	for _, tc := range []struct{ name, extra, want string }{
		{"duplicate", `,"custom":{"io.cnab.x":{}},"requiredExtensions":["io.cnab.x","io.cnab.x"]`, `requiredExtensions lists "io.cnab.x" twice`},
		{"empty name", `,"custom":{"":{}},"requiredExtensions":[""]`, "requiredExtensions[0] is empty"},
		{"not defined in custom", `,"requiredExtensions":["io.cnab.y"]`, "required extension 'io.cnab.y' is not defined in the Custom section"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := Parse(testBundle(t, "", "", tc.extra))
			if err != nil {
				t.Fatal(err)
			}
			errtest.WantIs(t, b.Validate(), fault.Denied, ErrInvalidBundle, tc.want)
		})
	}
}

func TestUnsupportedRequiredExtensionIsRefused(t *testing.T) {
	b, err := Parse(readVector(t, "cnab/spec-101.03-bundle.json"))
	if err != nil {
		t.Fatal(err)
	}
	err = b.CheckExtensions(nil)
	errtest.WantIs(t, err, fault.Denied, ErrUnsupportedExtension,
		`bundle "helloworld" version "0.1.2" requires "io.cnab.dependencies" (supported here: none)`)
	if r, _ := fault.RemedyOf(err); r != fault.RemedySupportedExtension {
		t.Errorf("remedy = %v", r)
	}
	err = b.CheckExtensions([]string{"io.cnab.parameter-sources"})
	errtest.WantIs(t, err, fault.Denied, ErrUnsupportedExtension, "(supported here: io.cnab.parameter-sources)")
	if err := b.CheckExtensions([]string{"io.cnab.dependencies"}); err != nil {
		t.Errorf("supported extension refused: %v", err)
	}
}

func TestParseRefusesWhatIsNotABundle(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"array", `[]`, "want a JSON object, got an array"},
		{"not JSON", `{"a":`, "invalid JSON at byte 5"},
		{"images not an object", `{"images":[1],"invocationImages":[],"name":"a","schemaVersion":"v1","version":"1"}`, "images: want an object, got an array"},
		{"image not an object", `{"invocationImages":["x"],"name":"a","schemaVersion":"v1","version":"1"}`, "invocationImages[0]: want an object, got a string"},
		{"digest not a string", `{"invocationImages":[{"contentDigest":1,"image":"a:1"}],"name":"a","schemaVersion":"v1","version":"1"}`, "invocationImages[0].contentDigest: want a string, got a number"},
		{"negative size", `{"invocationImages":[{"image":"a:1","size":-1}],"name":"a","schemaVersion":"v1","version":"1"}`, "invocationImages[0].size: want a non-negative integer, got -1"},
		{"fractional size", `{"invocationImages":[{"image":"a:1","size":1.5}],"name":"a","schemaVersion":"v1","version":"1"}`, "size: want a non-negative integer, got 1.5"},
		{"too large", `{"a":"` + strings.Repeat("x", MaxBundleSize) + `"}`, "more than the 16777216 allowed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.in))
			errtest.WantIs(t, err, fault.Input, nil, tc.want)
		})
	}
}
