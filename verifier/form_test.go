package verifier_test

import (
	"errors"
	"testing"

	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/verifier"
)

// A version verified in another form than the one it was signed in (an
// image as a bundle, a bundle as an image, a thin bundle from a thick
// archive and the reverse) is refused as bad input naming the signed form,
// never verified, and the check that looked the version up says why.
func TestVersionVerifiedInAnotherFormThanSignedIsRefusedNamingTheForm(t *testing.T) {
	s := build(t, false)
	thick, thickRef, _ := signedThick(t, s)
	for _, tc := range []struct {
		name, ref, form, check string
		opts                   []option
		want                   error
	}{
		{"bundle as image", s.BundleRef, "bundle", verifier.CheckImageTarget, []option{withImage()}, verifier.ErrSignedAsBundle},
		{"image as bundle", s.WebRef, "image", verifier.CheckBundleTarget, nil, verifier.ErrSignedAsImage},
		{"thin from an archive", s.BundleRef, "thin", verifier.CheckBundleTarget, []option{withThickFile(thick)}, verifier.ErrSignedAsThin},
		{"thick as thin", thickRef, "thick", verifier.CheckBundleTarget, nil, verifier.ErrSignedAsThick},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := verify(t, s, tc.ref, tc.opts...)
			if err == nil || r.Verified || !errors.Is(err, tc.want) || !fault.Is(err, fault.Input) {
				t.Fatalf("got %v (verified %v), want bad input wrapping %v", err, r.Verified, tc.want)
			}
			if rem, form := fault.RemedyOf(err); rem != fault.RemedyVerifyAsSigned || form != tc.form {
				t.Errorf("remedy %v for %q, want %v for %q", rem, form, fault.RemedyVerifyAsSigned, tc.form)
			}
			if f := r.FirstFailure(); f == nil || f.Name != tc.check {
				t.Errorf("first failure %+v, want %s", f, tc.check)
			}
			if r.Outcome != verifier.OutcomeInvalid {
				t.Errorf("outcome %q", r.Outcome)
			}
		})
	}
}
