package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	tuf "github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/cnabsec/cnabsec/internal/testrepo"
)

// knownBugsEnv runs the tests of consistency bugs found and not yet fixed
// (they fail until the fix lands; see the test comments).
const knownBugsEnv = "CNABSEC_KNOWN_BUGS"

// TestStagedBatchKilledBetweenItsWritesIsNeverPublishedHalf: `sign batch`
// without --snapshot-key/--timestamp-key stages its change, one atomic file
// per role (deepest first: releases-bin-N.json in name order, then
// snapshot.json). A signer killed between two of those writes leaves the
// first bin staged and not the second. The next publication (repo refresh,
// or any sign with the online keys) must not publish half of that batch:
// either both versions or neither.
//
// KNOWN BUG (found by the crash harness, 2026-11-28): metadata publishes the
// staged bin alone, so the batch lands half: version a is listed, b is not.
// The staged directory has no commit marker tying a transaction's files
// together. The test reproduces the killed state exactly (the files a kill
// between the two writes leaves) instead of hoping a random kill lands there.
func TestStagedBatchKilledBetweenItsWritesIsNeverPublishedHalf(t *testing.T) {
	if os.Getenv(knownBugsEnv) == "" {
		t.Skipf("known bug in metadata staging (not yet fixed); run with %s=1", knownBugsEnv)
	}
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
	// (name order), not the second, and no staged snapshot.
	var binFiles []string
	for role := range byBin {
		binFiles = append(binFiles, filepath.Join(r.Dir, "staged", role+".json"))
	}
	sort.Strings(binFiles)
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
