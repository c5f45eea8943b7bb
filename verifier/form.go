package verifier

import (
	"errors"

	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/internal/names"
	"github.com/cnabsec/cnabsec/metadata/client"
)

// The forms a version can be signed in. A request for another form than the
// one the signer recorded (in the target's custom metadata, signed by the
// role that lists it) is bad input, wrapped around one of these, with the
// remedy fault.RemedyVerifyAsSigned whose subject is the signed form.
var (
	ErrSignedAsThin   = errors.New("signed as a thin bundle.json, not a thick archive")
	ErrSignedAsThick  = errors.New("signed as a thick bundle archive, not a thin bundle.json")
	ErrSignedAsImage  = errors.New("signed as an image, not a bundle")
	ErrSignedAsBundle = errors.New("signed as a bundle, not an image")
)

// formMismatch compares the form the request verifies (image, thick or thin
// bundle) with the form the signer recorded for ti; nil when they agree or
// nothing was recorded.
func (w *workflow) formMismatch(ti *client.TargetInfo) error {
	if ti == nil {
		return nil
	}
	custom, err := names.ParseCustom(ti.Custom)
	if err != nil || custom.CNABSec == nil {
		return nil // judged by the checks that read it
	}
	signed, err := signedFormError(custom.CNABSec, w.req.Image, w.req.ThickFile != "")
	if err == nil {
		return nil
	}
	return fault.WithRemedy(fault.Wrap(fault.Input, err), fault.RemedyVerifyAsSigned, signed)
}

// signedFormError is the signed form's name (thin, thick, image or bundle)
// and the error for a request of another form; "", nil when they agree.
func signedFormError(c *names.CNABSecCustom, image, thick bool) (string, error) {
	switch {
	case image && c.Kind == names.KindBundle:
		return "bundle", ErrSignedAsBundle
	case !image && c.Kind == names.KindImage:
		return "image", ErrSignedAsImage
	case image || c.Kind != names.KindBundle:
		return "", nil
	case thick && !c.Thick:
		return "thin", ErrSignedAsThin
	case !thick && c.Thick:
		return "thick", ErrSignedAsThick
	}
	return "", nil
}
