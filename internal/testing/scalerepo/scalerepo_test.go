package scalerepo

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cnabsec/cnabsec/internal/testing/peakrss"

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

// TestBuildTheScaleRepositoryOfTheEnvironment builds (or finds in the cache)
// the repository CNABSEC_SCALE_VERSIONS and CNABSEC_SCALE_BINS name, and
// logs the build's time and this process's peak RSS. It does nothing unless
// CNABSEC_SCALE_VERSIONS is set (a bench-only run, never CI):
//
//	CNABSEC_SCALE_VERSIONS=1000000 CNABSEC_SCALE_BINS=4096 go test -run TestBuildTheScaleRepositoryOfTheEnvironment -v -timeout 60m ./internal/testing/scalerepo
func TestBuildTheScaleRepositoryOfTheEnvironment(t *testing.T) {
	if os.Getenv(VersionsEnv) == "" {
		t.Skip(VersionsEnv + " is not set")
	}
	n, bins, err := FromEnv(100_000, 2048)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	r, err := Cached(context.Background(), n, bins, 7, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	snap, err := SnapshotBytes(r.Dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d versions in %d bins: %v, peak RSS %.1f MiB; snapshot %d bytes", n, bins, time.Since(start).Round(time.Second),
		float64(peakrss.Peak(t))/(1<<20), snap)
}

// TestAGroupedBuildListsTheSameVersionsAsOneTransaction: above
// oneTransaction versions Build adds them one group of bins per
// transaction; every version must still be listed once, with the same
// hashes, in the bin the repository assigns it.
func TestAGroupedBuildListsTheSameVersionsAsOneTransaction(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	const n, bins = 40, 8
	whole, err := Build(ctx, filepath.Join(dir, "whole"), filepath.Join(dir, "k1"), n, bins, 3)
	if err != nil {
		t.Fatal(err)
	}
	defer func(v int) { oneTransaction = v }(oneTransaction)
	oneTransaction = 8
	grouped, err := Build(ctx, filepath.Join(dir, "grouped"), filepath.Join(dir, "k2"), n, bins, 3)
	if err != nil {
		t.Fatal(err)
	}
	want, err := whole.Repo.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got, err := grouped.Repo.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != n || len(want) != n {
		t.Fatalf("grouped build lists %d versions, one transaction %d, want %d", len(got), len(want), n)
	}
	byName := map[string]metadata.Target{}
	for _, w := range want {
		byName[w.Name] = w
	}
	for _, g := range got {
		w, ok := byName[g.Name]
		if !ok || w.Role != g.Role || w.Hashes["sha256"] != g.Hashes["sha256"] {
			t.Errorf("%s: grouped build has it in %s (%s), one transaction in %s (%s)", g.Name, g.Role, g.Hashes["sha256"], w.Role, w.Hashes["sha256"])
		}
	}
	snaps, err := SnapshotBytes(grouped.Dir)
	if err != nil || snaps == 0 {
		t.Fatalf("snapshot size of the grouped build: %d, %v", snaps, err)
	}
}
