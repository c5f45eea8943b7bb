package layouts

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/in-toto/in-toto-golang/in_toto"
	"go.yaml.in/yaml/v3"

	"github.com/cnabsec/cnabsec/internal/decodeerr"
	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/keys"
)

// DefaultExpiry is how long a layout is valid when the template names no expiry.
const DefaultExpiry = 365 * 24 * time.Hour

// maxTemplate caps a layout template.
const maxTemplate = 4 << 20

// Template is a layout template (docs/cli.md, "layout create"): in-toto's layout
// fields, except that functionaries are named by key file.
type Template struct {
	Type    string               `yaml:"_type" json:"_type"`
	Expires string               `yaml:"expires" json:"expires"`
	Readme  string               `yaml:"readme" json:"readme"`
	Steps   []TemplateStep       `yaml:"steps" json:"steps"`
	Inspect []TemplateInspection `yaml:"inspect" json:"inspect"`
}

// TemplateStep is one step of a Template.
type TemplateStep struct {
	Type              string     `yaml:"_type" json:"_type"`
	Name              string     `yaml:"name" json:"name"`
	Functionaries     []string   `yaml:"functionaries" json:"functionaries"`
	Threshold         *int       `yaml:"threshold" json:"threshold"`
	ExpectedCommand   []string   `yaml:"expected_command" json:"expected_command"`
	ExpectedMaterials [][]string `yaml:"expected_materials" json:"expected_materials"`
	ExpectedProducts  [][]string `yaml:"expected_products" json:"expected_products"`
}

// TemplateInspection is one inspection of a Template.
type TemplateInspection struct {
	Type              string     `yaml:"_type" json:"_type"`
	Name              string     `yaml:"name" json:"name"`
	Run               []string   `yaml:"run" json:"run"`
	ExpectedMaterials [][]string `yaml:"expected_materials" json:"expected_materials"`
	ExpectedProducts  [][]string `yaml:"expected_products" json:"expected_products"`
}

// ParseTemplate reads a YAML or JSON template. Unknown fields are refused: a
// misspelt rule list must not silently leave a step unconstrained.
func ParseTemplate(b []byte) (*Template, error) {
	if len(b) > maxTemplate {
		return nil, fault.Inputf("layout template: %d bytes exceeds the limit of %d", len(b), maxTemplate)
	}
	var t Template
	trimmed := bytes.TrimSpace(b)
	if len(trimmed) == 0 {
		return nil, fault.Inputf("layout template: empty")
	}
	if trimmed[0] == '{' {
		dec := json.NewDecoder(bytes.NewReader(trimmed))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&t); err != nil {
			return nil, fault.Inputf("layout template (JSON): %s", decodeerr.Describe(err))
		}
		if dec.More() {
			return nil, fault.Inputf("layout template (JSON): trailing data after the object")
		}
	} else {
		dec := yaml.NewDecoder(bytes.NewReader(b))
		dec.KnownFields(true)
		if err := dec.Decode(&t); err != nil {
			return nil, fault.Inputf("layout template (YAML): %s", yamlError(err))
		}
		var extra any
		if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
			return nil, fault.Inputf("layout template (YAML): more than one document")
		}
	}
	return &t, nil
}

// CreateOptions are the inputs of CreateLayout besides the template.
type CreateOptions struct {
	// Owners sign the layout; verifiers need every owner's public key.
	Owners []keys.Signer
	// BaseDir resolves relative functionary key file paths (usually the
	// template's directory).
	BaseDir string
	// Now is the time expiry durations count from.
	Now time.Time
	// Expires, when set, overrides the template's expires (a duration or an
	// RFC 3339 time).
	Expires string
}

// Create authors a root layout from a template and signs it with every owner.
func Create(template []byte, owners []keys.Signer, baseDir string, now time.Time) (*in_toto.Metablock, error) {
	return CreateLayout(context.Background(), template, CreateOptions{Owners: owners, BaseDir: baseDir, Now: now})
}

// CreateLayout authors a root layout from a template and signs it with every
// owner (classic Metablock, canonical JSON of "signed", as in-toto signs).
func CreateLayout(ctx context.Context, template []byte, opts CreateOptions) (*in_toto.Metablock, error) {
	t, err := ParseTemplate(template)
	if err != nil {
		return nil, err
	}
	if opts.Expires != "" {
		t.Expires = opts.Expires
	}
	return t.build(ctx, opts)
}

func (t *Template) build(ctx context.Context, opts CreateOptions) (*in_toto.Metablock, error) {
	if err := checkOwners(opts); err != nil {
		return nil, err
	}
	if err := t.checkShape(); err != nil {
		return nil, err
	}
	expires, err := parseExpires(t.Expires, opts.Now)
	if err != nil {
		return nil, err
	}
	l := in_toto.Layout{
		Type:    "layout",
		Steps:   []in_toto.Step{},
		Inspect: []in_toto.Inspection{},
		Keys:    map[string]in_toto.Key{},
		Expires: expires.Format(expiresFormat),
		Readme:  t.Readme,
	}
	names := t.itemNames()
	for _, ts := range t.Steps {
		step, err := ts.build(opts.BaseDir, names, l.Keys)
		if err != nil {
			return nil, err
		}
		l.Steps = append(l.Steps, step)
	}
	for _, ti := range t.Inspect {
		in, err := ti.build(names)
		if err != nil {
			return nil, err
		}
		l.Inspect = append(l.Inspect, in)
	}
	if _, err := validateLayout(&l); err != nil {
		return nil, fault.Inputf("layout template: %w", err)
	}
	mb := &in_toto.Metablock{Signed: l, Signatures: []in_toto.Signature{}}
	if err := signMetablock(ctx, mb, opts.Owners); err != nil {
		return nil, fault.Inputf("layout: %w", err)
	}
	return mb, nil
}

// checkOwners refuses no owner, an owner given twice and a missing time.
func checkOwners(opts CreateOptions) error {
	if len(opts.Owners) == 0 {
		return fault.Inputf("layout: no owner key to sign it with")
	}
	for i, o := range opts.Owners {
		for _, p := range opts.Owners[:i] {
			if o.Public().Equal(p.Public()) {
				return fault.Inputf("layout: owner key %s is given twice", o.Public().ID())
			}
		}
	}
	if opts.Now.IsZero() {
		return fault.Inputf("layout: no current time given")
	}
	return nil
}

// checkShape refuses another _type and a layout without steps.
func (t *Template) checkShape() error {
	if t.Type != "" && t.Type != "layout" {
		return fault.Inputf("layout template: _type %q, want \"layout\"", t.Type)
	}
	if len(t.Steps) == 0 {
		return fault.WithRemedy(fault.Inputf("layout template: no steps: a layout without steps verifies nothing"),
			fault.RemedyAddSteps, "")
	}
	return nil
}

// itemNames are the names MATCH rules may refer to.
func (t *Template) itemNames() map[string]bool {
	names := map[string]bool{}
	for _, s := range t.Steps {
		names[s.Name] = true
	}
	for _, in := range t.Inspect {
		names[in.Name] = true
	}
	return names
}

// build turns a template step into an in-toto step, loading its
// functionary keys (each distinct) into keyring.
func (ts TemplateStep) build(baseDir string, names map[string]bool, keyring map[string]in_toto.Key) (in_toto.Step, error) {
	if ts.Type != "" && ts.Type != "step" {
		return in_toto.Step{}, fault.Inputf("layout template: step %q: _type %q, want \"step\"", ts.Name, ts.Type)
	}
	step := in_toto.Step{
		Type:            "step",
		PubKeys:         []string{},
		ExpectedCommand: nonNil(ts.ExpectedCommand),
		Threshold:       1,
		SupplyChainItem: in_toto.SupplyChainItem{
			Name:              ts.Name,
			ExpectedMaterials: nonNilRules(ts.ExpectedMaterials),
			ExpectedProducts:  nonNilRules(ts.ExpectedProducts),
		},
	}
	if ts.Threshold != nil {
		step.Threshold = *ts.Threshold
	}
	if len(ts.Functionaries) == 0 {
		return step, fault.Inputf("layout template: step %q: no functionaries (key files of who may perform it)", ts.Name)
	}
	distinct, err := ts.functionaries(baseDir)
	if err != nil {
		return step, err
	}
	for _, pub := range distinct {
		keyring[pub.ID()] = pub.InTotoKey()
		step.PubKeys = append(step.PubKeys, pub.ID())
	}
	if step.Threshold > len(distinct) {
		return step, fault.Inputf("layout template: step %q: threshold %d can never be met by %d distinct functionary key(s)", ts.Name, step.Threshold, len(distinct))
	}
	return step, checkMatchTargets(ts.Name, names, step.ExpectedMaterials, step.ExpectedProducts)
}

// functionaries loads the step's key files (relative to baseDir), refusing
// one key listed twice.
func (ts TemplateStep) functionaries(baseDir string) ([]*keys.PublicKey, error) {
	var distinct []*keys.PublicKey
	for _, f := range ts.Functionaries {
		p := f
		if !filepath.IsAbs(p) {
			p = filepath.Join(baseDir, p)
		}
		pub, err := keys.LoadPublic(p)
		if err != nil {
			return nil, fault.Inputf("layout template: step %q: functionary key: %w", ts.Name, err)
		}
		for _, d := range distinct {
			if d.Equal(pub) {
				return nil, fault.Inputf("layout template: step %q: functionary key %s (%s) is listed twice", ts.Name, pub.ID(), f)
			}
		}
		distinct = append(distinct, pub)
	}
	return distinct, nil
}

// build turns a template inspection into an in-toto inspection.
func (ti TemplateInspection) build(names map[string]bool) (in_toto.Inspection, error) {
	if ti.Type != "" && ti.Type != "inspection" {
		return in_toto.Inspection{}, fault.Inputf("layout template: inspection %q: _type %q, want \"inspection\"", ti.Name, ti.Type)
	}
	in := in_toto.Inspection{
		Type: "inspection",
		Run:  nonNil(ti.Run),
		SupplyChainItem: in_toto.SupplyChainItem{
			Name:              ti.Name,
			ExpectedMaterials: nonNilRules(ti.ExpectedMaterials),
			ExpectedProducts:  nonNilRules(ti.ExpectedProducts),
		},
	}
	return in, checkMatchTargets(ti.Name, names, in.ExpectedMaterials, in.ExpectedProducts)
}

// checkMatchTargets refuses MATCH rules naming a step or inspection that the
// layout does not have (a typo that would make the rule match nothing).
func checkMatchTargets(item string, names map[string]bool, lists ...[][]string) error {
	for _, rules := range lists {
		for _, r := range rules {
			d, err := in_toto.UnpackRule(r)
			if err != nil {
				return fault.Inputf("layout template: %q: rule %q: %v", item, r, err)
			}
			if d["type"] == "match" && !names[d["dstName"]] {
				return fault.Inputf("layout template: %q: rule %q matches against %q, which is not a step or inspection of this layout", item, strings.Join(r, " "), d["dstName"])
			}
		}
	}
	return nil
}

// parseExpires reads a duration from now or an RFC 3339 time; the result is
// UTC with whole seconds and must be in the future.
func parseExpires(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return now.UTC().Add(DefaultExpiry).Truncate(time.Second), nil
	}
	var t time.Time
	if d, err := time.ParseDuration(s); err == nil {
		t = now.Add(d)
	} else if at, err := time.Parse(time.RFC3339, s); err == nil {
		t = at
	} else {
		return time.Time{}, fault.Inputf("layout: expires %q is neither a duration (8760h) nor an RFC 3339 time", s)
	}
	t = t.UTC().Truncate(time.Second)
	if !t.After(now) {
		return time.Time{}, fault.Inputf("layout: expires %s is not in the future", t.Format(time.RFC3339))
	}
	return t, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func nonNilRules(r [][]string) [][]string {
	if r == nil {
		return [][]string{}
	}
	for i := range r {
		r[i] = nonNil(r[i])
	}
	return r
}

// yamlError renders a YAML decoding error on one line, in template terms:
// an unknown field is named as a step, inspection or template field.
func yamlError(err error) string {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return decodeerr.Describe(err)
	}
	r := strings.NewReplacer(
		"not found in type layouts.TemplateStep", "is not a step field (misspelt?)",
		"not found in type layouts.TemplateInspection", "is not an inspection field (misspelt?)",
		"not found in type layouts.Template", "is not a layout template field (misspelt?)")
	named := &yaml.TypeError{Errors: make([]string, len(te.Errors))}
	for i, m := range te.Errors {
		named.Errors[i] = r.Replace(m)
	}
	return decodeerr.Describe(named)
}
