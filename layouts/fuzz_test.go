package layouts

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/cnabsec/cnabsec/internal/fault"
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

func checkFuzzOutcome(t *testing.T, res *Result, err error, data []byte) {
	t.Helper()
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
	for _, target := range []string{"FuzzVerifyLayout", "FuzzVerifyLink"} {
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
