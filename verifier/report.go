package verifier

import (
	"fmt"
	"io"
	"strings"

	"github.com/cnabsec/cnabsec/layouts"
)

// Status is the outcome of one check.
type Status string

// Check outcomes.
const (
	Pass Status = "pass"
	Fail Status = "fail"
	Skip Status = "skip"
	// Warn: passed, with something the reader must know (an in-toto
	// warning: an unexpected command, a layout one party can satisfy alone).
	Warn Status = "warn"
)

// Check is one entry of a report: what was checked, on what, and the result.
type Check struct {
	Name    string `json:"name"`
	Subject string `json:"subject"`
	Status  Status `json:"status"`
	Detail  string `json:"detail"`
}

// Report explains a verification: one entry per check and the verdict. The
// report is the explanation; the error returned beside it is the gate.
type Report struct {
	Reference     string  `json:"reference"`
	Verified      bool    `json:"verified"`
	RequiredLevel Level   `json:"requiredLevel"`
	AchievedLevel Level   `json:"achievedLevel"`
	BundleDigest  string  `json:"bundleDigest"`
	Checks        []Check `json:"checks"`
	Error         string  `json:"error"`
	// Unsafe lists every weakened check the caller asked for.
	Unsafe []string `json:"unsafe,omitempty"`
	// Provenance lists, for each artifact whose in-toto provenance verified,
	// the layout and the keys it rests on.
	Provenance []Provenance `json:"provenance,omitempty"`

	props     Properties  // what verified
	imageOnly bool        // an image, judged by the image properties of the level
	gate      *checkError // the first failure
	verified  []byte      // the thin bundle bytes that verified
	// verifiedMapping are the relocation mapping bytes that were checked.
	verifiedMapping []byte
}

// Provenance is what one artifact's verified in-toto provenance rests on:
// the layout (from the offline targets role), its owners' key IDs, and per
// step the functionary key IDs whose links were counted.
type Provenance struct {
	Subject    string                      `json:"subject"`
	Layout     string                      `json:"layout"`
	LayoutKeys []string                    `json:"layoutKeys"`
	Steps      []layouts.StepFunctionaries `json:"steps"`
}

// VerifiedBundle returns the thin bundle.json bytes that verified (for the
// hand-off to a runtime), or nil.
func (r *Report) VerifiedBundle() []byte {
	if !r.Verified {
		return nil
	}
	return r.verified
}

// VerifiedRelocationMapping returns the relocation mapping bytes that were
// checked (each entry an image of the bundle, pinned to its contentDigest),
// for the hand-off to a runtime; nil unless verified with a mapping.
func (r *Report) VerifiedRelocationMapping() []byte {
	if !r.Verified {
		return nil
	}
	return r.verifiedMapping
}

func (r *Report) add(status Status, name, subject, format string, args ...any) {
	r.Checks = append(r.Checks, Check{Name: name, Subject: subject, Status: status, Detail: fmt.Sprintf(format, args...)})
}

func (r *Report) addProvenance(p Provenance) { r.Provenance = append(r.Provenance, p) }

// FirstFailure returns the first failed check, or nil.
func (r *Report) FirstFailure() *Check {
	for i := range r.Checks {
		if r.Checks[i].Status == Fail {
			return &r.Checks[i]
		}
	}
	return nil
}

// WriteText renders the report as one line per check and a verdict line.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	for _, c := range r.Checks {
		fmt.Fprintf(&b, "%-4s  %-28s %s", strings.ToUpper(string(c.Status)), c.Name, c.Subject)
		if c.Detail != "" {
			fmt.Fprintf(&b, ": %s", c.Detail)
		}
		b.WriteByte('\n')
	}
	for _, p := range r.Provenance {
		p.writeText(&b)
	}
	for _, u := range r.Unsafe {
		fmt.Fprintf(&b, "WARN  unsafe option in effect: %s\n", u)
	}
	if r.Verified {
		fmt.Fprintf(&b, "VERIFIED %s at level %s (required %s)", r.Reference, r.AchievedLevel, r.RequiredLevel)
		if r.BundleDigest != "" {
			fmt.Fprintf(&b, ", %s", r.BundleDigest)
		}
		b.WriteByte('\n')
	} else {
		fmt.Fprintf(&b, "DENIED %s: %s (required level %s, achieved %s)\n", r.Reference, r.Error, r.RequiredLevel, r.AchievedLevel)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// writeText renders one artifact's provenance as one line: the layout, its
// owners and, per step, the functionary key IDs that were counted.
func (p Provenance) writeText(b *strings.Builder) {
	fmt.Fprintf(b, "KEYS  %-28s %s: layout %s signed by %s", "provenance", p.Subject, p.Layout, strings.Join(p.LayoutKeys, ", "))
	for _, s := range p.Steps {
		fmt.Fprintf(b, "; step %s by %s", s.Step, strings.Join(s.KeyIDs, ", "))
	}
	b.WriteByte('\n')
}
