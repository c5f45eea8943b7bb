package server

import (
	"context"
	"sort"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/cnabsec/cnabsec/internal/fault"
)

// digestIndex maps the image targets of one trusted snapshot by name and by
// digest, so that a manifest request never scans metadata.
type digestIndex struct {
	snapshot int64
	byName   map[string]string   // normalized target name -> sha256 hex
	byDigest map[string][]string // sha256 hex -> target names, sorted
}

// buildIndex lists the verifier's targets and indexes its images.
func buildIndex(ctx context.Context, v Verifier) (*digestIndex, error) {
	st := v.State()
	refs, err := v.Targets(ctx)
	if err != nil {
		return nil, fault.Wrap(fault.Inconclusive, err)
	}
	idx := &digestIndex{snapshot: st.SnapshotVersion, byName: map[string]string{}, byDigest: map[string][]string{}}
	for _, t := range refs {
		if t.Kind != "image" || len(t.SHA256) != 64 {
			continue
		}
		ref, err := name.ParseReference(t.Name)
		if err != nil {
			continue // not an image reference: not servable by a registry gateway
		}
		n := ref.Name()
		h := strings.ToLower(t.SHA256)
		idx.byName[n] = h
		idx.byDigest[h] = append(idx.byDigest[h], n)
	}
	for _, names := range idx.byDigest {
		sort.Strings(names)
	}
	return idx, nil
}

// namesIn returns the target names with digest h in repository repo
// (REGISTRY/REPO), the digest form first.
func (x *digestIndex) namesIn(repo, h string) []string {
	var digestForm, tagForm []string
	for _, n := range x.byDigest[h] {
		switch {
		case n == repo+"@sha256:"+h:
			digestForm = append(digestForm, n)
		case strings.HasPrefix(n, repo+":") && !strings.Contains(n[len(repo)+1:], "/"):
			tagForm = append(tagForm, n)
		}
	}
	return append(digestForm, tagForm...)
}
