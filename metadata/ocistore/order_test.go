package ocistore

import (
	"net/http"
	"path"
	"strings"
	"sync"
	"testing"

	"github.com/cnabsec/cnabsec/internal/testing/registrytest"
)

// TestTimestampIsPushedLastSoClientsNeverSeeDanglingReferences records the
// order in which tags are written: every target before any metadata, every
// other role before the snapshot, the snapshot before the timestamp, and the
// timestamp last, even though each group is pushed concurrently.
func TestTimestampIsPushedLastSoClientsNeverSeeDanglingReferences(t *testing.T) {
	var (
		mu   sync.Mutex
		tags []string
	)
	reg := registrytest.New(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h.ServeHTTP(w, r)
			if r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/manifests/") {
				mu.Lock()
				tags = append(tags, path.Base(r.URL.Path))
				mu.Unlock()
			}
		})
	})
	push(t, newRepo(t), mustRepo(t, reg, "org/tuf"))
	rank := func(tag string) int {
		if _, ok := TargetForTag(tag); ok {
			return -1
		}
		f, err := MetadataForTag(tag)
		if err != nil {
			t.Fatalf("unexpected tag %q", tag)
		}
		_, role := splitMetadataName(f)
		return pushRank(role)
	}
	if len(tags) < 6 || tags[len(tags)-1] != "tuf-timestamp.json" {
		t.Fatalf("tags written in order %v: want the timestamp last", tags)
	}
	for i := 1; i < len(tags); i++ {
		if rank(tags[i]) < rank(tags[i-1]) {
			t.Fatalf("%s was written after %s (order %v)", tags[i], tags[i-1], tags)
		}
	}
}
