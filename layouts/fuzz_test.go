package layouts

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/secure-systems-lab/go-securesystemslib/cjson"

	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/keys"
)

// canonicalSigned returns the canonical bytes the signatures of b cover.
func canonicalSigned(t testing.TB, b []byte) []byte {
	env, err := parseEnvelope(b)
	if err != nil {
		t.Fatalf("vector does not parse: %v", err)
	}
	return env.canonical
}

// FuzzVerifyLayout feeds arbitrary bytes as the root layout of the python
// vector. Verification must never panic, must classify every failure, and may
// pass only for a layout whose signed content is exactly the vector's.
func FuzzVerifyLayout(f *testing.F) {
	in := vectorInput(f)
	want := canonicalSigned(f, in.Layout)
	f.Fuzz(func(t *testing.T, data []byte) {
		in := in
		in.Layout = data
		res, err := Verify(context.Background(), in)
		checkFuzzOutcome(t, res, err, data)
		if err == nil {
			if got := canonicalSigned(t, data); !bytes.Equal(got, want) {
				t.Fatalf("a layout other than the signed one verified:\n%s", got)
			}
		}
	})
}

// FuzzVerifyLink feeds arbitrary bytes as the vector's package link.
func FuzzVerifyLink(f *testing.F) {
	in := vectorInput(f)
	const name = "package.cbc48efe.link"
	want := canonicalSigned(f, in.Links[name])
	f.Fuzz(func(t *testing.T, data []byte) {
		in := in
		in.Links = map[string][]byte{name: data, "write-bundle.68a12d64.link": in.Links["write-bundle.68a12d64.link"]}
		res, err := Verify(context.Background(), in)
		checkFuzzOutcome(t, res, err, data)
		if err == nil {
			if got := canonicalSigned(t, data); !bytes.Equal(got, want) {
				t.Fatalf("a link other than the signed one verified:\n%s", got)
			}
		}
	})
}

// FuzzParseEnvelope exercises the parser alone (far more executions per
// second than a whole verification): whatever it accepts, encoding/json and
// go-securesystemslib must read the same way, and a parsed link's artifacts
// must be exactly those of its "signed" object.
func FuzzParseEnvelope(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		checkCanonicalAgrees(t, data)
		env, err := parseEnvelope(data)
		if err != nil {
			return
		}
		if (env.layout == nil) == (env.link == nil) {
			t.Fatalf("parsed as both or neither layout and link: %+v", env)
		}
		if env.link != nil && env.artifactErr == nil {
			for name := range env.link.Materials {
				if checkArtifactPath(name) != nil {
					t.Fatalf("unclean material %q not flagged", name)
				}
			}
			for name := range env.link.Products {
				if checkArtifactPath(name) != nil {
					t.Fatalf("unclean product %q not flagged", name)
				}
			}
		}
	})
}

func checkFuzzOutcome(t *testing.T, res *Result, err error, data []byte) {
	t.Helper()
	checkCanonicalAgrees(t, data)
	if err == nil {
		if res == nil || !res.Verified || res.FirstFailure() != nil {
			t.Fatalf("no error but the report says otherwise: %+v", res)
		}
		return
	}
	if fault.KindOf(err) != fault.Denied && len(data) > 0 {
		t.Fatalf("unclassified or misclassified failure (%v): %v", fault.KindOf(err), err)
	}
	if res != nil && (res.Verified || res.FirstFailure() == nil) {
		t.Fatalf("error %v but the report has no failed check: %+v", err, res)
	}
}

func TestFuzzSeedCorporaAreNotEmpty(t *testing.T) {
	for _, target := range []string{"FuzzVerifyLayout", "FuzzVerifyLink", "FuzzParseEnvelope", "FuzzDecodeGenericAgreesWithEncodingJSON"} {
		files, _ := filepath.Glob(filepath.Join("testdata", "fuzz", target, "*"))
		if len(files) < 5 {
			t.Errorf("testdata/fuzz/%s: %d seed files, want at least 5 (the glob must match the checked-in corpus)", target, len(files))
		}
		for _, f := range files {
			b, _ := os.ReadFile(f)
			if !bytes.HasPrefix(b, []byte("go test fuzz v1\n")) {
				t.Errorf("%s is not a go fuzz corpus file", f)
			}
		}
	}
}

// checkCanonicalAgrees asserts that, for anything parseEnvelope accepts, our
// canonical bytes are exactly go-securesystemslib's for the raw "signed".
func checkCanonicalAgrees(t *testing.T, data []byte) {
	t.Helper()
	env, err := parseEnvelope(data)
	if err != nil {
		return
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		t.Fatalf("parseEnvelope accepted what encoding/json refuses: %v", err)
	}
	want, err := cjson.EncodeCanonical(top["signed"])
	if err != nil {
		t.Fatalf("parseEnvelope canonicalized what cjson refuses: %v", err)
	}
	if !bytes.Equal(env.canonical, want) {
		t.Fatalf("canonical forms differ:\n ours %s\ncjson %s", env.canonical, want)
	}
}

func TestCanonicalFormMatchesSecuresystemslib(t *testing.T) {
	files := [][]byte{readVector(t, "root.layout"), readVector(t, "package.cbc48efe.link"), readVector(t, "write-bundle.68a12d64.link")}
	c := newChain(t, keys.GenRSA3072)
	files = append(files, c.layout)
	for _, b := range c.links {
		files = append(files, b)
	}
	files = append(files, []byte(`{"signed":{"_type":"link","name":"q\"\\\u00e9\n<>&","materials":{},"products":{},"byproducts":{"return-value":-0},"command":[],"environment":{"a":[true,false,null,12]}},"signatures":[]}`))
	for _, b := range files {
		if _, err := parseEnvelope(b); err != nil {
			t.Fatalf("%v\n%s", err, b)
		}
		checkCanonicalAgrees(t, b)
	}
}

// FuzzDecodeGenericAgreesWithEncodingJSON compares decodeGeneric with
// encoding/json (Decoder, UseNumber, nothing after the value): both accept or
// both refuse, and accepted input decodes to equal values.
func FuzzDecodeGenericAgreesWithEncodingJSON(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		ours, ourErr := decodeGeneric(data)
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		var theirs any
		theirErr := dec.Decode(&theirs)
		if theirErr == nil {
			if _, err := dec.Token(); err != io.EOF {
				theirErr = errors.New("trailing data")
			}
		}
		if (ourErr == nil) != (theirErr == nil) {
			t.Fatalf("decodeGeneric error %v, encoding/json error %v, input %q", ourErr, theirErr, data)
		}
		if ourErr == nil && !reflect.DeepEqual(ours, theirs) {
			t.Fatalf("decoded differently:\n ours %#v\njson %#v", ours, theirs)
		}
	})
}
