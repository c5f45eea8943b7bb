// Package cnabsec holds what every user of the cnabsec libraries shares: the
// classification of errors. Every error the packages verifier, signer,
// metadata, layouts and bundle return is one of three kinds:
//
//   - denied (ErrDenied): what was verified, the artifact or its metadata,
//     is wrong: a mismatch, a bad or missing signature, expired or
//     rolled-back metadata, a missing target, a policy not met;
//   - inconclusive (ErrInconclusive): remote data could not be obtained
//     (network, timeouts, HTTP 5xx); trying again may succeed;
//   - bad input (ErrInput): a usage error, or a local file the caller passed
//     is unreadable or malformed.
//
// Test a kind with errors.Is(err, cnabsec.ErrDenied), or take the deciding
// classification with KindOf (the outermost one: a signer refusing its own
// input wraps a "denied" check of that input as bad input). errors.As with
// *Error gives the same outermost classification and its hint. The cnabsec
// command maps the kinds to its exit codes 1, 3 and 2.
package cnabsec

import "github.com/cnabsec/cnabsec/internal/fault"

// Kind is the class of a failure: Denied, Inconclusive or Input.
type Kind = fault.Kind

// The kinds. Unknown is an error no cnabsec package classified.
const (
	Unknown      = fault.Unknown
	Denied       = fault.Denied
	Inconclusive = fault.Inconclusive
	Input        = fault.Input
)

// Error is a classified error: its Kind, the underlying error and, where the
// library knows one, a Hint saying what would fix it.
type Error = fault.Error

// Sentinels for errors.Is.
var (
	// ErrDenied matches an error whose subject failed a security check.
	ErrDenied = fault.ErrDenied
	// ErrInconclusive matches an error caused by remote data that could not be obtained.
	ErrInconclusive = fault.ErrInconclusive
	// ErrInput matches a usage error or a malformed local input.
	ErrInput = fault.ErrInput
)

// KindOf returns the deciding (outermost) classification of err, or Unknown.
func KindOf(err error) Kind { return fault.KindOf(err) }
