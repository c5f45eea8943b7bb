package bundle

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/cnabsec/cnabsec/internal/fault"
)

// porterLayout is what WriteThick adds so that Porter can publish the
// archive (porter publish --archive): relocation-mapping.json, and the
// layout's index.json with each image's entry named (annotation
// org.opencontainers.image.ref.name) by its relocated reference, which is
// the name Porter's publish looks the image up by.
type porterLayout struct {
	mapping []byte
	index   []byte
}

// porterParts checks c's relocation mapping (given, or derived by
// defaultRelocation) as ReadThick does and renames the index entries.
func porterParts(c ThickContent) (porterLayout, error) {
	b, err := Parse(c.BundleJSON)
	if err != nil {
		return porterLayout{}, fmt.Errorf("thick bundle: %w", err)
	}
	m := c.Relocation
	if m == nil {
		m = defaultRelocation(b)
	}
	if err := CheckRelocationCovers(b, m); err != nil {
		return porterLayout{}, fmt.Errorf("thick bundle %s: %w", ThickRelocationMappingPath, err)
	}
	mapping, err := json.Marshal(map[string]string(m))
	if err != nil {
		return porterLayout{}, err
	}
	index, err := nameIndexEntries(c.Index, b, m)
	if err != nil {
		return porterLayout{}, err
	}
	return porterLayout{mapping: mapping, index: index}, nil
}

// defaultRelocation relocates each image to its own repository (the image
// reference without tag or digest) at its contentDigest: where the image is
// when nothing says it was copied elsewhere. An image without a
// contentDigest is left out, so CheckRelocationCovers names it.
func defaultRelocation(b *Bundle) RelocationMapping {
	m := RelocationMapping{}
	for _, img := range b.images {
		if img.ContentDigest != "" {
			m[img.Reference] = repositoryOf(img.Reference) + "@" + img.ContentDigest
		}
	}
	return m
}

// repositoryOf is ref without its @digest and :tag.
func repositoryOf(ref string) string {
	repo, _, _ := strings.Cut(ref, "@")
	if i := strings.LastIndexByte(repo, ':'); i > strings.LastIndexByte(repo, '/') {
		repo = repo[:i]
	}
	return repo
}

// nameIndexEntries rewrites index.json: one entry per relocated reference
// (sorted), a copy of the index's entry for that image's digest (media
// type, size, platform and annotations kept) named by the relocated
// reference; entries for digests no image has are kept as they are. Other
// members of the index are kept. The output is indented JSON with sorted
// object keys, so the same input gives the same bytes.
func nameIndexEntries(index []byte, b *Bundle, m RelocationMapping) ([]byte, error) {
	top, entries, err := splitIndex(index)
	if err != nil {
		return nil, err
	}
	byDigest := map[string]map[string]json.RawMessage{}
	for _, e := range entries {
		if d := entryDigest(e); byDigest[d] == nil {
			byDigest[d] = e
		}
	}
	relocated, imageDigests := relocatedDigests(b, m)
	var out []map[string]json.RawMessage
	for _, ref := range slices.Sorted(maps.Keys(relocated)) {
		e, ok := byDigest[relocated[ref]]
		if !ok {
			return nil, fault.Inputf("%w: %s lists no manifest %s (relocated to %s)", ErrNotInLayout, ThickIndexPath, relocated[ref], ref)
		}
		named, err := withRefName(e, ref)
		if err != nil {
			return nil, err
		}
		out = append(out, named)
	}
	for _, e := range entries {
		if !imageDigests[entryDigest(e)] {
			out = append(out, e)
		}
	}
	if top["manifests"], err = json.Marshal(out); err != nil {
		return nil, err
	}
	return json.MarshalIndent(top, "", "  ")
}

// splitIndex parses index.json into its members and its manifests.
func splitIndex(index []byte) (map[string]json.RawMessage, []map[string]json.RawMessage, error) {
	var top map[string]json.RawMessage
	var entries []map[string]json.RawMessage
	if err := json.Unmarshal(index, &top); err != nil || top == nil {
		return nil, nil, fault.Inputf("thick bundle: %s is not an OCI index (a JSON object): %v", ThickIndexPath, err)
	}
	if err := json.Unmarshal(top["manifests"], &entries); err != nil {
		return nil, nil, fault.Inputf("thick bundle: %s: manifests is not a list of descriptors: %v", ThickIndexPath, err)
	}
	return top, entries, nil
}

// relocatedDigests maps each relocated reference to its digest, and lists
// the images' digests.
func relocatedDigests(b *Bundle, m RelocationMapping) (map[string]string, map[string]bool) {
	relocated, digests := map[string]string{}, map[string]bool{}
	for _, img := range b.images {
		digests[img.ContentDigest] = true
		if to, ok := m.Lookup(img); ok {
			relocated[to] = img.ContentDigest
		}
	}
	return relocated, digests
}

func entryDigest(e map[string]json.RawMessage) string {
	var d string
	if json.Unmarshal(e["digest"], &d) != nil {
		return ""
	}
	return d
}

// withRefName is a copy of entry e with its ref.name annotation set to ref.
func withRefName(e map[string]json.RawMessage, ref string) (map[string]json.RawMessage, error) {
	ann := map[string]string{}
	if raw, ok := e["annotations"]; ok && string(raw) != "null" {
		if err := json.Unmarshal(raw, &ann); err != nil {
			return nil, fault.Inputf("thick bundle: %s: the annotations of manifest %s are not a string map: %v", ThickIndexPath, entryDigest(e), err)
		}
	}
	ann[annotationRefName] = ref
	out := maps.Clone(e)
	var err error
	out["annotations"], err = json.Marshal(ann)
	return out, err
}
