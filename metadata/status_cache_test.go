package metadata_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/cnabsec/cnabsec/internal/testing/testrepo"
)

func TestStatusRebuildsAMissingCache(t *testing.T) {
	r := testrepo.New(t)
	cache := filepath.Join(r.Dir, "cache", "summaries.json")
	if err := os.Remove(cache); err != nil {
		t.Fatal(err)
	}
	before, err := r.Repo.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(cache); err != nil {
		t.Fatalf("status did not save the summaries it computed: %v", err)
	}
	after, err := r.Repo.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(before.Roles) != len(after.Roles) {
		t.Fatalf("status differs with the rebuilt cache: %+v vs %+v", before.Roles, after.Roles)
	}
	for i := range before.Roles {
		b, a := before.Roles[i], after.Roles[i]
		if b.Role != a.Role || b.ValidKeys != a.ValidKeys || b.Version != a.Version || (b.Targets == nil) != (a.Targets == nil) {
			t.Errorf("%+v vs %+v", b, a)
		}
	}
}
