package bundle

import (
	"testing"

	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/internal/testing/errtest"
)

func TestSpec103RelocationMappingParses(t *testing.T) {
	m, err := ParseRelocationMapping(readVector(t, "cnab/spec-103.01-relocation-mapping.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(m) != 2 || m["outside/helloworld:0.1.0"] != "my.registry/helloworld:0.1.0" {
		t.Errorf("mapping = %v", m)
	}
}

func TestMalformedRelocationMappingIsRefused(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"array", `["a"]`, "want a JSON object of original reference → relocated reference, got an array"},
		{"number value", `{"a:1":5}`, `"a:1": want a string (the relocated reference), got the number 5`},
		{"object value", `{"a:1":{}}`, `"a:1": want a string (the relocated reference), got an object`},
		{"null value", `{"a:1":null}`, `"a:1": want a string (the relocated reference), got null`},
		{"empty key", `{"":"b:1"}`, `empty original reference (mapped to "b:1")`},
		{"empty value", `{"a:1":" "}`, `"a:1" is mapped to an empty reference`},
		{"duplicate key", `{"a:1":"b:1","a:1":"c:1"}`, `duplicate object member "a:1"`},
		{"not JSON", `{"a:1":"b:1"`, "relocation mapping: invalid JSON at byte 12"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseRelocationMapping([]byte(tc.in))
			errtest.WantIs(t, err, fault.Input, nil, tc.want)
		})
	}
}

func TestRelocationMappingMissingAnImageIsRefused(t *testing.T) {
	b, err := Parse(testBundle(t, "", "", ""))
	if err != nil {
		t.Fatal(err)
	}
	m := RelocationMapping{"cnab/app:1.0": "my.registry/app:1.0"}
	errtest.WantIs(t, CheckRelocationCovers(b, m), fault.Denied, ErrRelocation,
		`image "web" (docker.io/x/web:1.0) is missing from the mapping`)

	errtest.WantIs(t, CheckRelocationCovers(b, RelocationMapping{}), fault.Denied, ErrRelocation,
		`invocation image 0 (cnab/app:1.0) is missing from the mapping; image "web" (docker.io/x/web:1.0) is missing`)

	m["docker.io/x/web:1.0"] = "my.registry/web@" + digestB
	m["cnab/app:1.0"] = "my.registry/app@" + b.images[0].ContentDigest
	if err := CheckRelocationCovers(b, m); err != nil {
		t.Errorf("complete mapping refused: %v", err)
	}
}

// TestRelocationMappingWithTagEntryIsDenied: a relocated tag can name other
// content after the check; only digest-pinned entries are accepted.
func TestRelocationMappingWithTagEntryIsDenied(t *testing.T) {
	b, err := Parse(testBundle(t, "", "", ""))
	if err != nil {
		t.Fatal(err)
	}
	m := RelocationMapping{"cnab/app:1.0": "my.registry/app:1.0", "docker.io/x/web:1.0": "my.registry/web@" + digestB}
	errtest.WantIs(t, CheckRelocationCovers(b, m), fault.Denied, ErrRelocation,
		"invocation image 0 (cnab/app:1.0) is relocated to my.registry/app:1.0, a tag: relocated references must be pinned by digest")
}

// TestRelocationMappingEntryForNoImageOfTheBundleIsDenied: every entry must
// name an image of the bundle; nothing unchecked is handed to a runtime.
func TestRelocationMappingEntryForNoImageOfTheBundleIsDenied(t *testing.T) {
	b, err := Parse(testBundle(t, "", "", ""))
	if err != nil {
		t.Fatal(err)
	}
	m := RelocationMapping{"cnab/app:1.0": "my.registry/app@" + b.images[0].ContentDigest, "docker.io/x/web:1.0": "my.registry/web@" + digestB,
		"evil.example/x:1": "evil.example/y@" + digestB}
	errtest.WantIs(t, CheckRelocationCovers(b, m), fault.Denied, ErrRelocation, "evil.example/x:1 is not an image of the bundle")
}

func TestRelocationMappingPointingElsewhereIsRefused(t *testing.T) {
	b, err := Parse(testBundle(t, "", "", ""))
	if err != nil {
		t.Fatal(err)
	}
	m := RelocationMapping{"cnab/app:1.0": "my.registry/app@" + digestB, "docker.io/x/web:1.0": "my.registry/web:1.0"}
	errtest.WantIs(t, CheckRelocationCovers(b, m), fault.Denied, ErrRelocation,
		"invocation image 0 (cnab/app:1.0) is relocated to my.registry/app@"+digestB+", whose digest is not the bundle's contentDigest "+digestA)
}

// TestRelocationMappingEntryNotRepositoryAtContentDigestIsDenied: an entry
// that only looks pinned (a tag beside the digest, which a runtime may pull
// by; no repository; a malformed one; a second digest) or that pins an image
// the bundle gives no contentDigest was passed on to the runtime unchecked
// with --thick, where nothing resolves it. Only REPOSITORY@contentDigest is
// accepted, as cnab-to-oci writes it.
func TestRelocationMappingEntryNotRepositoryAtContentDigestIsDenied(t *testing.T) {
	b, err := Parse(testBundle(t, "", "", ""))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ to, want string }{
		{"my.registry/app:1.0@" + digestA, ", which is not REPOSITORY@" + digestA + ": repository can only contain"},
		{"@" + digestA, ", which is not REPOSITORY@" + digestA + ": a repository name must be specified"},
		{"my.registry/App@" + digestA, ", which is not REPOSITORY@" + digestA + ": repository can only contain"},
		{"my.registry/app@" + digestA + "@" + digestA, ", whose digest is not the bundle's contentDigest " + digestA},
	} {
		t.Run(tc.to, func(t *testing.T) {
			m := RelocationMapping{"cnab/app:1.0": tc.to, "docker.io/x/web:1.0": "my.registry/web@" + digestB}
			errtest.WantIs(t, CheckRelocationCovers(b, m), fault.Denied, ErrRelocation, "invocation image 0 (cnab/app:1.0) is relocated to "+tc.to+tc.want)
		})
	}
	unpinned, err := Parse(testBundle(t, "", `{"image":"docker.io/x/web:1.0","imageType":"oci"}`, ""))
	if err != nil {
		t.Fatal(err)
	}
	m := RelocationMapping{"cnab/app:1.0": "my.registry/app@" + digestA, "docker.io/x/web:1.0": "my.registry/web@" + digestB}
	errtest.WantIs(t, CheckRelocationCovers(unpinned, m), fault.Denied, ErrRelocation,
		`image "web" (docker.io/x/web:1.0) is relocated to my.registry/web@`+digestB+", but the bundle gives the image no contentDigest to pin it to")
	m = RelocationMapping{"cnab/app:1.0": "my.registry/app@" + digestA, "docker.io/x/web:1.0": "index.docker.io/x/web@" + digestB}
	if err := CheckRelocationCovers(b, m); err != nil {
		t.Errorf("cnab-to-oci's form REPOSITORY@contentDigest refused: %v", err)
	}
}
