package bundle

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/cnabsec/cnabsec/internal/fault"
)

// ThickRelocationMappingPath is where Porter's archives (porter archive)
// carry the relocation mapping of the bundle's images: original reference →
// REPOSITORY@DIGEST where the image was when archived. Porter's publish looks
// each image up in artifacts/layout by that relocated reference (the index
// entries' org.opencontainers.image.ref.name annotation).
const ThickRelocationMappingPath = "relocation-mapping.json"

// annotationRefName names an index.json entry (an image reference).
const annotationRefName = "org.opencontainers.image.ref.name"

// checkRelocationMapping checks the archive's relocation-mapping.json, when
// there is one, as any relocation mapping (CheckRelocationCovers: every
// image of the bundle, each at REPOSITORY@contentDigest, nothing else), and
// that no index.json entry named REPOSITORY@DIGEST is another manifest than
// DIGEST: a runtime that finds images by those names (Porter) would
// otherwise take an image the bundle does not pin.
func (tr *thickReader) checkRelocationMapping(b *Bundle) error {
	if err := tr.checkRefNames(); err != nil {
		return err
	}
	if tr.mapping == nil {
		return nil
	}
	m, err := ParseRelocationMapping(tr.mapping)
	if err != nil {
		return fmt.Errorf("thick bundle %s: %w", ThickRelocationMappingPath, err)
	}
	if err := CheckRelocationCovers(b, m); err != nil {
		return fmt.Errorf("thick bundle %s: %w", ThickRelocationMappingPath, err)
	}
	tr.t.RelocationMapping = m
	return nil
}

// checkRefNames refuses index.json entries whose ref.name annotation is a
// digest reference to another digest than the entry's (Denied,
// ErrRelocation), naming each.
func (tr *thickReader) checkRefNames() error {
	var idx struct {
		Manifests []struct {
			Digest      string            `json:"digest"`
			Annotations map[string]string `json:"annotations"`
		} `json:"manifests"`
	}
	if err := json.Unmarshal(tr.t.Index, &idx); err != nil {
		return fault.Deniedf("%w: %s is not an OCI index: %v", ErrNotInLayout, ThickIndexPath, err)
	}
	var problems []string
	for _, d := range idx.Manifests {
		named := d.Annotations[annotationRefName]
		if _, dig, ok := strings.Cut(named, "@"); ok && dig != d.Digest {
			problems = append(problems, fmt.Sprintf("the entry named %s is manifest %s", named, d.Digest))
		}
	}
	if len(problems) == 0 {
		return nil
	}
	sort.Strings(problems)
	return fault.Deniedf("%w: %s: %s", ErrRelocation, ThickIndexPath, strings.Join(problems, "; "))
}
