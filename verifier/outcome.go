package verifier

import (
	"fmt"

	"github.com/cnabsec/cnabsec/internal/fault"
)

func newReport(req Request) *Report {
	lvl := req.Level
	if lvl == "" {
		lvl = Level2
	}
	return &Report{Reference: req.Reference, RequiredLevel: lvl, AchievedLevel: Level0, Checks: []Check{}}
}

func (r *Report) pass(name, subject, format string, args ...any) {
	r.add(Pass, name, subject, format, args...)
}

func (r *Report) skip(name, subject, format string, args ...any) {
	r.add(Skip, name, subject, format, args...)
}

// fail records a failed check; the first failure's error decides the outcome.
func (r *Report) fail(name, subject string, err error) {
	r.add(Fail, name, subject, "%s", err.Error())
	if r.gate == nil {
		if fault.KindOf(err) == fault.Unknown {
			err = fault.Wrap(fault.Denied, err)
		}
		r.gate = &checkError{check: name, subject: subject, err: err}
	}
}

// checkError is the error of a denied verification: it names the check, the
// subject and why (CNAB-Sec 303: users SHOULD see why).
type checkError struct {
	check, subject string
	err            error
}

func (e *checkError) Error() string {
	return fmt.Sprintf("%s failed for %s: %v", e.check, e.subject, e.err)
}
func (e *checkError) Unwrap() error { return e.err }

// finish computes the verdict; err (if any) is an error that stopped the
// workflow before every check ran.
func (r *Report) finish(err error) (*Report, error) {
	if err != nil && r.gate == nil {
		r.fail(CheckVerification, r.Reference, err)
	}
	if r.gate == nil { // a level that did not parse has already failed the report
		if need := r.required(); !r.props.Has(need) {
			r.fail(CheckSecurityLevel, r.Reference, fault.Deniedf("required level %s needs %s; verified: %s",
				r.RequiredLevel, need, r.props))
		}
	}
	r.AchievedLevel = r.achieved()
	if r.gate != nil {
		r.Verified = false
		r.Error = r.gate.Error()
		r.Outcome = OutcomeOf(r.gate)
		return r, r.gate
	}
	r.pass(CheckSecurityLevel, r.Reference, "achieved level %s (required %s)", r.AchievedLevel, r.RequiredLevel)
	r.Verified = true
	r.Outcome = OutcomeVerified
	return r, nil
}

// OutcomeOf names the verdict a verification failing with err gives, by the
// error's kind.
func OutcomeOf(err error) Outcome {
	switch fault.KindOf(err) {
	case fault.Inconclusive:
		return OutcomeInconclusive
	case fault.Input:
		return OutcomeInvalid
	}
	return OutcomeDenied
}

// required is what the required level asks of this subject: all its
// properties for a bundle, its image properties for an image.
func (r *Report) required() Properties {
	need := r.RequiredLevel.Requires()
	if r.imageOnly {
		need &= Properties(ImagesTUF | ImagesInToto)
	}
	return need
}

func (r *Report) achieved() Level {
	if !r.imageOnly {
		return Achieved(r.props)
	}
	switch {
	case r.props.Has(Properties(ImagesTUF | ImagesInToto)):
		return Level4
	case r.props.Has(Properties(ImagesTUF)):
		return Level2
	}
	return Level0
}
