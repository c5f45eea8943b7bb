package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata/config"
	"github.com/theupdateframework/go-tuf/v2/metadata/updater"

	"github.com/cnabsec/cnabsec/bundle"
	"github.com/cnabsec/cnabsec/internal/testing/testrepo"
	"github.com/cnabsec/cnabsec/metadata"
)

// The crash-consistency harness (issue 8 §3): the real cnabsec binary signs
// into a small repository (4 hash bins, thin bundle files, no registry) and is
// killed with SIGKILL at a seeded random moment of its run. After every kill
// go-tuf's updater, keeping its trusted metadata across the whole test (so a
// rollback would be caught), must verify the repository: either the old state
// (the version absent, timestamp unchanged) or the new one (the version
// listed with the bundle's length and hash) — and every version signed before
// must still be listed. Then the interrupted command, run again to the end,
// must succeed: the kernel drops the flock of a killed process, so no stale
// lock may block it.

const crashName = "example.com/org/app"

// TestKilledWritersLeaveAVerifiableRepository builds the binary once and runs
// the two kill scenarios with it.
func TestKilledWritersLeaveAVerifiableRepository(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and kills it 50 times")
	}
	bin := filepath.Join(t.TempDir(), "cnabsec")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	t.Run("SignerKilledAtRandomLeavesOldOrNewStateAndNextSignSucceeds", func(t *testing.T) {
		signerKilledAtRandom(t, newCrashRig(t, bin))
	})
	t.Run("ConcurrentSignersKilledOrNotLoseNoTarget", func(t *testing.T) {
		concurrentSignersKilledOrNot(t, newCrashRig(t, bin))
	})
}

// crashRig is a repository, the built binary and a persistent TUF client.
type crashRig struct {
	t        *testing.T
	bin      string
	repo     *testrepo.Repo
	srv      *httptest.Server
	cacheDir string
	work     string
	// listed: every version whose signing completed, with its bundle sha256.
	listed map[string]string
	// files: bundle file and sha256 per tag.
	files map[string][2]string
}

func newCrashRig(t *testing.T, bin string) *crashRig {
	r := testrepo.New(t, testrepo.WithBins(4), testrepo.WithDelegated(crashName))
	srv := httptest.NewServer(metadata.Handler(r.Dir))
	t.Cleanup(srv.Close)
	return &crashRig{t: t, bin: bin, repo: r, srv: srv, cacheDir: t.TempDir(), work: t.TempDir(),
		listed: map[string]string{}, files: map[string][2]string{}}
}

// bundleFor writes a canonical thin bundle for tag (once) and returns its
// path and sha256.
func (c *crashRig) bundleFor(tag string) (string, string) {
	if f, ok := c.files[tag]; ok {
		return f[0], f[1]
	}
	raw := fmt.Sprintf(`{"schemaVersion":"v1.0.0","name":"app","version":"1.0.0","description":%q,`+
		`"invocationImages":[{"imageType":"docker","image":"example.com/org/app-installer:1.0","contentDigest":"sha256:%064x"}]}`, "release "+tag, len(tag))
	canon, err := bundle.Canonicalize([]byte(raw))
	if err != nil {
		c.t.Fatal(err)
	}
	p := filepath.Join(c.work, tag+".json")
	if err := os.WriteFile(p, canon, 0o644); err != nil {
		c.t.Fatal(err)
	}
	sum := sha256.Sum256(canon)
	c.files[tag] = [2]string{p, hex.EncodeToString(sum[:])}
	return p, c.files[tag][1]
}

// command returns the argv of signing tag, or of `repo refresh` when tag is "".
func (c *crashRig) command(tag string) *exec.Cmd {
	online := []string{"--snapshot-key", c.repo.KeyFile("snapshot"), "--timestamp-key", c.repo.KeyFile("timestamp")}
	var args []string
	if tag == "" {
		args = append([]string{"repo", "refresh", c.repo.Dir}, online...)
	} else {
		file, _ := c.bundleFor(tag)
		args = append([]string{"sign", "bundle", file, "--ref", crashName + ":" + tag, "--repo", c.repo.Dir, "--key", c.repo.KeyFile("releases"), "--no-registry-check"}, online...)
	}
	return exec.Command(c.bin, args...)
}

// runToEnd runs the command of tag to completion; it must succeed.
func (c *crashRig) runToEnd(tag string) time.Duration {
	c.t.Helper()
	cmd := c.command(tag)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	if err != nil {
		c.t.Fatalf("%s after the previous kills: %v\n%s", strings.Join(cmd.Args[1:3], " "), err, out)
	}
	if tag != "" {
		c.listed[tag] = c.files[tag][1]
	}
	return time.Since(start)
}

// outcome of one killed run.
type outcome int

const (
	exitedFirst  outcome = iota // the command finished before the kill
	beforeWrite                 // killed before it wrote anything
	midWrite                    // killed with part of the change written, not published
	afterPublish                // killed after timestamp.json pointed at the change
)

// startKill starts the command of tag and sends SIGKILL after delay. It
// reports whether the command had exited by itself first (successfully: a
// failure is returned as err).
func (c *crashRig) startKill(tag string, delay time.Duration) (exited bool, out string, err error) {
	cmd := c.command(tag)
	var buf strings.Builder
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if err := cmd.Start(); err != nil {
		return false, "", err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			return false, buf.String(), fmt.Errorf("%s exited on its own with an error: %v", strings.Join(cmd.Args[1:3], " "), err)
		}
		return true, buf.String(), nil
	case <-time.After(delay):
	}
	cmd.Process.Kill() //nolint:errcheck // it may have exited in the meantime
	werr := <-done
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return false, buf.String(), nil
	}
	if werr != nil {
		return false, buf.String(), fmt.Errorf("%s exited on its own with an error: %v", strings.Join(cmd.Args[1:3], " "), werr)
	}
	return true, buf.String(), nil // it finished in the same instant
}

// files lists the repository's files (relative paths) with their sizes, to
// tell what a killed writer left behind.
func (c *crashRig) snapshotFiles() map[string]int64 {
	out := map[string]int64{}
	filepath.Walk(c.repo.Dir, func(p string, fi os.FileInfo, err error) error { //nolint:errcheck // best effort
		if err == nil && !fi.IsDir() {
			rel, _ := filepath.Rel(c.repo.Dir, p)
			if !strings.HasPrefix(rel, "cache"+string(filepath.Separator)) && rel != ".lock" {
				out[rel] = fi.ModTime().UnixNano()
			}
		}
		return nil
	})
	return out
}

func isTemp(rel string) bool {
	return strings.HasPrefix(filepath.Base(rel), ".") && strings.Contains(rel, ".tmp-")
}

// client refreshes go-tuf's updater with the metadata it trusted before (a
// persistent local directory) and returns it.
func (c *crashRig) client() (*updater.Updater, error) {
	cfg, err := config.New(c.srv.URL+"/metadata", c.repo.TrustedRoot)
	if err != nil {
		c.t.Fatal(err)
	}
	cfg.RemoteTargetsURL = c.srv.URL + "/targets"
	cfg.LocalMetadataDir = c.cacheDir
	cfg.LocalTargetsDir = c.t.TempDir()
	if err := cfg.SetDefaultFetcherHTTPClient(&http.Client{Timeout: 10 * time.Second}); err != nil {
		c.t.Fatal(err)
	}
	up, err := updater.New(cfg)
	if err != nil {
		return nil, err
	}
	return up, up.Refresh()
}

// check verifies the served repository after a kill: every completed version
// listed with its hash, and tag (the version being signed when the kill came,
// "" for a refresh) either absent under the old timestamp or listed with its
// bundle's hash under a newer one. It returns whether tag is listed and the
// timestamp version.
func (c *crashRig) check(when, tag string, oldTS int64) (bool, int64) {
	c.t.Helper()
	up, err := c.client()
	if err != nil {
		c.t.Fatalf("%s: go-tuf refuses the repository: %v", when, err)
	}
	ts := up.GetTrustedMetadataSet().Timestamp.Signed.Version
	if ts < oldTS {
		c.t.Fatalf("%s: timestamp version %d went back from %d", when, ts, oldTS)
	}
	for t, sum := range c.listed {
		ti, err := up.GetTargetInfo(crashName + ":" + t)
		if err != nil {
			c.t.Fatalf("%s: version %s, signed before, is lost: %v", when, t, err)
		}
		if hex.EncodeToString(ti.Hashes["sha256"]) != sum {
			c.t.Fatalf("%s: version %s lists sha256 %x, signed %s", when, t, ti.Hashes["sha256"], sum)
		}
	}
	if tag == "" {
		return false, ts
	}
	ti, err := up.GetTargetInfo(crashName + ":" + tag)
	if err != nil {
		if ts != oldTS {
			c.t.Fatalf("%s: timestamp moved from %d to %d without the version %s (a mix of states): %v", when, oldTS, ts, tag, err)
		}
		return false, ts
	}
	file, sum := c.bundleFor(tag)
	fi, _ := os.Stat(file)
	if hex.EncodeToString(ti.Hashes["sha256"]) != sum || ti.Length != fi.Size() {
		c.t.Fatalf("%s: version %s listed with sha256 %x and length %d, the bundle has %s and %d", when, tag, ti.Hashes["sha256"], ti.Length, sum, fi.Size())
	}
	if ts == oldTS {
		c.t.Fatalf("%s: version %s listed under the old timestamp version %d", when, tag, ts)
	}
	return true, ts
}

// classify says what a killed run left, comparing the repository's files
// before and after.
func classify(before, after map[string]int64, published bool) outcome {
	if published {
		return afterPublish
	}
	for rel, mt := range after {
		if b, ok := before[rel]; !ok || b != mt {
			return midWrite
		}
	}
	return beforeWrite
}

func signerKilledAtRandom(t *testing.T, c *crashRig) {
	// The typical duration of one run: the median of the last complete runs
	// (every kill is followed by one), so that it follows the machine's load.
	var recent []time.Duration
	typical := func() time.Duration {
		last := recent[max(0, len(recent)-7):]
		s := append([]time.Duration(nil), last...)
		sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
		return s[len(s)/2]
	}
	for i := 0; i < 3; i++ {
		recent = append(recent, c.runToEnd(fmt.Sprintf("warm-%d", i)))
	}
	_, ts := c.check("after the warm-up", "", 0)

	rng := rand.New(rand.NewPCG(8, 3))
	const kills = 50
	counts := map[outcome]int{}
	leftTemps := 0
	for i := 0; i < kills; i++ {
		tag := fmt.Sprintf("crash-%d", i)
		what := "sign bundle " + tag
		if i%5 == 4 {
			tag, what = "", "repo refresh"
		}
		// A delay in [0, typical] with density rising towards the end: most
		// of a run is process start and key loading, the writes come last.
		delay := time.Duration(math.Sqrt(rng.Float64()) * float64(typical()))
		before := c.snapshotFiles()
		exited, out, err := c.startKill(tag, delay)
		if err != nil {
			t.Fatalf("kill %d: %v\n%s", i, err, out)
		}
		when := fmt.Sprintf("kill %d (%s after %v)", i, what, delay)
		listed, newTS := c.check(when, tag, ts)
		after := c.snapshotFiles()
		var o outcome
		switch {
		case exited:
			o = exitedFirst
			if tag != "" && !listed {
				t.Fatalf("%s: the command completed but its version is not listed\n%s", when, out)
			}
		default:
			o = classify(before, after, newTS != ts)
		}
		counts[o]++
		for rel := range after {
			if _, old := before[rel]; !old && isTemp(rel) {
				leftTemps++
			}
		}
		// The pipeline retries: the same command, to the end, must succeed.
		recent = append(recent, c.runToEnd(tag))
		var listedNow bool
		listedNow, ts = c.check(when+", then run again", tag, newTS)
		if tag != "" && !listedNow {
			t.Fatalf("%s: run again, the version is still not listed", when)
		}
	}
	t.Logf("%d kills (typical run at the end %v): %d exited before the kill, %d before any write, %d mid-write (change partly written, old state served), %d after publication; %d temporary files left by killed writes",
		kills, typical(), counts[exitedFirst], counts[beforeWrite], counts[midWrite], counts[afterPublish], leftTemps)
}

func concurrentSignersKilledOrNot(t *testing.T, c *crashRig) {
	typical := c.runToEnd("warm")
	_, ts := c.check("after the warm-up", "", 0)
	rng := rand.New(rand.NewPCG(9, 4))
	const rounds = 10
	killed := 0
	for round := 0; round < rounds; round++ {
		tags := [2]string{fmt.Sprintf("a-%d", round), fmt.Sprintf("b-%d", round)}
		for _, tag := range tags {
			c.bundleFor(tag)
		}
		victim := -1
		if round%2 == 1 {
			victim = rng.IntN(2)
		}
		delay := time.Duration(rng.Int64N(2*int64(typical) + 1))
		var wg sync.WaitGroup
		var exited [2]bool
		var outs [2]string
		var errs [2]error
		for i, tag := range tags {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if i == victim {
					exited[i], outs[i], errs[i] = c.startKill(tag, delay)
					return
				}
				b, err := c.command(tag).CombinedOutput()
				exited[i], outs[i], errs[i] = err == nil, string(b), err
			}()
		}
		wg.Wait()
		for i, tag := range tags {
			if errs[i] != nil {
				t.Fatalf("round %d: signer %s failed next to another: %v\n%s", round, tag, errs[i], outs[i])
			}
			if exited[i] {
				c.listed[tag] = c.files[tag][1]
			}
		}
		when := fmt.Sprintf("round %d", round)
		if victim >= 0 && !exited[victim] {
			killed++
			_, ts = c.check(when+" (one signer killed)", "", ts)
			c.runToEnd(tags[victim])
		}
		_, ts = c.check(when, "", ts)
		for _, tag := range tags {
			if _, ok := c.listed[tag]; !ok {
				t.Fatalf("%s: %s is not recorded as signed", when, tag)
			}
		}
	}
	up, err := c.client()
	if err != nil {
		t.Fatal(err)
	}
	for tag := range c.listed {
		if _, err := up.GetTargetInfo(crashName + ":" + tag); err != nil {
			t.Fatalf("after %d concurrent rounds: %s lost: %v", rounds, tag, err)
		}
	}
	t.Logf("%d rounds of two concurrent signers (%d with one killed mid-run): all %d versions listed", rounds, killed, len(c.listed))
}
