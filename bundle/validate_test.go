package bundle

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/cnabio/cnab-go/schema"

	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/internal/testing/errtest"
)

// The embedded schema must be the one cnab-go checks: a drift (cnab-go
// upgraded with a new schema, or an edit here) would silently change which
// bundles validate.
func TestEmbeddedSchemaIsCnabGos(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool to locate cnab-go's module source")
	}
	out, err := exec.Command(goTool, "list", "-m", "-f", "{{.Dir}}", "github.com/cnabio/cnab-go").Output()
	if err != nil {
		t.Fatalf("go list -m github.com/cnabio/cnab-go: %v", err)
	}
	dir := strings.TrimSpace(string(out))
	if dir == "" {
		t.Fatal("go list -m github.com/cnabio/cnab-go: no module directory (module not downloaded?)")
	}
	theirs, err := os.ReadFile(filepath.Join(dir, "schema", "schema", "bundle.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(bundleSchemaJSON, theirs) {
		t.Fatalf("bundle/cnab-bundle.schema.json (%d bytes, sha256 %s) differs from cnab-go's schema/schema/bundle.schema.json (%d bytes, sha256 %s): copy cnab-go's file here",
			len(bundleSchemaJSON), sha256Hex(bundleSchemaJSON), len(theirs), sha256Hex(theirs))
	}
}

// cnabGoSchemaErrors is what validateSchema did before the schema was
// compiled once: cnab-go's schema.ValidateBundle (which compiles on every
// call) over raw with null top-level members removed.
func cnabGoSchemaErrors(t *testing.T, raw []byte) []string {
	t.Helper()
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil {
		t.Fatal(err)
	}
	for k, m := range top {
		if string(m) == "null" {
			delete(top, k)
		}
	}
	doc, err := json.Marshal(top)
	if err != nil {
		t.Fatal(err)
	}
	verrs, err := schema.ValidateBundle(doc)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range verrs {
		out = append(out, "schema: "+e.Error())
	}
	slices.Sort(out)
	return out
}

// schemaCorpus holds bundles that pass the schema and bundles that break it
// in each way the schema checks: unknown members, wrong types, missing
// required members, bad nested images, parameters, credentials and outputs.
func schemaCorpus(t *testing.T) map[string][]byte {
	t.Helper()
	c := map[string][]byte{}
	for _, v := range []string{"cnab/signy-thin-bundle.json", "cnab/spec-101.01-bundle.json", "cnab/spec-101.02-bundle.json", "cnab/spec-101.03-bundle.json"} {
		c[v] = readVector(t, v)
	}
	canon, err := Canonicalize(readVector(t, "cnab/cnab-to-oci-helloworld.pretty.json"))
	if err != nil {
		t.Fatal(err)
	}
	c["cnab-to-oci with null members"] = canon
	for name, extra := range map[string]string{
		"valid":                                   "",
		"unknown top-level member":                `,"surprise":1`,
		"keywords not strings":                    `,"keywords":[1,true]`,
		"maintainer without a name":               `,"maintainers":[{"email":"a@b"}]`,
		"parameter without a def":                 `,"parameters":{"p":{"destination":{"env":"P"}}}`,
		"parameter with unknown member (allowed)": `,"definitions":{"s":{"type":"string"}},"parameters":{"p":{"definition":"s","destination":{"env":"P"},"bogus":1}}`,
		"credential not an object":                `,"credentials":{"c":"x"}`,
		"output applyTo not array":                `,"definitions":{"s":{"type":"string"}},"outputs":{"o":{"definition":"s","path":"/cnab/app/outputs/o","applyTo":"install"}}`,
		"actions wrong shape":                     `,"actions":{"status":{"modifies":"no"}}`,
		"custom not an object":                    `,"custom":[1]`,
		"license a number":                        `,"license":7`,
	} {
		c[name] = testBundle(t, "", "", extra)
	}
	c["image without image member"] = testBundle(t, "", `{"imageType":"oci","contentDigest":"`+digestB+`"}`, "")
	c["invocation image size a string"] = testBundle(t, `{"image":"cnab/app:1.0","imageType":"docker","contentDigest":"`+digestA+`","size":"big"}`, "", "")
	c["missing name and version"] = []byte(`{"invocationImages":[{"image":"a:1","imageType":"docker"}],"schemaVersion":"v1.0.0"}`)
	c["schemaVersion a number"] = []byte(`{"invocationImages":[{"image":"a:1"}],"name":"a","schemaVersion":1,"version":"1.0.0"}`)
	return c
}

// Compiling the schema once must not change a single verdict or word:
// every corpus bundle gets exactly the errors cnab-go's per-call
// schema.ValidateBundle reports, and the invalid ones do get errors.
func TestSchemaErrorsMatchCnabGo(t *testing.T) {
	invalid := 0
	for name, raw := range schemaCorpus(t) {
		t.Run(name, func(t *testing.T) {
			got, err := validateSchema(raw)
			if err != nil {
				t.Fatal(err)
			}
			var gotS []string
			for _, e := range got {
				gotS = append(gotS, e.Error())
			}
			want := cnabGoSchemaErrors(t, raw)
			if !slices.Equal(gotS, want) {
				t.Errorf("schema errors differ from cnab-go's\ngot  %q\nwant %q", gotS, want)
			}
			if len(want) > 0 {
				invalid++
			}
		})
	}
	if invalid < 10 {
		t.Errorf("only %d corpus bundles break the schema: the corpus no longer exercises the refusals", invalid)
	}
}

// Validate is called from many goroutines at once (the verify service, batch
// signing): the shared compiled schema must neither race (run with -race) nor
// mix up verdicts between goroutines.
func TestConcurrentValidateStillRefusesInvalidBundleWithSameReason(t *testing.T) {
	good, err := Parse(testBundle(t, "", "", ""))
	if err != nil {
		t.Fatal(err)
	}
	bad, err := Parse(testBundle(t, "", "", `,"surprise":1`))
	if err != nil {
		t.Fatal(err)
	}
	noDigest, err := Parse(testBundle(t, "", `{"image":"docker.io/x/web:1.0","imageType":"oci"}`, ""))
	if err != nil {
		t.Fatal(err)
	}
	const wantBad = `invalid CNAB bundle: bundle "app" version "1.0.0": schema: (root): Additional property surprise is not allowed`
	const wantNoDigest = `invalid CNAB bundle: bundle "app" version "1.0.0": image "web" (docker.io/x/web:1.0) has no contentDigest`
	const goroutines, calls = 8, 20
	var wg sync.WaitGroup
	errs := make(chan error, goroutines*calls*3)
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range calls {
				// Vary the order so goroutines overlap on different bundles.
				for j := range 3 {
					switch (g + i + j) % 3 {
					case 0:
						if err := good.Validate(); err != nil {
							errs <- fmt.Errorf("valid bundle refused: %v", err)
						}
					case 1:
						err := bad.Validate()
						if err == nil || err.Error() != wantBad || fault.KindOf(err) != fault.Denied {
							errs <- fmt.Errorf("unknown member: got %v (kind %v), want Denied %q", err, fault.KindOf(err), wantBad)
						}
					case 2:
						err := noDigest.Validate()
						if err == nil || err.Error() != wantNoDigest || fault.KindOf(err) != fault.Denied {
							errs <- fmt.Errorf("missing digest: got %v (kind %v), want Denied %q", err, fault.KindOf(err), wantNoDigest)
						}
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	n := 0
	for err := range errs {
		if n < 5 {
			t.Error(err)
		}
		n++
	}
	if n > 0 {
		t.Errorf("%d of %d calls went wrong", n, goroutines*calls*3)
	}
	errtest.WantIs(t, bad.Validate(), fault.Denied, ErrInvalidBundle, "Additional property surprise is not allowed")
}

func TestEmbeddedSchemaCompiles(t *testing.T) {
	s, err := bundleSchema()
	if err != nil || s == nil {
		t.Fatalf("the embedded CNAB schema does not compile: %v", err)
	}
}
