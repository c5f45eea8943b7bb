package strictjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// anyBuilder builds what encoding/json's Decoder with UseNumber builds.
type anyBuilder struct{}

func (anyBuilder) String(s string) any   { return s }
func (anyBuilder) Number(lit string) any { return json.Number(lit) }
func (anyBuilder) Literal(lit string) any {
	return map[string]any{"true": true, "false": false, "null": nil}[lit]
}
func (anyBuilder) Array(e []any) any { return append([]any{}, e...) }
func (anyBuilder) Object(names []string, vals []any) any {
	m := map[string]any{}
	for i, k := range names {
		m[k] = vals[i]
	}
	return m
}

func decodeStd(t *testing.T, in string) any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(in))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("encoding/json refuses %q: %v", in, err)
	}
	return v
}

// Containers share the parser's stacks: a container's members must be
// exactly its own, whatever was opened around it before.
func TestNestedContainersGetOnlyTheirOwnMembers(t *testing.T) {
	for _, in := range []string{
		`[1,{"a":2},[3,{"b":[4,{"c":{}}]}],{}]`,
		`{"x":[1,{"a":2,"b":[3]}],"y":{"z":[{"q":1},2]},"w":[]}`,
		`[[],[[]],{"":[{"":{}}]}]`,
	} {
		got, err := Parse[any]([]byte(in), Options{}, anyBuilder{})
		if err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if want := decodeStd(t, in); !reflect.DeepEqual(got, want) {
			t.Errorf("%s decoded as %#v, want %#v", in, got, want)
		}
	}
}

func TestDuplicateNamesFollowThePolicy(t *testing.T) {
	in := []byte(`{"a":1,"b":{"k":1,"K":2},"a":3}`)
	got, err := Parse[any](in, Options{}, anyBuilder{})
	if err != nil || got.(map[string]any)["a"] != json.Number("3") {
		t.Errorf("PassDuplicates: got %v, %v; want the last value to reach the builder", got, err)
	}
	_, err = Parse[any](in, Options{Duplicates: RefuseDuplicates}, anyBuilder{})
	var se *SyntaxError
	if !errors.Is(err, ErrDuplicateName) || !errors.As(err, &se) || se.Offset != 25 || !strings.Contains(err.Error(), `byte 25 (line 1, column 26): duplicate object member "a"`) {
		t.Errorf("RefuseDuplicates: %v", err)
	}
	_, err = Parse[any](in, Options{Duplicates: RefuseFoldedDuplicates}, anyBuilder{})
	if !errors.Is(err, ErrDuplicateName) || !strings.Contains(err.Error(), `byte 18 (line 1, column 19): duplicate object member: "k" and "K" differ only in letter case`) {
		t.Errorf("RefuseFoldedDuplicates: %v", err)
	}
}

// Objects with more than smallObject members switch from comparing names
// one by one to maps; a duplicate is found either way.
func TestDuplicateNameInALargeObjectIsRefused(t *testing.T) {
	var b strings.Builder
	b.WriteString("{")
	for i := 0; i < 3*smallObject; i++ {
		b.WriteString(`"m` + strings.Repeat("x", i) + `":0,`)
	}
	for _, last := range []string{`"mxxxx":1}`, `"MXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX":1}`} {
		_, err := Parse[any]([]byte(b.String()+last), Options{Duplicates: RefuseFoldedDuplicates}, anyBuilder{})
		if !errors.Is(err, ErrDuplicateName) {
			t.Errorf("%s: got %v, want a duplicate member error", last, err)
		}
	}
}

func TestFoldEqualAgreesWithFoldName(t *testing.T) {
	names := []string{"k", "K", "\u212a", "s", "S", "\u017f", "i", "I", "\u0130", "\u0131", "ß", "SS", "kk", "k\u212a", "", "a", "é", "É"}
	for _, a := range names {
		for _, b := range names {
			if got, want := foldEqual(a, b), FoldName(a) == FoldName(b); got != want {
				t.Errorf("foldEqual(%q, %q) = %v, FoldName says %v", a, b, got, want)
			}
		}
	}
}

// The lenient reading is encoding/json's: invalid UTF-8 and lone surrogates
// become U+FFFD, and the escape after a lone high surrogate is read alone.
func TestLenientStringsReadAsEncodingJSON(t *testing.T) {
	for _, in := range []string{"\"a\xffb\"", `"\ud800"`, `"\ud800\u0041"`, `"\udc00x"`, `"\ud800\ud800\udc00"`, "\"\xed\xa0\x80\\n\"", `"\ud83d\ude00"`} {
		got, err := Parse[any]([]byte(in), Options{ReplaceInvalidUTF8: true}, anyBuilder{})
		if err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		if want := decodeStd(t, in); got != want {
			t.Errorf("%q read as %q, encoding/json reads %q", in, got, want)
		}
		if _, err := Parse[any]([]byte(in), Options{}, anyBuilder{}); in != `"\ud83d\ude00"` && err == nil {
			t.Errorf("%q: the strict reading accepted it", in)
		}
	}
}

func TestNumberHookErrorIsReportedAtTheNumber(t *testing.T) {
	hook := func(lit string) (string, error) {
		if len(lit) > 3 {
			return "", errors.New("too long: " + lit)
		}
		return "n" + lit, nil
	}
	got, err := Parse[any]([]byte(`[1, 22]`), Options{Number: hook}, anyBuilder{})
	if err != nil || !reflect.DeepEqual(got, []any{json.Number("n1"), json.Number("n22")}) {
		t.Errorf("got %v, %v", got, err)
	}
	_, err = Parse[any]([]byte("[1,\n 12345]"), Options{Number: hook}, anyBuilder{})
	if err == nil || err.Error() != "invalid JSON at byte 5 (line 2, column 2): too long: 12345" {
		t.Errorf("got %v", err)
	}
}

func TestNestingBeyondMaxDepthIsRefused(t *testing.T) {
	ok := strings.Repeat("[", 5) + strings.Repeat("]", 5)
	if _, err := Parse[any]([]byte(ok), Options{MaxDepth: 5}, anyBuilder{}); err != nil {
		t.Errorf("depth 5 with MaxDepth 5: %v", err)
	}
	deep := strings.Repeat(`{"a":`, 6) + "1" + strings.Repeat("}", 6)
	_, err := Parse[any]([]byte(deep), Options{MaxDepth: 5}, anyBuilder{})
	if err == nil || !strings.Contains(err.Error(), "byte 25 (line 1, column 26): nesting deeper than 5 levels") {
		t.Errorf("got %v", err)
	}
}

// FuzzParseAgreesWithEncodingJSON: the lenient reading accepts exactly what
// encoding/json accepts, decodes to the same values, and the strict reading
// accepts a subset.
func FuzzParseAgreesWithEncodingJSON(f *testing.F) {
	for _, s := range []string{`{"sha256":"x","sha256x":1,"sha25":2,"sha\u0032\u00356":3}`, `{"sha256"`, `{"sha256":`, `{"a`, `{"a":[1,{"b":null}],"c":"\u00e9"}`, `[1,2.5e3,-0,true,false]`, "\"\xff\"", `{"a":1,"a":2}`, `"\ud800\u0041"`, `[{}]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		ours, ourErr := Parse[any](in, Options{ReplaceInvalidUTF8: true}, anyBuilder{})
		dec := json.NewDecoder(bytes.NewReader(in))
		dec.UseNumber()
		var theirs any
		theirErr := dec.Decode(&theirs)
		if theirErr == nil && dec.InputOffset() != int64(len(bytes.TrimRight(in, " \t\r\n"))) {
			theirErr = errors.New("trailing data")
		}
		if (ourErr == nil) != (theirErr == nil) {
			t.Fatalf("ours %v, encoding/json %v, input %q", ourErr, theirErr, in)
		}
		if ourErr == nil && !reflect.DeepEqual(ours, theirs) {
			t.Fatalf("decoded differently: %#v vs %#v", ours, theirs)
		}
		known, knownErr := Parse[any](in, Options{ReplaceInvalidUTF8: true, KnownNames: []string{"a", "sha256", "b\"", "\xff"}}, anyBuilder{})
		if fmtErr(knownErr) != fmtErr(ourErr) || !reflect.DeepEqual(known, ours) {
			t.Fatalf("with known names: %#v, %v; without: %#v, %v", known, knownErr, ours, ourErr)
		}
		if _, err := Parse[any](in, Options{Duplicates: RefuseFoldedDuplicates}, anyBuilder{}); err == nil && ourErr != nil {
			t.Fatalf("strict reading accepted what the lenient one refused: %q", in)
		}
	})
}

func fmtErr(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// TestKnownNamesReadAsAnyOtherName: a known member name is read as the
// same string whether written plainly or with escapes, a longer or shorter
// name is not taken for it, and errors are reported at the same place.
func TestKnownNamesReadAsAnyOtherName(t *testing.T) {
	opts := Options{KnownNames: []string{"sha256", "a\"b"}}
	for _, in := range []string{`{"sha256":"x","sha256x":1,"sha25":2,"sha\u0032\u00356":3,"a\"b":4}`, `{"sha256"`, `{"sha256`, `{"sha256":1,"sha256":2}`} {
		got, err := Parse[any]([]byte(in), opts, anyBuilder{})
		want, wantErr := Parse[any]([]byte(in), Options{}, anyBuilder{})
		if fmtErr(err) != fmtErr(wantErr) || !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: with known names %#v, %v; without %#v, %v", in, got, err, want, wantErr)
		}
	}
	d := Options{KnownNames: []string{"sha256"}, Duplicates: RefuseDuplicates}
	if _, err := Parse[any]([]byte(`{"sha256":1,"sha\u0032\u00356":2}`), d, anyBuilder{}); !errors.Is(err, ErrDuplicateName) {
		t.Fatalf("a known name given plainly then escaped: %v, want a duplicate refused", err)
	}
}
