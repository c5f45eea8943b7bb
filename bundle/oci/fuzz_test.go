package oci

import (
	"testing"

	"github.com/cnabsec/cnabsec/internal/fault"
)

// FuzzParseIndex feeds arbitrary registry answers to the index parser: it
// must never panic, and every refusal must be a Denied error (the bytes
// come from the registry, not from the user).
func FuzzParseIndex(f *testing.F) {
	seeds := []string{
		`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:0000000000000000000000000000000000000000000000000000000000000000","size":1,"annotations":{"io.cnab.manifest.type":"config"}}]}`,
		`{"manifests":null}`,
		`{"manifests":[{"digest":"sha512:00"}]}`,
		`[]`,
		``,
		`{"manifests":[{"digest":"sha256:` + "zz" + `"}]}`,
	}
	for _, s := range seeds {
		f.Add([]byte(s), true)
		f.Add([]byte(s), false)
	}
	f.Fuzz(func(t *testing.T, raw []byte, oci bool) {
		mt := MediaTypeDockerList
		if oci {
			mt = MediaTypeOCIIndex
		}
		ix, err := parseIndex(Descriptor{Digest: sha256Digest(raw), Size: int64(len(raw)), MediaType: mt, RawManifest: raw}, "bundle fuzz")
		if err != nil {
			if fault.KindOf(err) != fault.Denied {
				t.Fatalf("refusal of registry content is %s, not denied: %v", fault.KindOf(err), err)
			}
			return
		}
		if len(ix.Manifests) > MaxIndexEntries {
			t.Fatalf("accepted %d manifests", len(ix.Manifests))
		}
		for _, m := range ix.Manifests {
			if !isSHA256Digest(m.Digest) {
				t.Fatalf("accepted digest %q", m.Digest)
			}
		}
	})
}
