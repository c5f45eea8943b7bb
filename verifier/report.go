package verifier

import (
	"fmt"

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

// Outcome is a report's verdict in one word.
type Outcome string

// The outcomes; they follow the kind of the error Verify returns.
const (
	OutcomeVerified     Outcome = "verified"
	OutcomeDenied       Outcome = "denied"
	OutcomeInconclusive Outcome = "inconclusive"
	OutcomeInvalid      Outcome = "invalid"
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
	Reference string `json:"reference"`
	// Outcome is the verdict in one word: verified, denied, inconclusive
	// (remote data could not be obtained: trying again may succeed) or
	// invalid (the request or a local input was bad).
	Outcome       Outcome `json:"outcome"`
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
	layoutsRead     []LayoutRead // the root layouts read, for drawing them
}

// LayoutRead is a root layout a verification read from the top-level
// targets role for an artifact (whether or not it then verified).
type LayoutRead struct {
	// Subject is the artifact's subject in the checks; the in-toto checks
	// of this layout have subjects "Subject: ...".
	Subject string
	Name    string
	Layout  []byte
}

// LayoutsRead returns the root layouts the verification read (in the order
// read: images in bundle order, then the bundle), when the request asked to
// keep them (Request.KeepLayouts).
func (r *Report) LayoutsRead() []LayoutRead { return r.layoutsRead }

func (r *Report) addLayout(l LayoutRead) { r.layoutsRead = append(r.layoutsRead, l) }

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
