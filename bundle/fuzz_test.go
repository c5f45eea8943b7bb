package bundle

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// Seeds live in testdata/fuzz/<FuzzName>/ (checked in; the vectors are added
// with f.Add as well). TestFuzzSeedCorporaAreNotEmpty guards against a seed
// directory that silently matches nothing.

func FuzzCanonicalize(f *testing.F) {
	for _, v := range []string{"cnab/cnab-to-oci-helloworld.pretty.json", "cnab/signy-thin-bundle.json", "cnab/spec-101.03-bundle.json"} {
		f.Add(readVector(f, v))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		out, err := Canonicalize(in)
		if err != nil {
			return
		}
		if err := CheckCanonical(out); err != nil {
			t.Fatalf("output of Canonicalize is not canonical: %v\nin  %q\nout %q", err, in, out)
		}
		if IsCanonical(in) != bytes.Equal(in, out) {
			t.Fatalf("IsCanonical disagrees with Canonicalize for %q", in)
		}
		differential(t, in)
	})
}

func FuzzParse(f *testing.F) {
	for _, v := range []string{"cnab/signy-thin-bundle.json", "cnab/spec-101.01-bundle.json", "cnab/spec-101.02-bundle.json", "cnab/spec-101.03-bundle.json"} {
		f.Add(readVector(f, v))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		b, err := Parse(in)
		if err != nil {
			return
		}
		if b.Digest != "sha256:"+sha256Hex(in) {
			t.Fatalf("digest %s is not of the input", b.Digest)
		}
		names := map[string]bool{}
		for _, img := range b.Images() {
			if names[img.Name] {
				t.Fatalf("image name %q twice", img.Name)
			}
			names[img.Name] = true
		}
		if err := b.Validate(); err == nil {
			for _, img := range b.Images() {
				if img.ContentDigest == "" {
					t.Fatalf("%s validated without a contentDigest", img)
				}
			}
		}
		_ = b.CheckExtensions(nil)
	})
}

func FuzzParseRelocationMapping(f *testing.F) {
	f.Add(readVector(f, "cnab/spec-103.01-relocation-mapping.json"))
	f.Fuzz(func(t *testing.T, in []byte) {
		m, err := ParseRelocationMapping(in)
		if err != nil {
			return
		}
		// What we read is what encoding/json reads (no duplicate or
		// ambiguous members survive).
		var std map[string]string
		if err := json.Unmarshal(in, &std); err != nil {
			t.Fatalf("accepted %q, which encoding/json refuses: %v", in, err)
		}
		if len(std) != len(m) {
			t.Fatalf("%q: %d entries, encoding/json sees %d", in, len(m), len(std))
		}
		for k, v := range m {
			if std[k] != v || v == "" || k == "" {
				t.Fatalf("%q: entry %q=%q, encoding/json reads %q", in, k, v, std[k])
			}
		}
	})
}

func FuzzReadThick(f *testing.F) {
	// Small seeds only: the fuzzer mutates megabyte inputs very slowly (the
	// 2 MiB signy vector gave 8 executions a minute); the vector has its
	// own tests.
	fx := newFixture(f, []byte("layer"))
	f.Add(tgz(f, fx.entries()...))
	f.Fuzz(func(t *testing.T, in []byte) {
		th, err := ReadThick(bytes.NewReader(in), ThickOptions{MaxEntries: 64, MaxTotalSize: 64 << 20})
		if err != nil {
			return
		}
		if th.Digest != "sha256:"+sha256Hex(in) || th.Size != int64(len(in)) {
			t.Fatalf("digest %s size %d are not of the input", th.Digest, th.Size)
		}
		if th.Bundle == nil {
			t.Fatal("no bundle")
		}
		for _, img := range th.Bundle.Images() {
			if _, ok := th.Blobs[img.ContentDigest]; !ok {
				t.Fatalf("%s accepted but its digest is not in the layout", img)
			}
		}
	})
}

func TestFuzzSeedCorporaAreNotEmpty(t *testing.T) {
	for _, name := range []string{"FuzzCanonicalize", "FuzzParse", "FuzzParseRelocationMapping", "FuzzReadThick"} {
		files, err := os.ReadDir(filepath.Join("testdata", "fuzz", name))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if len(files) == 0 {
			t.Errorf("%s: the seed corpus is empty", name)
		}
	}
}
