package oci

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/cnabsec/cnabsec/bundle"
	"github.com/cnabsec/cnabsec/internal/fault"
)

var jsonUnmarshal = json.Unmarshal

// bundleFields are the members of bundle.json this package needs. The bytes
// themselves are never re-marshalled: what is pushed, pulled and copied is
// the raw bundle.json.
type bundleFields struct {
	SchemaVersion string       `json:"schemaVersion"`
	Name          string       `json:"name"`
	Version       string       `json:"version"`
	Description   string       `json:"description"`
	Keywords      []string     `json:"keywords"`
	Maintainers   []maintainer `json:"maintainers"`
}

// maintainer is one member of "maintainers", with its members in the order
// cnab-go declares them, which is the order cnab-to-oci writes them in the
// org.opencontainers.image.authors annotation.
type maintainer struct {
	Name  string `json:"name"`
	Email string `json:"email,omitempty"`
	URL   string `json:"url,omitempty"`
}

// bundleImage is one image a bundle references.
type bundleImage struct {
	// Kind is "invocation" or "component" (the io.cnab.manifest.type value).
	Kind string
	// Name is the component name (key of "images"), or "invocationImages[i]".
	Name string
	// Image is the "image" member exactly as bundle.json has it: the key of
	// a relocation mapping.
	Image string
	// ContentDigest is the signed registry manifest digest.
	ContentDigest string
	// Size as bundle.json states it (0: not stated).
	Size int64
}

// parseBundle reads the images (with bundle.Parse, which refuses duplicate
// and case-variant member names) and the annotation fields of raw
// bundle.json. Every image must carry a sha256 contentDigest.
func parseBundle(raw []byte, subject string) (bundleFields, []bundleImage, error) {
	var b bundleFields
	pb, err := bundle.Parse(raw)
	if err != nil {
		return b, nil, fault.Wrap(fault.Input, fmt.Errorf("%s: %w", subject, err))
	}
	if err := json.Unmarshal(raw, &b); err != nil {
		return b, nil, fault.Inputf("%s: bundle.json: %w", subject, err)
	}
	var imgs []bundleImage
	for _, im := range pb.Images() {
		imgs = append(imgs, newBundleImage(im))
	}
	if len(imgs) == 0 || imgs[0].Kind != ManifestTypeInvocation {
		return b, nil, fault.Inputf("%s: bundle.json has no invocationImages", subject)
	}
	for _, im := range imgs {
		if err := checkBundleImage(im, subject); err != nil {
			return b, nil, err
		}
	}
	return b, imgs, nil
}

// newBundleImage is the bundleImage of an image bundle.Parse read.
func newBundleImage(im bundle.Image) bundleImage {
	bi := bundleImage{Kind: ManifestTypeComponent, Name: im.Key, Image: im.Reference, ContentDigest: im.ContentDigest}
	if im.Invocation {
		bi.Kind, bi.Name = ManifestTypeInvocation, fmt.Sprintf("invocationImages[%d]", im.Index)
	}
	if im.HasSize {
		bi.Size = int64(im.Size)
	}
	return bi
}

// checkBundleImage refuses an image without a reference or without a sha256
// contentDigest.
func checkBundleImage(im bundleImage, subject string) error {
	if strings.TrimSpace(im.Image) == "" {
		return fault.Inputf("%s: %s %s has no image reference", subject, im.Kind, im.Name)
	}
	if im.ContentDigest == "" {
		return fault.WithRemedy(fault.Inputf("%s: %s (%s) has no contentDigest", subject, im.Name, im.Image),
			fault.RemedyContentDigest, im.Name)
	}
	if !isSHA256Digest(im.ContentDigest) {
		return fault.Inputf("%s: %s (%s): contentDigest %q is not sha256:<64 hex>", subject, im.Name, im.Image, im.ContentDigest)
	}
	return nil
}

// isSHA256Digest reports whether d is sha256:<64 lowercase hex>.
func isSHA256Digest(d string) bool {
	hexPart, ok := strings.CutPrefix(d, "sha256:")
	if !ok || len(hexPart) != 64 {
		return false
	}
	for _, c := range hexPart {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
