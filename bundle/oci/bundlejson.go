package oci

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/cnabsec/cnabsec/internal/fault"
)

var jsonUnmarshal = json.Unmarshal

// bundleFields are the members of bundle.json this package needs. The bytes
// themselves are never re-marshalled: what is pushed, pulled and copied is
// the raw bundle.json.
type bundleFields struct {
	SchemaVersion    string                 `json:"schemaVersion"`
	Name             string                 `json:"name"`
	Version          string                 `json:"version"`
	Description      string                 `json:"description"`
	Keywords         json.RawMessage        `json:"keywords"`
	Maintainers      json.RawMessage        `json:"maintainers"`
	InvocationImages []bundleImage          `json:"invocationImages"`
	Images           map[string]bundleImage `json:"images"`
}

type bundleImage struct {
	Image         string `json:"image"`
	ImageType     string `json:"imageType"`
	ContentDigest string `json:"contentDigest"`
	MediaType     string `json:"mediaType"`
	Size          int64  `json:"size"`
}

// BundleImage is one image a bundle references.
type BundleImage struct {
	// Kind is "invocation" or "component" (the io.cnab.manifest.type value).
	Kind string
	// Name is the component name (key of "images"); for invocation images
	// it is "invocationImages[i]".
	Name string
	// Image is the "image" member exactly as bundle.json has it: the key of
	// a relocation mapping.
	Image string
	// ContentDigest is the signed registry manifest digest.
	ContentDigest string
	// MediaType and Size as bundle.json states them (may be empty/zero).
	MediaType string
	Size      int64
}

// parseBundle reads the fields PushBundle and Copy need from raw bundle.json.
func parseBundle(raw []byte, subject string) (bundleFields, []BundleImage, error) {
	var b bundleFields
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&b); err != nil {
		return b, nil, fault.Inputf("%s: not a bundle.json: %w", subject, err)
	}
	if len(b.InvocationImages) == 0 {
		return b, nil, fault.Inputf("%s: bundle.json has no invocationImages", subject)
	}
	var imgs []BundleImage
	for i, ii := range b.InvocationImages {
		imgs = append(imgs, BundleImage{Kind: "invocation", Name: fmt.Sprintf("invocationImages[%d]", i),
			Image: ii.Image, ContentDigest: ii.ContentDigest, MediaType: ii.MediaType, Size: ii.Size})
	}
	names := make([]string, 0, len(b.Images))
	for n := range b.Images {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		im := b.Images[n]
		imgs = append(imgs, BundleImage{Kind: "component", Name: n,
			Image: im.Image, ContentDigest: im.ContentDigest, MediaType: im.MediaType, Size: im.Size})
	}
	for _, im := range imgs {
		if strings.TrimSpace(im.Image) == "" {
			return b, nil, fault.Inputf("%s: %s has no image reference", subject, im.Name)
		}
		if im.ContentDigest == "" {
			return b, nil, fault.WithHint(fault.Inputf("%s: %s (%s) has no contentDigest", subject, im.Name, im.Image),
				"every image must carry its registry manifest digest in contentDigest before the bundle is pushed (CNAB 101)")
		}
		if !isSHA256Digest(im.ContentDigest) {
			return b, nil, fault.Inputf("%s: %s (%s): contentDigest %q is not sha256:<64 hex>", subject, im.Name, im.Image, im.ContentDigest)
		}
	}
	return b, imgs, nil
}

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

// compactJSON renders a raw member compactly, "" when absent or null.
func compactJSON(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return ""
	}
	return buf.String()
}
