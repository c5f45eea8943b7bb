package layouts

import (
	"bytes"
	"fmt"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

// checkSameAsReference asserts that parseEnvelope (the tree decoding) and
// parseEnvelopeReference (the map decoding it replaced) accept and refuse
// the same input with the same error, and produce the same canonical bytes,
// signatures, layout or link, and malformed-artifact error.
func checkSameAsReference(t *testing.T, data []byte) {
	t.Helper()
	got, err := parseEnvelope(data)
	want, wantErr := parseEnvelopeReference(data)
	if fmt.Sprint(err) != fmt.Sprint(wantErr) {
		t.Fatalf("errors differ:\n tree %v\n  ref %v\ninput %q", err, wantErr, data)
	}
	if err != nil {
		return
	}
	if !bytes.Equal(got.canonical, want.canonical) {
		t.Fatalf("canonical forms differ:\n tree %s\n  ref %s", got.canonical, want.canonical)
	}
	if !reflect.DeepEqual(got.sigs, want.sigs) || !reflect.DeepEqual(got.layout, want.layout) || !reflect.DeepEqual(got.link, want.link) {
		t.Fatalf("payloads differ:\n tree %+v %+v %+v\n  ref %+v %+v %+v", got.sigs, got.layout, got.link, want.sigs, want.layout, want.link)
	}
	if fmt.Sprint(got.artifactErr) != fmt.Sprint(want.artifactErr) {
		t.Fatalf("malformed-artifact errors differ:\n tree %v\n  ref %v", got.artifactErr, want.artifactErr)
	}
}

// treeEdgeCases are links and layouts whose reading depends on member order,
// repeated names, letter case, nulls and malformed artifacts.
var treeEdgeCases = []string{
	`{"signed":{"_type":"link","name":"x","materials":{},"products":{},"byproducts":{},"command":[],"environment":{}},"signatures":[]}`,
	// unsorted members, repeated names (the last value counts), nulls
	`{"signatures":[],"signed":{"products":{"b":{"sha256":"00"},"a":{"sha256":"zz"},"a":{"sha256":"11"}},"name":"x","name":"y","_type":"link","materials":null,"byproducts":null,"command":null,"environment":null}}`,
	// a repeated name whose first value is malformed, the last fine
	`{"signed":{"_type":"link","name":"x","materials":{"a":{"sha256":1},"a":{"sha256":"ab"}},"products":{},"byproducts":{},"command":[],"environment":{}},"signatures":[]}`,
	// several malformed artifacts: the smallest name is reported
	`{"signed":{"_type":"link","name":"x","materials":{"z/../a":{"sha256":"ab"},"b":{"sha256":"xy"},"./a":{"sha512":"ab","sha256":"q"},"a":{"md5":"0","sha256":"g"}},"products":{"a\u0000b":{"sha256":"ab"},"a":{"z":"q"}},"byproducts":{},"command":[],"environment":{}},"signatures":[]}`,
	// an artifact with no hash, one with a sha256 that is not a string
	`{"signed":{"_type":"link","name":"x","materials":{"a":{},"b":{"sha256":null}},"products":{"c":{"sha256":["ab"]}},"byproducts":{},"command":[],"environment":{}},"signatures":[]}`,
	`{"signed":{"_type":"link","name":"x","materials":{"a":{}},"products":{"c":{"SHA256":"ab"}},"byproducts":{},"command":[],"environment":{}},"signatures":[]}`,
	// hard errors: a hash that is not a string, an artifact that is not an object
	`{"signed":{"_type":"link","name":"x","materials":{"b":[],"a":{"sha256":"ab","md5":{}}},"products":{},"byproducts":{},"command":[],"environment":{}},"signatures":[]}`,
	`{"signed":{"_type":"link","name":"x","materials":{},"products":{},"byproducts":{},"command":["a",1],"environment":{}},"signatures":[]}`,
	`{"signed":{"_type":"link","name":"x","materials":[],"products":{},"byproducts":{},"command":[],"environment":{}},"signatures":[]}`,
	`{"signed":{"_type":"link","name":"x","materials":{},"products":{},"byproducts":[],"command":"ls","environment":{}},"signatures":[]}`,
	`{"signed":{"_type":"link","Name":"x","name":"x","materials":{},"products":{},"byproducts":{},"command":[],"environment":{}},"signatures":[]}`,
	`{"signed":{"_type":"link","name":"x","products":{},"byproducts":{},"command":[],"environment":{}},"signatures":[]}`,
	`{"signed":{"_type":"link","name":"x","materials":{},"products":{},"byproducts":{"n":1.5},"command":[],"environment":{}},"signatures":[]}`,
	`{"signed":{"_type":"link","name":"x","materials":{},"products":{},"byproducts":{"n":-0,"m":123456789012345678901},"command":[],"environment":{}},"signatures":[]}`,
	`{"signed":{"_type":"lonk"},"signatures":[]}`,
	`{"signed":{"_type":["link"]},"signatures":[]}`,
	`{"signed":{},"signatures":[{"keyid":"ab","sig":"cd","cert":"x"}]}`,
	`{"signed":{"_type":"link"},"signatures":[{"keyid":"ab","sig":"cd","extra":1}]}`,
	`{"signed":{"_type":"link"},"signatures":{}}`,
	`{"signed":null,"signatures":[]}`,
	`{"signed":[],"signatures":[]}`,
	`{"signed":{"_type":"link"},"signatures":[],"Signed":1}`,
	`{"payloadType":"x","payload":"","signatures":[]}`,
	`[]`, `{`, `{"a":"\ud800"}`, "{\"signed\":{\"_type\":\"link\",\"name\":\"\xff\"}}",
	`{"signed":{"_type":"layout","steps":[],"inspect":[],"keys":{},"expires":"2030-01-01T00:00:00Z","readme":""},"signatures":[]}`,
	`{"signed":{"_type":"layout","steps":[{"_type":"step","name":"a","Name":"b"}],"inspect":[],"keys":{},"expires":"2030-01-01T00:00:00Z","readme":""},"signatures":[]}`,
}

func TestTreeParseAgreesWithReferenceOnEdgeCases(t *testing.T) {
	for _, s := range treeEdgeCases {
		checkSameAsReference(t, []byte(s))
	}
	for _, name := range []string{"root.layout", "package.cbc48efe.link", "write-bundle.68a12d64.link"} {
		checkSameAsReference(t, readVector(t, name))
	}
	c := bigChain(t, 300)
	checkSameAsReference(t, c.layout)
	for _, b := range c.links {
		checkSameAsReference(t, b)
	}
}

// FuzzParseEnvelopeAgreesWithReference compares the tree parser with the
// map parser it replaced (see checkSameAsReference).
func FuzzParseEnvelopeAgreesWithReference(f *testing.F) {
	for _, s := range treeEdgeCases {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkSameAsReference(t, data)
	})
}

func TestArtifactPathCheckAgreesWithPathClean(t *testing.T) {
	segs := []string{"", ".", "..", "a", "...", ".a", "a.", "\x00", "é"}
	var names []string
	var gen func(prefix string, depth int)
	gen = func(prefix string, depth int) {
		names = append(names, prefix)
		if depth == 0 {
			return
		}
		for _, s := range segs {
			gen(prefix+s, depth-1)
			gen(prefix+s+"/", depth-1)
		}
	}
	gen("", 3)
	names = append(names, "/", "//", "a//b", "/a", "a/./b", "a/b/..", "../a", "a/../b", "./a", "a/")
	for _, n := range names {
		got, want := checkArtifactPath(n), checkArtifactPathReference(n)
		if (got == nil) != (want == nil) {
			t.Fatalf("%q: got %v, path.Clean check %v", n, got, want)
		}
	}
}

func FuzzArtifactPathCheckAgreesWithPathClean(f *testing.F) {
	for _, s := range []string{"a/b", "a//b", "./a", "a/..", "..", "/a", "a\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, n string) {
		if got, want := checkArtifactPath(n), checkArtifactPathReference(n); (got == nil) != (want == nil) {
			t.Fatalf("%q: got %v, path.Clean check %v", n, got, want)
		}
	})
}

// hostileLinks are links an attacker could sign as a functionary (or send
// unsigned): half a million tiny members, deep nesting, one name repeated.
func hostileLinks() map[string][]byte {
	var many, dups strings.Builder
	many.WriteString(`{"signed":{"_type":"link","name":"x","materials":{},"products":{},"command":[],"environment":{},"byproducts":{`)
	dups.WriteString(`{"signed":{"_type":"link","name":"x","materials":{},"products":{`)
	for i := range 500_000 {
		if i > 0 {
			many.WriteByte(',')
			dups.WriteByte(',')
		}
		fmt.Fprintf(&many, `"%d":0`, 500_000-i) // reverse order: sorted the slow way
		dups.WriteString(`"a":{"sha256":"ab"}`)
	}
	many.WriteString(`}},"signatures":[]}`)
	dups.WriteString(`},"command":[],"environment":{},"byproducts":{}},"signatures":[]}`)
	deep := `{"signed":` + strings.Repeat(`{"a":[`, 4999) + strings.Repeat(`]}`, 4999) + `,"signatures":[]}`
	tooDeep := `{"signed":` + strings.Repeat(`[`, 20000) + strings.Repeat(`]`, 20000) + `,"signatures":[]}`
	return map[string][]byte{"many-members": []byte(many.String()), "one-name-repeated": []byte(dups.String()), "deep": []byte(deep), "too-deep": []byte(tooDeep)}
}

// TestHostileLinksAreParsedWithinTheOldMemory: on hostile input the tree
// parser reads what the map parser read and allocates at most a tenth more
// (half a million members of one object in reverse order, which the link
// keeps as a map: the tree holds them in a slice of 32 bytes each, sorted
// through 4-byte positions, before the map is made, where the map parser
// sorted a slice of their names of 16 bytes each; everything else it
// allocates less of).
func TestHostileLinksAreParsedWithinTheOldMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("parses several MiB of hostile JSON")
	}
	for name, b := range hostileLinks() {
		treeBytes, refBytes := allocBytes(func() { _, _ = parseEnvelope(b) }), allocBytes(func() { _, _ = parseEnvelopeReference(b) })
		t.Logf("%s (%d bytes): tree parser %d bytes allocated, map parser %d", name, len(b), treeBytes, refBytes)
		if treeBytes > refBytes+refBytes/10+64<<10 { // 64 KiB: the runtime's own allocations
			t.Errorf("%s: the tree parser allocated %d bytes, the map parser %d", name, treeBytes, refBytes)
		}
		checkSameAsReference(t, b)
	}
}

// allocBytes returns the bytes f allocates (one run).
func allocBytes(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestEqualDigestsShareOneHashObjectAcrossLinks: the links of one
// verification get one hash object per sha256 digest (what MATCH compares
// by identity), and an artifact with other hashes gets its own.
func TestEqualDigestsShareOneHashObjectAcrossLinks(t *testing.T) {
	shared := &hashObjects{}
	a, err := parseEnvelopeSharing([]byte(`{"signed":{"_type":"link","name":"a","materials":{},"products":{"x":{"sha256":"ab"},"y":{"sha256":"ab","md5":"cd"}},"byproducts":{},"command":[],"environment":{}},"signatures":[]}`), shared)
	if err != nil {
		t.Fatal(err)
	}
	b, err := parseEnvelopeSharing([]byte(`{"signed":{"_type":"link","name":"b","materials":{"x":{"sha256":"ab"}},"products":{},"byproducts":{},"command":[],"environment":{}},"signatures":[]}`), shared)
	if err != nil {
		t.Fatal(err)
	}
	ax, bx := a.link.Products["x"], b.link.Materials["x"]
	if reflect.ValueOf(ax).UnsafePointer() != reflect.ValueOf(bx).UnsafePointer() {
		t.Fatal("equal sha256-only digests of two links got two hash objects")
	}
	if !hashEqual(ax, bx) || hashEqual(ax, a.link.Products["y"]) || !hashEqual(a.link.Products["y"], map[string]string{"md5": "cd", "sha256": "ab"}) {
		t.Fatal("hashEqual disagrees with the hashes")
	}
}

// countJSONValuesReference is the byte-by-byte count CountJSONValues
// replaced (a state machine over strings and escapes).
func countJSONValuesReference(b []byte) int {
	n, inString, escaped := 1, false, false
	for _, c := range b {
		switch {
		case escaped:
			escaped = false
		case inString:
			escaped = c == '\\'
			inString = c != '"'
		case c == '"':
			inString = true
		case c == ',' || c == ':' || c == '{' || c == '[':
			n++
		}
	}
	return n
}

func FuzzCountJSONValuesAgreesWithReference(f *testing.F) {
	for _, s := range []string{`{"a\"b":[1,2],"c\\":{"d":"\\\"e,"}}`, `"\\\\\"`, `"abc`, `,,{[`, `"a\`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := CountJSONValues(b), countJSONValuesReference(b); got != want {
			t.Fatalf("CountJSONValues(%q) = %d, the state machine counts %d", b, got, want)
		}
	})
}
