package bundle

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"

	cnab "github.com/cnabio/cnab-go/bundle"

	"github.com/cnabsec/cnabsec/internal/fault"
)

// MaxBundleSize caps bundle.json (16 MiB; real bundles are a few KiB).
const MaxBundleSize = 16 << 20

var (
	// ErrInvalidBundle: the bundle breaks the CNAB schema or cnab-go's rules.
	ErrInvalidBundle = errors.New("invalid CNAB bundle")
	// ErrNoContentDigest: an image has no (or a malformed) contentDigest.
	ErrNoContentDigest = errors.New("no contentDigest")
	// ErrUnsupportedExtension: the bundle requires an extension not supported here.
	ErrUnsupportedExtension = errors.New("unsupported required extension")
	// ErrAmbiguousBundle: the bundle reads differently in different parsers.
	ErrAmbiguousBundle = errors.New("ambiguous bundle")
)

// Bundle is a thin bundle: the exact bytes received and what was read from them.
type Bundle struct {
	// Raw is bundle.json exactly as received. Sign and verify these bytes;
	// never re-marshal Parsed.
	Raw []byte
	// Digest is "sha256:<hex>" of Raw.
	Digest string
	// Parsed is cnab-go's view, for schema rules and the runtime fields
	// (parameters, credentials, ...). It drops members cnab-go does not know:
	// security decisions use Images and RequiredExtensions instead, which are
	// read from Raw member by member.
	Parsed *cnab.Bundle

	images   []Image
	required []string
}

// Image is one invocation image or component image of a bundle, read from the
// exact member names of bundle.json.
type Image struct {
	// Name is stable and unique within the bundle: "invocationImages[0]" or
	// "images.web".
	Name string
	// Invocation is true for invocation images; Key is then "" and Index the
	// position, else Key is the member name under "images".
	Invocation bool
	Index      int
	Key        string
	// Reference is the "image" member (e.g. "docker.io/x/web:1.0").
	Reference string
	ImageType string
	// ContentDigest is the registry manifest digest ("sha256:<hex>"), or ""
	// when the bundle states none.
	ContentDigest string
	// Size is the manifest size in bytes when HasSize.
	Size      uint64
	HasSize   bool
	MediaType string
}

// String names the image for error messages:
// `image "web" (docker.io/x/web:1.0)` or `invocation image 0 (cnab/app:1.0)`.
func (i Image) String() string {
	if i.Invocation {
		return fmt.Sprintf("invocation image %d (%s)", i.Index, i.Reference)
	}
	return fmt.Sprintf("image %q (%s)", i.Key, i.Reference)
}

// Member names cnab-go (encoding/json, case-insensitive) maps to fields.
var (
	topLevelNames = []string{"schemaVersion", "name", "version", "description", "keywords", "maintainers",
		"invocationImages", "images", "actions", "parameters", "credentials", "outputs", "definitions",
		"license", "requiredExtensions", "custom"}
	imageNames = []string{"imageType", "image", "contentDigest", "size", "labels", "mediaType", "description"}
)

// Parse reads a thin bundle. It keeps raw (not a copy) and its sha256, parses
// cnab-go's view, and reads the images and required extensions member by
// member. Errors are Input: raw is not JSON, not an object, larger than
// MaxBundleSize, has duplicate members, or has members whose names differ
// from a CNAB field only in letter case (cnab-go would read them as that
// field, other parsers would not). Parse does not validate: call Validate.
func Parse(raw []byte) (*Bundle, error) {
	if len(raw) > MaxBundleSize {
		return nil, fault.Inputf("bundle.json is %d bytes, more than the %d allowed", len(raw), MaxBundleSize)
	}
	v, err := parseJSON(raw)
	if err != nil {
		return nil, fmt.Errorf("bundle.json: %w", err)
	}
	if v.kind != '{' {
		return nil, fault.Inputf("bundle.json: want a JSON object, got %s", kindName(v))
	}
	if err := checkNames(v, topLevelNames, "bundle.json"); err != nil {
		return nil, err
	}
	sum := sha256.Sum256(raw)
	b := &Bundle{Raw: raw, Digest: "sha256:" + hex.EncodeToString(sum[:])}
	if err := b.readImages(v); err != nil {
		return nil, err
	}
	if b.required, err = readRequired(v); err != nil {
		return nil, err
	}
	if b.Parsed, err = cnab.Unmarshal(raw); err != nil {
		return nil, fault.Inputf("bundle.json does not have the CNAB bundle structure: %v", err)
	}
	return b, nil
}

// readRequired reads the requiredExtensions member: absent, null or an array
// of strings.
func readRequired(v *value) ([]string, error) {
	rv := member(v, "requiredExtensions")
	if rv == nil || rv.kind == 'l' {
		return nil, nil
	}
	if rv.kind != '[' {
		return nil, fault.Inputf("bundle.json: requiredExtensions: want an array, got %s", kindName(rv))
	}
	var required []string
	for i, e := range rv.kids {
		if e.kind != '"' {
			return nil, fault.Inputf("bundle.json: requiredExtensions[%d]: want a string, got %s", i, kindName(e))
		}
		required = append(required, e.s)
	}
	return required, nil
}

// Images returns the invocation images (in order) then the component images
// (sorted by key).
func (b *Bundle) Images() []Image { return slices.Clone(b.images) }

// RequiredExtensions returns the requiredExtensions member as written.
func (b *Bundle) RequiredExtensions() []string { return slices.Clone(b.required) }

// CheckExtensions refuses (Denied, ErrUnsupportedExtension) a bundle whose
// required extensions are not all in supported, naming each one.
func (b *Bundle) CheckExtensions(supported []string) error {
	var missing []string
	for _, e := range b.required {
		if !slices.Contains(supported, e) && !slices.Contains(missing, e) {
			missing = append(missing, e)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	have := "none"
	if len(supported) > 0 {
		have = strings.Join(supported, ", ")
	}
	q := make([]string, len(missing))
	for i, m := range missing {
		q[i] = strconv.Quote(m)
	}
	return fault.WithRemedy(
		fault.Deniedf("%w: bundle %q version %q requires %s (supported here: %s)", ErrUnsupportedExtension,
			b.Parsed.Name, b.Parsed.Version, strings.Join(q, ", "), have),
		fault.RemedySupportedExtension, "")
}

// readImages reads the invocation images (in order) then the component
// images (sorted by key).
func (b *Bundle) readImages(v *value) error {
	if err := b.readInvocationImages(member(v, "invocationImages")); err != nil {
		return err
	}
	return b.readComponentImages(member(v, "images"))
}

// readInvocationImages reads the invocationImages member: absent, null or an
// array of images.
func (b *Bundle) readInvocationImages(iv *value) error {
	if iv == nil || (iv.kind == 'l' && iv.s == "null") {
		return nil
	}
	if iv.kind != '[' {
		return fault.Inputf("bundle.json: invocationImages: want an array, got %s", kindName(iv))
	}
	for i, e := range iv.kids {
		img, err := readImage(e, fmt.Sprintf("invocationImages[%d]", i))
		if err != nil {
			return err
		}
		img.Invocation, img.Index = true, i
		b.images = append(b.images, img)
	}
	return nil
}

// readComponentImages reads the images member: absent, null or an object of
// images, read in the order of their keys.
func (b *Bundle) readComponentImages(mv *value) error {
	if mv == nil || (mv.kind == 'l' && mv.s == "null") {
		return nil
	}
	if mv.kind != '{' {
		return fault.Inputf("bundle.json: images: want an object, got %s", kindName(mv))
	}
	idx := make([]int, len(mv.keys))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, c int) bool { return mv.keys[idx[a]] < mv.keys[idx[c]] })
	for _, i := range idx {
		img, err := readImage(mv.kids[i], "images."+mv.keys[i])
		if err != nil {
			return err
		}
		img.Key = mv.keys[i]
		b.images = append(b.images, img)
	}
	return nil
}

// readImage reads one image object: its string members and its size.
func readImage(v *value, name string) (Image, error) {
	img := Image{Name: name}
	if v.kind != '{' {
		return img, fault.Inputf("bundle.json: %s: want an object, got %s", name, kindName(v))
	}
	if err := checkNames(v, imageNames, "bundle.json: "+name); err != nil {
		return img, err
	}
	var err error
	if img.Reference, err = stringMember(v, name, "image"); err != nil {
		return img, err
	}
	if img.ImageType, err = stringMember(v, name, "imageType"); err != nil {
		return img, err
	}
	if img.ContentDigest, err = stringMember(v, name, "contentDigest"); err != nil {
		return img, err
	}
	if img.MediaType, err = stringMember(v, name, "mediaType"); err != nil {
		return img, err
	}
	img.Size, img.HasSize, err = imageSize(v, name)
	return img, err
}

// stringMember reads member k of image name: absent (empty) or a string.
func stringMember(v *value, name, k string) (string, error) {
	m := member(v, k)
	if m == nil {
		return "", nil
	}
	if m.kind != '"' {
		return "", fault.Inputf("bundle.json: %s.%s: want a string, got %s", name, k, kindName(m))
	}
	return m.s, nil
}

// imageSize reads the size member of image name, when present: a
// non-negative integer up to 2^53.
func imageSize(v *value, name string) (uint64, bool, error) {
	m := member(v, "size")
	if m == nil {
		return 0, false, nil
	}
	f, perr := strconv.ParseFloat(m.s, 64)
	if m.kind != '0' || perr != nil || f < 0 || f != math.Trunc(f) || f > 1<<53 {
		return 0, false, fault.Inputf("bundle.json: %s.size: want a non-negative integer, got %s", name, m.s)
	}
	return uint64(f), true, nil
}

// checkNames refuses members whose name folds to a known field name but is
// not that name: encoding/json would read them as the field.
func checkNames(v *value, known []string, where string) error {
	for _, k := range v.keys {
		for _, n := range known {
			if k != n && foldName(k) == foldName(n) {
				return fault.Inputf("%w: %s: member %q differs from the CNAB field %q only in letter case (cnab-go would read it as %q, other parsers would not)",
					ErrAmbiguousBundle, where, k, n, n)
			}
		}
	}
	return nil
}

func member(v *value, k string) *value {
	for i, key := range v.keys {
		if key == k {
			return v.kids[i]
		}
	}
	return nil
}

func kindName(v *value) string {
	switch v.kind {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case '0':
		return "a number"
	}
	return v.s
}
