package bundle

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"

	digest "github.com/opencontainers/go-digest"
	"github.com/xeipuuv/gojsonschema"

	"github.com/cnabsec/cnabsec/internal/fault"
)

// Validate checks that the bundle may be transmitted and run: valid against
// the CNAB JSON schema (the schema cnab-go's schema.ValidateBundle checks,
// compiled once per process; a null top-level member counts as absent, as
// cnab-go reads it), cnab-go's own rules (Bundle.Validate: schema version is
// semver, at least one invocation image, version not "latest", docker/oci
// invocation images carry a tag, required extensions defined under custom,
// parameter/credential/output rules), requiredExtensions non-empty and
// unique, and a well-formed contentDigest on every invocation image and image
// (a MUST for transmitted bundles). All problems are reported in one Denied
// error wrapping ErrInvalidBundle and, for digests, ErrNoContentDigest.
// Validate is safe for concurrent use.
func (b *Bundle) Validate() error {
	var errs []error
	schemaErrs, err := validateSchema(b.Raw)
	if err != nil {
		return fault.Deniedf("%w: bundle.json: the CNAB schema check could not run: %v", ErrInvalidBundle, err)
	}
	errs = append(errs, schemaErrs...)
	if err := b.Parsed.Validate(); err != nil {
		errs = append(errs, err)
	}
	seen := map[string]bool{}
	for i, e := range b.required {
		if strings.TrimSpace(e) == "" {
			errs = append(errs, fmt.Errorf("requiredExtensions[%d] is empty", i))
		}
		if seen[e] {
			errs = append(errs, fmt.Errorf("requiredExtensions lists %q twice", e))
		}
		seen[e] = true
	}
	for _, img := range b.images {
		if err := checkContentDigest(img); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return fault.Deniedf("%w: bundle %q version %q: %w", ErrInvalidBundle, b.Parsed.Name, b.Parsed.Version, joined(errs))
}

func checkContentDigest(img Image) error {
	if img.ContentDigest == "" {
		return fmt.Errorf("%s has %w", img, ErrNoContentDigest)
	}
	if _, err := digest.Parse(img.ContentDigest); err != nil {
		return fmt.Errorf("%s has a malformed contentDigest %q (%v): %w", img, img.ContentDigest, err, ErrNoContentDigest)
	}
	return nil
}

// bundleSchemaJSON is the CNAB Core 1.x bundle JSON schema as published by
// the CNAB specification, byte for byte the copy cnab-go v0.25.2 embeds
// (cnab-go keeps its copy unexported and compiles it on every
// schema.ValidateBundle call). TestEmbeddedSchemaIsCnabGos pins the two
// together, and TestSchemaErrorsMatchCnabGo checks that both report the same
// errors.
//
//go:embed cnab-bundle.schema.json
var bundleSchemaJSON []byte

// bundleSchema compiles bundleSchemaJSON once, on first use. A compiled
// gojsonschema.Schema is read-only while validating, so one serves every
// goroutine.
var bundleSchema = sync.OnceValues(func() (*gojsonschema.Schema, error) {
	s, err := gojsonschema.NewSchemaLoader().Compile(gojsonschema.NewBytesLoader(bundleSchemaJSON))
	if err != nil {
		return nil, fmt.Errorf("unable to compile the CNAB bundle schema: %w", err)
	}
	return s, nil
})

// validateSchema runs the CNAB JSON schema over raw, with null top-level
// members removed (cnab-go and cnab-to-oci write and read them as absent).
// Each schema error reads as cnab-go's schema.ValidateBundle words it,
// prefixed "schema: "; they are sorted.
func validateSchema(raw []byte) ([]error, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil {
		return nil, err
	}
	for k, m := range top {
		if string(m) == "null" {
			delete(top, k)
		}
	}
	doc, err := json.Marshal(top)
	if err != nil {
		return nil, err
	}
	s, err := bundleSchema()
	if err != nil {
		return nil, err
	}
	res, err := s.Validate(gojsonschema.NewBytesLoader(doc))
	if err != nil {
		return nil, fmt.Errorf("unable to validate provided data: %w", err)
	}
	out := make([]error, 0, len(res.Errors()))
	for _, e := range res.Errors() {
		out = append(out, fmt.Errorf("schema: %v", e.String()))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Error() < out[j].Error() })
	return out, nil
}

// joined is errors.Join with a one-line message.
type joined []error

func (j joined) Error() string {
	s := make([]string, len(j))
	for i, e := range j {
		s[i] = e.Error()
	}
	return strings.Join(s, "; ")
}

func (j joined) Unwrap() []error { return j }
