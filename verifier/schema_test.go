package verifier_test

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/xeipuuv/gojsonschema"

	"github.com/cnabsec/cnabsec/verifier"
)

// TestReportMatchesDocumentedSchema keeps docs/verify-report.schema.json and
// the JSON report in step, for a pass and for a denial.
func TestReportMatchesDocumentedSchema(t *testing.T) {
	schemaBytes, err := os.ReadFile("../docs/verify-report.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	schema, err := gojsonschema.NewSchema(gojsonschema.NewBytesLoader(schemaBytes))
	if err != nil {
		t.Fatalf("schema: %v", err)
	}
	s := build(t, false)
	pass, err := verify(t, s, s.BundleRef)
	if err != nil {
		t.Fatal(err)
	}
	deny, err := verify(t, s, s.BundleRef, withLevel(verifier.Level4))
	if err == nil {
		t.Fatal("level 4 verified without provenance")
	}
	sp := build(t, true)
	withProvenance, err := verify(t, sp, sp.BundleRef, withLevel(verifier.Level4))
	if err != nil || len(withProvenance.Provenance) == 0 {
		t.Fatalf("level 4: %v, provenance %v", err, withProvenance.Provenance)
	}
	for name, r := range map[string]*verifier.Report{"pass": pass, "denial": deny, "level 4 with provenance": withProvenance} {
		b, _ := json.Marshal(r)
		res, err := schema.Validate(gojsonschema.NewBytesLoader(b))
		if err != nil {
			t.Fatal(err)
		}
		if !res.Valid() {
			t.Errorf("%s report does not match the documented schema: %v\n%s", name, res.Errors(), b)
		}
	}
	// The schema is strict: an unknown field is refused.
	res, _ := schema.Validate(gojsonschema.NewStringLoader(`{"reference":"x","verified":true,"requiredLevel":"2","achievedLevel":"2","bundleDigest":"","checks":[],"error":"","extra":1}`))
	if res.Valid() {
		t.Fatal("schema accepts unknown fields")
	}
}
