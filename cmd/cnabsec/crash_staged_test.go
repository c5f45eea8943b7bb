package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	tuf "github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/cnabsec/cnabsec/internal/testing/testrepo"
)

// TestStagedBatchKilledBetweenItsWritesIsNeverPublishedHalf: `sign batch`
// without --snapshot-key/--timestamp-key stages its change, one atomic file
// per role (deepest first: releases-bin-N.json in name order, then
// snapshot.json). A signer killed between two of those writes leaves the
// first bin staged and not the second. The next publication (repo refresh,
// or any sign with the online keys) must not publish half of that batch:
// either both versions or neither.
//
// Found by the crash harness (2026-11-28): staged files used to land one by
// one, and the first bin was then published alone. Staging is now a
// transaction (metadata/stagetxn.go): files go to staged/.txn/ and move into
// staged/ only after a COMMIT file. The test reproduces exactly what a kill
// between the two writes leaves (one bin written in staged/.txn/, no COMMIT,
// staged/ as before) instead of hoping a random kill lands there.
func TestStagedBatchKilledBetweenItsWritesIsNeverPublishedHalf(t *testing.T) {
	r := testrepo.New(t, testrepo.WithBins(4), testrepo.WithDelegated(crashName))
	c := &crashRig{t: t, repo: r, work: t.TempDir(), files: map[string][2]string{}}
	// Two versions that land in different bins (4 bins: 2 bits of TAP 15).
	bins := &tuf.SuccinctRoles{BitLength: 2, NamePrefix: "releases-bin"}
	tags, byBin := []string{}, map[string]bool{}
	for i := 0; len(tags) < 2; i++ {
		tag := fmt.Sprintf("half-%d", i)
		role := bins.GetRolesForTarget(crashName + ":" + tag)[0].Name
		if byBin[role] {
			continue
		}
		byBin[role] = true
		tags = append(tags, tag)
	}
	var batch []string
	for _, tag := range tags {
		file, _ := c.bundleFor(tag)
		batch = append(batch, fmt.Sprintf(`{"kind":"bundle","ref":%q,"file":%q}`, crashName+":"+tag, file))
	}
	batchFile := filepath.Join(c.work, "batch.json")
	os.WriteFile(batchFile, []byte("["+strings.Join(batch, ",")+"]"), 0o644)
	if code, out, errs := runCLI(t, "sign", "batch", batchFile, "--repo", r.Dir, "--key", r.KeyFile("releases")); code != 0 {
		t.Fatalf("sign batch (staged): %d %s %s", code, out, errs)
	}
	// What a kill between the staged writes leaves: the first bin written
	// (name order) into the uncommitted transaction, and staged/ as it was
	// before the batch (nothing staged).
	var binFiles []string
	for role := range byBin {
		binFiles = append(binFiles, filepath.Join(r.Dir, "staged", role+".json"))
	}
	sort.Strings(binFiles)
	txn := filepath.Join(r.Dir, "staged", ".txn")
	if err := os.MkdirAll(txn, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(binFiles[0], filepath.Join(txn, filepath.Base(binFiles[0]))); err != nil {
		t.Fatal(err)
	}
	for _, p := range append(binFiles[1:], filepath.Join(r.Dir, "staged", "snapshot.json")) {
		if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
	if code, out, errs := runCLI(t, "repo", "refresh", r.Dir, "--snapshot-key", r.KeyFile("snapshot"), "--timestamp-key", r.KeyFile("timestamp")); code != 0 {
		t.Fatalf("repo refresh after the kill: %d %s %s", code, out, errs)
	}
	up, err := r.Refresh(t)
	if err != nil {
		t.Fatalf("go-tuf refuses the repository: %v", err)
	}
	var listed []string
	for _, tag := range tags {
		if _, err := up.GetTargetInfo(crashName + ":" + tag); err == nil {
			listed = append(listed, tag)
		}
	}
	if len(listed) == 1 {
		t.Fatalf("half of a killed batch was published: only %v is listed of the versions %v signed in one transaction", listed, tags)
	}
}
