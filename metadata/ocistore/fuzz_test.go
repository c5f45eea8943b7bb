package ocistore

import (
	"os"
	"strings"
	"testing"
)

// FuzzParseFileManifest feeds registry-supplied manifests to the parser: it
// must never panic, and whatever it accepts has one layer of the wanted
// media type with a well-formed sha256 digest and a non-negative size.
func FuzzParseFileManifest(f *testing.F) {
	f.Add(fileManifest(ArtifactTypeMetadata, MediaTypeMetadata, sha256Hex([]byte("x")), 1, "timestamp.json"))
	f.Add([]byte(`{"schemaVersion":2,"layers":[]}`))
	f.Add([]byte(`{"mediaType":"application/vnd.oci.image.manifest.v1+json","layers":[{"digest":"sha256:zz","size":-1}]}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		l, err := parseFileManifest(raw, MediaTypeMetadata, "fuzz")
		if err != nil {
			return
		}
		h, ok := strings.CutPrefix(l.Digest, "sha256:")
		if !ok || !isHex(h, 64) || l.Size < 0 || l.MediaType != MediaTypeMetadata {
			t.Fatalf("accepted a bad layer %+v", l)
		}
	})
}

// FuzzTargetBlobHex checks the mapping of requested target paths to blob
// digests: only "targets/.../<64 lowercase hex>.<name>" maps, to exactly
// that hex.
func FuzzTargetBlobHex(f *testing.F) {
	h := strings.Repeat("ab", 32)
	for _, s := range []string{"targets/" + h + ".x", "targets/a/b/" + h + ".root.layout", "metadata/" + h + ".x", "targets/" + h, "targets/" + strings.Repeat("ab", 64) + ".x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		got, ok := targetBlobHex(name)
		if !ok {
			return
		}
		base := name[strings.LastIndexByte(name, '/')+1:]
		if !strings.HasPrefix(name, "targets/") || !isHex(got, 64) || !strings.HasPrefix(base, got+".") || len(base) == len(got)+1 {
			t.Fatalf("targetBlobHex(%q) = %q", name, got)
		}
	})
}

func TestFuzzSeedCorporaAreNotEmpty(t *testing.T) {
	for _, fz := range []string{"FuzzParseFileManifest", "FuzzTargetBlobHex"} {
		entries, err := os.ReadDir("testdata/fuzz/" + fz)
		if err != nil || len(entries) == 0 {
			t.Errorf("checked-in seed corpus testdata/fuzz/%s is empty or missing: %v", fz, err)
		}
	}
}
