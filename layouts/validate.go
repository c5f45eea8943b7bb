package layouts

import (
	"fmt"
	"strings"
	"time"

	"github.com/in-toto/in-toto-golang/in_toto"

	"github.com/cnabsec/cnabsec/keys"
)

// maxItems bounds the steps plus inspections of one layout.
const maxItems = 1000

// layoutKeys checks every key a layout lists (its map key must be the ID
// computed from the listing, no private part, a scheme we verify) and returns
// them as our public keys by ID.
func layoutKeys(l *in_toto.Layout) (map[string]*keys.PublicKey, error) {
	out := make(map[string]*keys.PublicKey, len(l.Keys))
	for id, k := range l.Keys {
		if k.KeyID != id {
			return nil, fmt.Errorf("key %s is listed with keyid %q", id, k.KeyID)
		}
		if k.KeyVal.Private != "" {
			return nil, fmt.Errorf("key %s carries a private key", id)
		}
		computed, err := listedKeyID(k)
		if err != nil {
			return nil, fmt.Errorf("key %s: %v", id, err)
		}
		if computed != id {
			return nil, fmt.Errorf("key %s: its key ID should be %s (the listing does not match its ID)", id, computed)
		}
		pub, err := keys.FromInTotoKey(k)
		if err != nil {
			return nil, fmt.Errorf("key %s: %v", id, err)
		}
		if pub.Scheme != k.Scheme {
			return nil, fmt.Errorf("key %s: scheme %q is not supported for keytype %q (want %q)", id, k.Scheme, k.KeyType, pub.Scheme)
		}
		out[id] = pub
	}
	return out, nil
}

// validateLayout checks the structure of a layout; it does not check
// signatures or expiry.
func validateLayout(l *in_toto.Layout) (map[string]*keys.PublicKey, error) {
	if err := checkLayoutHeader(l); err != nil {
		return nil, err
	}
	ks, err := layoutKeys(l)
	if err != nil {
		return nil, err
	}
	if len(l.Steps) == 0 {
		return nil, fmt.Errorf("the layout has no steps, so it verifies nothing")
	}
	if len(l.Steps)+len(l.Inspect) > maxItems {
		return nil, fmt.Errorf("%d steps and inspections exceed the limit of %d", len(l.Steps)+len(l.Inspect), maxItems)
	}
	seen := map[string]bool{}
	for _, s := range l.Steps {
		if err := checkStep(s, ks, seen); err != nil {
			return nil, err
		}
	}
	for _, in := range l.Inspect {
		if err := checkInspection(in, seen); err != nil {
			return nil, err
		}
	}
	return ks, nil
}

// checkLayoutHeader checks _type, expires and the unsupported CA fields.
func checkLayoutHeader(l *in_toto.Layout) error {
	if l.Type != "layout" {
		return fmt.Errorf("_type is %q, want \"layout\"", l.Type)
	}
	if _, err := time.Parse(expiresFormat, l.Expires); err != nil {
		return fmt.Errorf("expires %q is not of the form 2006-01-02T15:04:05Z", l.Expires)
	}
	if len(l.RootCas) > 0 || len(l.IntermediateCas) > 0 {
		return fmt.Errorf("certificate authorities (rootcas, intermediatecas) are not supported")
	}
	return nil
}

// checkStep checks one step: its name, _type, threshold, functionaries
// (each a key of the layout) and rules.
func checkStep(s in_toto.Step, ks map[string]*keys.PublicKey, seen map[string]bool) error {
	if err := checkItemName(s.Name, seen); err != nil {
		return fmt.Errorf("step %q: %v", s.Name, err)
	}
	switch {
	case s.Type != "step":
		return fmt.Errorf("step %q: _type is %q, want \"step\"", s.Name, s.Type)
	case len(s.CertificateConstraints) > 0:
		return fmt.Errorf("step %q: cert_constraints are not supported", s.Name)
	case s.Threshold < 1:
		return fmt.Errorf("step %q: threshold %d is below 1", s.Name, s.Threshold)
	case len(s.PubKeys) == 0:
		return fmt.Errorf("step %q: no functionary keys (pubkeys)", s.Name)
	}
	for _, id := range s.PubKeys {
		if _, ok := ks[id]; !ok {
			return fmt.Errorf("step %q: functionary key %s is not in the layout's keys", s.Name, id)
		}
	}
	if err := checkRules(s.ExpectedMaterials, s.ExpectedProducts); err != nil {
		return fmt.Errorf("step %q: %v", s.Name, err)
	}
	return nil
}

// checkInspection checks one inspection: its name, _type, command and rules.
func checkInspection(in in_toto.Inspection, seen map[string]bool) error {
	if err := checkItemName(in.Name, seen); err != nil {
		return fmt.Errorf("inspection %q: %v", in.Name, err)
	}
	if in.Type != "inspection" {
		return fmt.Errorf("inspection %q: _type is %q, want \"inspection\"", in.Name, in.Type)
	}
	if len(in.Run) == 0 {
		return fmt.Errorf("inspection %q: empty run command", in.Name)
	}
	if err := checkRules(in.ExpectedMaterials, in.ExpectedProducts); err != nil {
		return fmt.Errorf("inspection %q: %v", in.Name, err)
	}
	return nil
}

// checkItemName refuses names that cannot be a link file name or repeat.
func checkItemName(name string, seen map[string]bool) error {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\\\x00") || strings.HasPrefix(name, ".") {
		return fmt.Errorf("name must be non-empty, must not start with '.' and must not contain '/' or '\\'")
	}
	if seen[name] {
		return fmt.Errorf("name is used twice (step and inspection names must be unique)")
	}
	seen[name] = true
	return nil
}

func checkRules(lists ...[][]string) error {
	for i, rules := range lists {
		kind := [...]string{"expected_materials", "expected_products"}[i]
		for _, r := range rules {
			rd, err := in_toto.UnpackRule(r)
			if err != nil {
				return fmt.Errorf("%s rule %q: %v", kind, r, err)
			}
			if err := checkPattern(rd["pattern"]); err != nil {
				return fmt.Errorf("%s rule %q: %v", kind, r, err)
			}
		}
	}
	return nil
}
