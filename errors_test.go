package cnabsec_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/cnabsec/cnabsec"
	"github.com/cnabsec/cnabsec/internal/fault"
)

func TestEveryKindMatchesItsSentinelOnly(t *testing.T) {
	for _, c := range []struct {
		err      error
		sentinel error
		kind     cnabsec.Kind
	}{
		{fault.Deniedf("bundle-digest: mismatch"), cnabsec.ErrDenied, cnabsec.Denied},
		{fault.Inconclusivef("registry: timeout"), cnabsec.ErrInconclusive, cnabsec.Inconclusive},
		{fault.Inputf("--level 9: unknown"), cnabsec.ErrInput, cnabsec.Input},
	} {
		wrapped := fmt.Errorf("verify example.com/app:1.0: %w", c.err)
		for _, s := range []error{cnabsec.ErrDenied, cnabsec.ErrInconclusive, cnabsec.ErrInput} {
			if got, want := errors.Is(wrapped, s), s == c.sentinel; got != want {
				t.Errorf("errors.Is(%q, %v) = %v, want %v", wrapped, s, got, want)
			}
		}
		if k := cnabsec.KindOf(wrapped); k != c.kind {
			t.Errorf("KindOf(%q) = %v, want %v", wrapped, k, c.kind)
		}
		var e *cnabsec.Error
		if !errors.As(wrapped, &e) || e.Kind != c.kind {
			t.Errorf("errors.As(%q) gave %+v, want kind %v", wrapped, e, c.kind)
		}
	}
}

func TestOutermostClassificationDecides(t *testing.T) {
	// A signer refusing its own input: the input's failed check is wrapped as bad input.
	err := fault.Inputf("bundle.json: %w", fault.Deniedf("not canonical"))
	if k := cnabsec.KindOf(err); k != cnabsec.Input {
		t.Fatalf("KindOf = %v, want input", k)
	}
	var e *cnabsec.Error
	if !errors.As(err, &e) || e.Kind != cnabsec.Input {
		t.Fatalf("errors.As gave %+v, want the outer input error", e)
	}
}

func TestUnclassifiedErrorMatchesNoSentinel(t *testing.T) {
	err := errors.New("plain")
	if errors.Is(err, cnabsec.ErrDenied) || errors.Is(err, cnabsec.ErrInconclusive) || errors.Is(err, cnabsec.ErrInput) || cnabsec.KindOf(err) != cnabsec.Unknown {
		t.Fatal("an unclassified error matched a kind")
	}
}
