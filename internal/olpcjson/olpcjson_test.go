package olpcjson

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/secure-systems-lab/go-securesystemslib/cjson"
)

func TestEncodeSortsMembersAndEscapesOnlyQuoteAndBackslash(t *testing.T) {
	got, err := Encode(map[string]any{"b": []any{1, "x\"y\\z\n<>&"}, "a": map[string]any{"d": true, "c": nil}})
	if err != nil {
		t.Fatal(err)
	}
	want := "{\"a\":{\"c\":null,\"d\":true},\"b\":[1,\"x\\\"y\\\\z\n<>&\"]}"
	if string(got) != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

func TestFractionIsRefused(t *testing.T) {
	if _, err := Encode(map[string]any{"n": 1.5}); err == nil || !strings.Contains(err.Error(), "not an integer") {
		t.Fatalf("err = %v, want a refusal of 1.5", err)
	}
}

func TestUnsupportedValueIsRefused(t *testing.T) {
	if _, err := EncodeValue(struct{}{}, 0); err == nil {
		t.Fatal("a struct was encoded by EncodeValue")
	}
}

var longNumber = regexp.MustCompile(`[0-9]{16}`)

// FuzzEncodeAgreesWithSecuresystemslib: for every JSON document with integer
// numbers, our bytes are securesystemslib's (what go-tuf and in-toto verify).
func FuzzEncodeAgreesWithSecuresystemslib(f *testing.F) {
	for _, s := range []string{`{"a":1,"b":[true,null,"x\"\\"]}`, `[]`, `"é\u0000"`, `{"keyval":{"public":"-----BEGIN"}}`, `{"z":{"y":[{"x":-12}]}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		var v any
		dec := json.NewDecoder(bytes.NewReader(doc))
		dec.UseNumber()
		if dec.Decode(&v) != nil || dec.More() {
			return
		}
		if longNumber.Match(doc) {
			return // cjson reads numbers as float64: beyond 2^53 it rounds, we keep the digits
		}
		ours, err := Encode(v)
		if err != nil {
			return // fractions and exponents are refused: TUF and in-toto sign integers only
		}
		theirs, err := cjson.EncodeCanonical(v)
		if err != nil {
			t.Fatalf("we encoded %s as %s, cjson refuses it: %v", doc, ours, err)
		}
		if !bytes.Equal(ours, theirs) {
			t.Fatalf("canonical forms differ for %s:\n ours %s\ncjson %s", doc, ours, theirs)
		}
	})
}
