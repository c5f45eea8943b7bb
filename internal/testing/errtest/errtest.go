// Package errtest is the one assertion tests use for a library error: its
// kind (denied, inconclusive, bad input), the sentinel it wraps, and the
// words of its reason.
package errtest

import (
	"errors"
	"strings"
	"testing"

	"github.com/cnabsec/cnabsec/internal/fault"
)

// Want fails t unless err is classified as kind and its message contains
// every fragment.
func Want(t testing.TB, err error, kind fault.Kind, fragments ...string) {
	t.Helper()
	WantIs(t, err, kind, nil, fragments...)
}

// WantIs is Want that also requires err to wrap sentinel (when not nil).
func WantIs(t testing.TB, err error, kind fault.Kind, sentinel error, fragments ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want a %s error containing %q", kind, fragments)
	}
	if got := fault.KindOf(err); got != kind {
		t.Errorf("error kind %s, want %s: %v", got, kind, err)
	}
	if sentinel != nil && !errors.Is(err, sentinel) {
		t.Errorf("error does not wrap %v: %v", sentinel, err)
	}
	for _, f := range fragments {
		if !strings.Contains(err.Error(), f) {
			t.Errorf("error %q does not contain %q", err, f)
		}
	}
}
