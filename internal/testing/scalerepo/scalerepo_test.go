package scalerepo

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/cnabsec/cnabsec/metadata"
)

// TestWritingToACloneLeavesTheCachedRepositoryUnchanged: clones share the
// cache's files by hard link; a change published into a clone must replace
// files (rename), never write into the shared ones.
func TestWritingToACloneLeavesTheCachedRepositoryUnchanged(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	src, err := Build(ctx, filepath.Join(dir, "repo"), filepath.Join(dir, "keys"), 5, 4, 1)
	if err != nil {
		t.Fatal(err)
	}
	before := contents(t, src.Dir)
	clone, err := src.Clone(filepath.Join(dir, "clone"))
	if err != nil {
		t.Fatal(err)
	}
	for i := 5; i < 9; i++ {
		if _, err := clone.Repo.Update(ctx, clone.Signing(), func(tx *metadata.Tx) error {
			return tx.AddTarget(Version(1, i))
		}); err != nil {
			t.Fatal(err)
		}
	}
	after := contents(t, src.Dir)
	for p, b := range before {
		if !bytes.Equal(after[p], b) {
			t.Errorf("%s changed in the cached repository after writes to a clone", p)
		}
	}
	if len(after) != len(before) {
		t.Errorf("the cached repository has %d files, had %d", len(after), len(before))
	}
	for r, want := range map[*Repo]int{src: 5, clone: 9} {
		reopened, err := Open(r.Dir, r.KeyDir)
		if err != nil {
			t.Fatal(err)
		}
		list, err := reopened.Repo.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != want {
			t.Errorf("%s lists %d targets, want %d", r.Dir, len(list), want)
		}
	}
}

func contents(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if rel == ".lock" {
			return nil
		}
		b, err := os.ReadFile(p)
		out[rel] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
