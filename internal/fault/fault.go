// Package fault classifies errors into the outcomes users and scripts rely on:
// denied (exit 1), bad local input (exit 2) and inconclusive (exit 3).
//
// Every layer wraps its errors with one of the constructors here (or with
// fmt.Errorf and %w around an error that already carries a kind); the command
// line maps kinds to exit codes in one place.
package fault

import (
	"errors"
	"fmt"
)

// Kind is the class of a failure.
type Kind int

const (
	// Unknown is an error that carries no kind; the CLI treats it as Input.
	Unknown Kind = iota
	// Denied: what was verified (the artifact or its metadata) is wrong.
	Denied
	// Input: a usage error, or a local file the user passed is unreadable or malformed.
	Input
	// Inconclusive: remote data could not be obtained (network, timeouts, HTTP 5xx).
	Inconclusive
)

func (k Kind) String() string {
	switch k {
	case Denied:
		return "denied"
	case Input:
		return "input"
	case Inconclusive:
		return "inconclusive"
	}
	return "unknown"
}

// Error is an error with a kind and, optionally, what would fix it: a Remedy
// with its Subject (set by libraries), or a worded Hint (set only by the
// cnabsec command, which words remedies too).
type Error struct {
	Kind    Kind
	Err     error
	Remedy  Remedy
	Subject string
	Hint    string
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

func newf(k Kind, format string, args ...any) error {
	return &Error{Kind: k, Err: fmt.Errorf(format, args...)}
}

// Deniedf returns a Denied error; %w verbs wrap as with fmt.Errorf.
func Deniedf(format string, args ...any) error { return newf(Denied, format, args...) }

// Inputf returns an Input error; %w verbs wrap as with fmt.Errorf.
func Inputf(format string, args ...any) error { return newf(Input, format, args...) }

// Inconclusivef returns an Inconclusive error; %w verbs wrap as with fmt.Errorf.
func Inconclusivef(format string, args ...any) error { return newf(Inconclusive, format, args...) }

// Wrap gives err the kind k unless it already carries one. A nil err stays nil.
func Wrap(k Kind, err error) error {
	if err == nil {
		return nil
	}
	if KindOf(err) != Unknown {
		return err
	}
	return &Error{Kind: k, Err: err}
}

// WithHint attaches a worded hint to err, keeping its kind (Input when it has
// none). Only the cnabsec command words hints; libraries attach a Remedy
// (TestLibrariesWordNoHints).
func WithHint(err error, hint string) error {
	if err == nil {
		return nil
	}
	k := KindOf(err)
	if k == Unknown {
		k = Input
	}
	return &Error{Kind: k, Err: err, Hint: hint}
}

// KindOf returns the kind of the outermost classified error in err's chain.
func KindOf(err error) Kind {
	var e *Error
	for err != nil {
		if !errors.As(err, &e) {
			return Unknown
		}
		if e.Kind != Unknown {
			return e.Kind
		}
		err = e.Err
	}
	return Unknown
}

// HintOf returns the first hint in err's chain, or "".
func HintOf(err error) string {
	var e *Error
	for err != nil {
		if !errors.As(err, &e) {
			return ""
		}
		if e.Hint != "" {
			return e.Hint
		}
		err = e.Err
	}
	return ""
}

// Is reports whether err is classified as k.
func Is(err error, k Kind) bool { return KindOf(err) == k }

// kindSentinel is the target of errors.Is for a kind: ErrDenied,
// ErrInconclusive and ErrInput.
type kindSentinel struct{ kind Kind }

func (s *kindSentinel) Error() string { return s.kind.String() }

// Sentinel errors for errors.Is: every classified error matches the sentinel
// of its kind. The package cnabsec re-exports them for library users.
var (
	ErrDenied       error = &kindSentinel{Denied}
	ErrInconclusive error = &kindSentinel{Inconclusive}
	ErrInput        error = &kindSentinel{Input}
)

// Is makes errors.Is(err, ErrDenied) (and the other kind sentinels) true for
// an error of that kind.
func (e *Error) Is(target error) bool {
	s, ok := target.(*kindSentinel)
	return ok && s.kind == e.Kind
}
