package verifier

import (
	"errors"
	"fmt"
	"strings"

	"github.com/cnabsec/cnabsec/internal/fault"
)

// Property is one security property a bundle verification can establish.
// Levels are sets of properties (CNAB-Sec 300), not points on a line: 1a and
// 1b are incomparable.
type Property uint8

const (
	// BundleTUF: the bundle matches a TUF target (1b and above).
	BundleTUF Property = 1 << iota
	// ImagesTUF: every image matches its own TUF target (1a, 2 and above).
	ImagesTUF
	// BundleInToto: the bundle's in-toto provenance verifies and binds to it (3b, 4).
	BundleInToto
	// ImagesInToto: every image's in-toto provenance verifies and binds to it (3a, 4).
	ImagesInToto
)

// Properties is a set of properties.
type Properties uint8

// Has reports whether every property of q is in p.
func (p Properties) Has(q Properties) bool { return p&q == q }

func (p Properties) String() string {
	var names []string
	for _, x := range []struct {
		p    Property
		name string
	}{{BundleTUF, "bundle signed (TUF)"}, {ImagesTUF, "images signed (TUF)"}, {BundleInToto, "bundle provenance (in-toto)"}, {ImagesInToto, "image provenance (in-toto)"}} {
		if p&Properties(x.p) != 0 {
			names = append(names, x.name)
		}
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// Level is a gradual security level: 0, 1a, 1b, 2, 3a, 3b or 4.
type Level string

// The gradual security levels of CNAB-Sec 300.
const (
	Level0  Level = "0"
	Level1a Level = "1a"
	Level1b Level = "1b"
	Level2  Level = "2"
	Level3a Level = "3a"
	Level3b Level = "3b"
	Level4  Level = "4"
)

// levels lists every level with the properties it requires, strongest last.
var levels = []struct {
	level Level
	needs Properties
}{
	{Level0, 0},
	{Level1a, Properties(ImagesTUF)},
	{Level1b, Properties(BundleTUF)},
	{Level2, Properties(BundleTUF | ImagesTUF)},
	{Level3a, Properties(BundleTUF | ImagesTUF | ImagesInToto)},
	{Level3b, Properties(BundleTUF | ImagesTUF | BundleInToto)},
	{Level4, Properties(BundleTUF | ImagesTUF | BundleInToto | ImagesInToto)},
}

// ParseLevel parses a level name.
func ParseLevel(s string) (Level, error) {
	for _, l := range levels {
		if string(l.level) == strings.ToLower(s) {
			return l.level, nil
		}
	}
	return "", fault.Inputf("security level %q: want one of 0, 1a, 1b, 2, 3a, 3b, 4", s)
}

// Requires returns the properties the level requires.
func (l Level) Requires() Properties {
	for _, x := range levels {
		if x.level == l {
			return x.needs
		}
	}
	panic(fmt.Sprintf("verifier: unknown level %q", string(l)))
}

// ErrLevelNotForImages is wrapped by the Input error of a level that adds
// only bundle properties (1b, 3b) required of an image: it would check
// nothing the level stands for, so it is refused rather than reported as
// verified.
var ErrLevelNotForImages = errors.New("the level adds only bundle properties")

// CheckImageLevel refuses a level that asks nothing of an image beyond a
// lower level: 1b (the bundle's signature) and 3b (the bundle's provenance).
// Images take 0, 1a, 2 (= 1a for an image), 3a and 4 (= 3a for an image).
func CheckImageLevel(l Level) error {
	switch l {
	case Level1b:
		return fault.Inputf("level 1b on an image: %w (a bundle signed with TUF), which an image does not have; require 1a or 2 for the image's TUF signature, 0 to check nothing", ErrLevelNotForImages)
	case Level3b:
		return fault.Inputf("level 3b on an image: %w (the bundle's in-toto provenance), which an image does not have; require 3a or 4 for the image's provenance, 2 for its TUF signature", ErrLevelNotForImages)
	}
	return nil
}

// checkImageRequest refuses, for an image, what would check nothing about
// it: a level that adds only bundle properties, a relocation mapping (it
// relocates a bundle's images; an image is checked where it is read from)
// and a thick archive (it holds a bundle, not the image).
func checkImageRequest(req Request, l Level) error {
	switch {
	case !req.Image:
		return nil
	case req.RelocationMappingFile != "":
		return fault.Inputf("a relocation mapping on an image: it relocates a bundle's images and would be handed on unchecked; an image is checked where it is read from (From)")
	case req.ThickFile != "":
		return fault.Inputf("a thick bundle archive on an image: it holds a bundle, not the image")
	}
	return CheckImageLevel(l)
}

// Needs reports whether the level requires property p.
func (l Level) Needs(p Property) bool { return l.Requires().Has(Properties(p)) }

// SatisfiedBy reports whether the properties meet the level.
func (l Level) SatisfiedBy(p Properties) bool { return p.Has(l.Requires()) }

// Achieved returns the strongest level the properties meet. The levels a set
// of properties meets always have one greatest element (1a and 1b together are
// 2; 3a and 3b together are 4).
func Achieved(p Properties) Level {
	best := Level0
	for _, x := range levels {
		if p.Has(x.needs) && x.needs.Has(best.Requires()) {
			best = x.level
		}
	}
	return best
}
