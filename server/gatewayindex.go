package server

import (
	"context"
	"log/slog"
	"sort"
	"strings"
	"sync/atomic"

	"github.com/google/go-containerregistry/pkg/name"
	"golang.org/x/sync/singleflight"

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

// indexHolder keeps the digest index of the current trusted snapshot,
// rebuilding it once per snapshot (concurrent callers share one rebuild).
type indexHolder struct {
	v   Verifier
	log *slog.Logger
	idx atomic.Pointer[digestIndex]
	sf  singleflight.Group
}

// get returns the digest index of the current snapshot.
func (h *indexHolder) get(ctx context.Context) (*digestIndex, error) {
	st := h.v.State()
	if idx := h.idx.Load(); idx != nil && idx.snapshot == st.SnapshotVersion {
		return idx, nil
	}
	v, err, _ := h.sf.Do("index", func() (any, error) {
		if idx := h.idx.Load(); idx != nil && idx.snapshot == h.v.State().SnapshotVersion {
			return idx, nil
		}
		idx, err := buildIndex(ctx, h.v)
		if err != nil {
			return nil, err
		}
		h.idx.Store(idx)
		h.log.Info("digest index rebuilt", "snapshotVersion", idx.snapshot, "images", len(idx.byName))
		return idx, nil
	})
	if err != nil {
		return nil, err
	}
	idx := v.(*digestIndex)
	if idx.snapshot != st.SnapshotVersion && idx.snapshot != h.v.State().SnapshotVersion {
		return nil, fault.Inconclusivef("digest index of snapshot %d does not match the trusted snapshot %d", idx.snapshot, h.v.State().SnapshotVersion)
	}
	return idx, nil
}
