package bundle

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/cnabsec/cnabsec/internal/fault"
)

// MaxRelocationMappingSize caps a relocation mapping file (4 MiB).
const MaxRelocationMappingSize = 4 << 20

// ErrRelocation: a relocation mapping misses an image or sends it elsewhere.
var ErrRelocation = errors.New("relocation mapping does not match the bundle")

// RelocationMapping maps an image reference as written in bundle.json to the
// reference it was copied to (CNAB 103). It is not signed: the only anchor is
// that the relocated image's digest equals the signed contentDigest.
type RelocationMapping map[string]string

// ParseRelocationMapping reads a relocation mapping: one JSON object whose
// member names are original references and whose values are relocated
// references. It refuses (Input) anything else: another JSON type, a
// non-string or empty value, an empty name, a duplicate name.
func ParseRelocationMapping(raw []byte) (RelocationMapping, error) {
	if len(raw) > MaxRelocationMappingSize {
		return nil, fault.Inputf("relocation mapping is %d bytes, more than the %d allowed", len(raw), MaxRelocationMappingSize)
	}
	v, err := parseJSON(raw)
	if err != nil {
		return nil, fmt.Errorf("relocation mapping: %w", err)
	}
	if v.kind != '{' {
		return nil, fault.Inputf("relocation mapping: want a JSON object of original reference → relocated reference, got %s", kindName(v))
	}
	m := make(RelocationMapping, len(v.keys))
	for i, k := range v.keys {
		if strings.TrimSpace(k) == "" {
			return nil, fault.Inputf("relocation mapping: empty original reference (mapped to %s)", describe(v.kids[i]))
		}
		val := v.kids[i]
		if val.kind != '"' {
			return nil, fault.Inputf("relocation mapping: %q: want a string (the relocated reference), got %s", k, describe(val))
		}
		if strings.TrimSpace(val.s) == "" {
			return nil, fault.Inputf("relocation mapping: %q is mapped to an empty reference", k)
		}
		m[k] = val.s
	}
	return m, nil
}

func describe(v *value) string {
	if v.kind == '"' {
		return fmt.Sprintf("%q", v.s)
	}
	if v.kind == '0' {
		return "the number " + v.s
	}
	return kindName(v)
}

// Lookup returns where img was relocated to.
func (m RelocationMapping) Lookup(img Image) (string, bool) {
	r, ok := m[img.Reference]
	return r, ok
}

// CheckRelocationCovers refuses (Denied, ErrRelocation) a mapping that misses
// an image of b (spec 103: it MUST cover every image), naming each missing
// image, or that relocates an image to a digest reference whose digest is not
// the image's contentDigest (a mapping pointing elsewhere).
func CheckRelocationCovers(b *Bundle, m RelocationMapping) error {
	var problems []string
	images := map[string]bool{}
	for _, img := range b.images {
		images[img.Reference] = true
		to, ok := m.Lookup(img)
		if !ok {
			problems = append(problems, fmt.Sprintf("%s is missing from the mapping", img))
			continue
		}
		if p := pinProblem(img, to); p != "" {
			problems = append(problems, p)
		}
	}
	problems = append(problems, extraEntries(m, images)...)
	if len(problems) == 0 {
		return nil
	}
	return fault.Deniedf("%w: bundle %q version %q: %s", ErrRelocation, b.Parsed.Name, b.Parsed.Version, strings.Join(problems, "; "))
}

// pinProblem says why a relocated reference is not REPOSITORY@DIGEST with
// DIGEST the image's contentDigest: a tag is refused (what it names can
// change after the check), and so is another digest, an image without a
// contentDigest to pin to, and a tag beside the digest or a malformed
// repository (runtimes may read those otherwise than this check).
func pinProblem(img Image, to string) string {
	repo, dig, pinned := strings.Cut(to, "@")
	switch {
	case !pinned:
		return fmt.Sprintf("%s is relocated to %s, a tag: relocated references must be pinned by digest (@%s)", img, to, img.ContentDigest)
	case img.ContentDigest == "":
		return fmt.Sprintf("%s is relocated to %s, but the bundle gives the image no contentDigest to pin it to", img, to)
	case dig != img.ContentDigest:
		return fmt.Sprintf("%s is relocated to %s, whose digest is not the bundle's contentDigest %s", img, to, img.ContentDigest)
	}
	if _, err := name.NewRepository(repo); err != nil {
		return fmt.Sprintf("%s is relocated to %s, which is not REPOSITORY@%s: %v", img, to, img.ContentDigest, err)
	}
	return ""
}

// extraEntries names mapping entries for references the bundle lists no
// image under (sorted): a runtime must not be handed relocations nobody checked.
func extraEntries(m RelocationMapping, images map[string]bool) []string {
	var out []string
	for from := range m {
		if !images[from] {
			out = append(out, fmt.Sprintf("%s is not an image of the bundle", from))
		}
	}
	sort.Strings(out)
	return out
}
