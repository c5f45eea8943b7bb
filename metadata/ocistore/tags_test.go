package ocistore

import (
	"os"
	"strings"
	"testing"
)

func TestTagMappingOfPublishedNames(t *testing.T) {
	for file, tag := range map[string]string{
		"3.root.json":             "tuf-3.root.json",
		"timestamp.json":          "tuf-timestamp.json",
		"12.releases-bin-0a.json": "tuf-12.releases-bin-0a.json",
	} {
		got, err := TagForMetadata(file)
		if err != nil || got != tag {
			t.Errorf("TagForMetadata(%q) = %q, %v; want %q", file, got, err, tag)
		}
		back, err := MetadataForTag(tag)
		if err != nil || back != file {
			t.Errorf("MetadataForTag(%q) = %q, %v; want %q", tag, back, err, file)
		}
	}
}

func TestNamesThatCannotBeTagsAreRefused(t *testing.T) {
	for file, reason := range map[string]string{
		"1.team/app.json": `character "/"`,
		"1.équipe.json":   `character "é"`,
		"1.a b.json":      `character " "`,
		"1.root.yaml":     "not a TUF metadata file name",
		".json":           "not a TUF metadata file name",
		"1." + strings.Repeat("r", 120) + ".json": "longer than the 124",
	} {
		_, err := TagForMetadata(file)
		if err == nil || !strings.Contains(err.Error(), reason) {
			t.Errorf("TagForMetadata(%q) = %v, want an error containing %q", file, err, reason)
		}
	}
}

func TestTargetTagsNeverParseAsMetadata(t *testing.T) {
	h := strings.Repeat("0f", 32)
	tag, err := TagForTarget(h)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := MetadataForTag(tag); err == nil {
		t.Fatalf("target tag %q parses as a metadata tag", tag)
	}
	if back, ok := TargetForTag(tag); !ok || back != h {
		t.Fatalf("TargetForTag(%q) = %q, %v", tag, back, ok)
	}
	if _, err := TagForTarget(strings.ToUpper(h)); err == nil {
		t.Fatal("upper-case hex accepted")
	}
}

// FuzzTagMapping checks that the metadata tag mapping is injective and
// reversible, yields only valid OCI tags, and never mistakes a target tag
// for a metadata tag.
func FuzzTagMapping(f *testing.F) {
	for _, s := range []string{"1.root.json", "timestamp.json", "3.releases-bin-ff.json", "1.team/a.json", "tuf-x.json", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, file string) {
		tag, err := TagForMetadata(file)
		if err != nil {
			if _, err2 := MetadataForTag(tagPrefix + file); err2 == nil {
				t.Fatalf("%q refused by TagForMetadata but its tag parses", file)
			}
			return
		}
		if len(tag) > maxTagLen || !validOCITag(tag) {
			t.Fatalf("TagForMetadata(%q) = %q: not a valid OCI tag", file, tag)
		}
		back, err := MetadataForTag(tag)
		if err != nil || back != file {
			t.Fatalf("MetadataForTag(TagForMetadata(%q)) = %q, %v", file, back, err)
		}
		if _, ok := TargetForTag(tag); ok {
			t.Fatalf("metadata tag %q also parses as a target tag", tag)
		}
	})
}

// validOCITag is the distribution spec's tag grammar:
// [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}.
func validOCITag(s string) bool {
	if s == "" || len(s) > 128 || s[0] == '.' || s[0] == '-' {
		return false
	}
	for _, r := range s {
		if !tagChar(r) {
			return false
		}
	}
	return true
}

func TestFuzzSeedCorpusIsNotEmpty(t *testing.T) {
	entries, err := os.ReadDir("testdata/fuzz/FuzzTagMapping")
	if err != nil || len(entries) == 0 {
		t.Fatalf("checked-in seed corpus testdata/fuzz/FuzzTagMapping is empty or missing: %v", err)
	}
}
