package layouts

import (
	"fmt"
	"time"

	"github.com/in-toto/in-toto-golang/in_toto"

	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/keys"
)

// LayoutInfo describes a root layout file, for publishing it (`layout
// publish`) or listing it. It says nothing about whether it verifies.
type LayoutInfo struct {
	Layout  in_toto.Layout
	Expires time.Time
	// Steps and Inspections are the names, in layout order.
	Steps, Inspections []string
	// Functionaries are the key IDs the layout lists.
	Functionaries []string
	// SignatureKeyIDs are the key IDs of the signatures present (unverified).
	SignatureKeyIDs []string
}

// ReadLayout parses and checks the structure of a root layout file the user
// passed (fault.Input when malformed). owners, when given, must each have
// signed it (checked cryptographically): publishing a layout that its own
// keys cannot verify would only deny every later verification.
func ReadLayout(b []byte, owners []*keys.PublicKey) (*LayoutInfo, error) {
	env, err := parseEnvelope(b)
	if err != nil {
		return nil, fault.Inputf("layout: %w", err)
	}
	if env.layout == nil {
		return nil, fault.Inputf("layout: this is a link, not a layout")
	}
	l := env.layout
	if _, err := validateLayout(l); err != nil {
		return nil, fault.Inputf("layout: %w", err)
	}
	for _, k := range owners {
		if err := verifyEnvelopeSig(env, k); err != nil {
			return nil, fault.WithRemedy(fault.Inputf("layout: %v", err),
				fault.RemedySignWithEveryOwner, "")
		}
	}
	info := &LayoutInfo{Layout: *l}
	info.Expires, _ = time.Parse(expiresFormat, l.Expires)
	for _, s := range l.Steps {
		info.Steps = append(info.Steps, s.Name)
	}
	for _, in := range l.Inspect {
		info.Inspections = append(info.Inspections, in.Name)
	}
	for id := range l.Keys {
		info.Functionaries = append(info.Functionaries, id)
	}
	for _, s := range env.sigs {
		info.SignatureKeyIDs = append(info.SignatureKeyIDs, s.KeyID)
	}
	return info, nil
}

// String summarizes the layout on one line.
func (i *LayoutInfo) String() string {
	return fmt.Sprintf("%d step(s) %v, %d inspection(s), expires %s, %d signature(s)",
		len(i.Steps), i.Steps, len(i.Inspections), i.Layout.Expires, len(i.SignatureKeyIDs))
}
