//go:build interop

package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/cnabsec/cnabsec/keys"
	"github.com/cnabsec/cnabsec/metadata"
)

// tufjs returns the command running the tuf-js interop client, failing (never
// skipping) when CI=true and the peer is missing.
func tufjs(t *testing.T) (node, script string) {
	t.Helper()
	node, err := exec.LookPath("node")
	dir := os.Getenv("CNABSEC_TUFJS_DIR")
	if err == nil && dir != "" {
		if _, serr := os.Stat(filepath.Join(dir, "node_modules", "tuf-js")); serr != nil {
			err = serr
		}
	} else if err == nil {
		err = os.ErrNotExist
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("tuf-js peer missing (node and $CNABSEC_TUFJS_DIR/node_modules/tuf-js; run `make interop-deps`): %v", err)
		}
		t.Skipf("tuf-js peer missing: %v", err)
	}
	script, _ = filepath.Abs("../../testdata/interop/tufjs-client.js")
	return node, script
}

// newCLIRepo makes a repository the way a publisher does: keys and
// `cnabsec repo init`, optionally with hash bins.
func newCLIRepo(t *testing.T, extra ...string) (dir, keyDir string) {
	t.Helper()
	keyDir, dir = t.TempDir(), filepath.Join(t.TempDir(), "repo")
	for _, role := range []string{"root", "targets", "snapshot", "timestamp", "releases"} {
		if code, _, errs := runCLI(t, "key", "generate", "--unencrypted", filepath.Join(keyDir, role)); code != 0 {
			t.Fatalf("key generate %s: %s", role, errs)
		}
	}
	k := func(role string) string { return filepath.Join(keyDir, role+".key") }
	args := append([]string{"repo", "init", dir, "--root-key", k("root"), "--targets-key", k("targets"),
		"--snapshot-key", k("snapshot"), "--timestamp-key", k("timestamp"), "--releases-key", k("releases")}, extra...)
	if code, out, errs := runCLI(t, args...); code != 0 {
		t.Fatalf("repo init: %d %s %s", code, out, errs)
	}
	return dir, keyDir
}

func TestInteropTufJSReadsRepositoryAndRejectsTampering(t *testing.T) {
	node, script := tufjs(t)
	dir, keyDir := newCLIRepo(t)
	load := func(role string) keys.Signer {
		s, err := keys.LoadPrivate(filepath.Join(keyDir, role+".key"), nil)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	content := []byte(`{"schemaVersion":"v1.0.0","name":"interop"}`)
	const target = "example.com/org/app/in-toto-metadata/root.layout"
	repo, err := metadata.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	res, err := repo.Update(context.Background(), metadata.UpdateOptions{Signers: []keys.Signer{load("targets")}, Snapshot: load("snapshot"), Timestamp: load("timestamp")},
		func(tx *metadata.Tx) error { return tx.AddTarget(target, metadata.TargetInfo{Content: content}) })
	if err != nil || !res.Published {
		t.Fatalf("add target: %v %+v", err, res)
	}
	srv := httptest.NewServer(metadata.Handler(dir))
	defer srv.Close()

	runTufJS := func() (string, error) {
		mdir := t.TempDir()
		root, err := os.ReadFile(filepath.Join(dir, "metadata", "1.root.json"))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(mdir, "root.json"), root, 0o644)
		out := filepath.Join(t.TempDir(), "target")
		cmd := exec.Command(node, script, mdir, srv.URL+"/metadata", srv.URL+"/targets", target, out)
		b, err := cmd.CombinedOutput()
		return string(b), err
	}
	out, err := runTufJS()
	sum := sha256.Sum256(content)
	if err != nil || !strings.Contains(out, "ok "+hex.EncodeToString(sum[:])) {
		t.Fatalf("tuf-js on an honest repository: %v\n%s", err, out)
	}

	// Tamper with the target file: tuf-js must refuse it.
	files, _ := filepath.Glob(filepath.Join(dir, "targets", "example.com", "org", "app", "in-toto-metadata", "*.root.layout"))
	if len(files) == 0 {
		t.Fatal("no published target files found")
	}
	saved := map[string][]byte{}
	for _, f := range files {
		saved[f], _ = os.ReadFile(f)
		os.WriteFile(f, []byte(`{"schemaVersion":"v1.0.0","name":"evil!!!"}`), 0o644)
	}
	if out, err := runTufJS(); err == nil {
		t.Fatalf("tuf-js accepted a tampered target file:\n%s", out)
	} else if !strings.Contains(strings.ToLower(out), "hash") && !strings.Contains(strings.ToLower(out), "length") {
		t.Fatalf("tuf-js refused the tampered target but not for its hash or length:\n%s", out)
	}
	for f, b := range saved {
		os.WriteFile(f, b, 0o644)
	}
	if _, err := runTufJS(); err != nil {
		t.Fatal("restoring the target did not restore verification")
	}

	// Tamper with signed metadata: tuf-js must refuse it.
	ts := filepath.Join(dir, "metadata", "timestamp.json")
	orig, _ := os.ReadFile(ts)
	loc := regexp.MustCompile(`"expires":\s*"`).FindIndex(orig)
	if loc == nil {
		t.Fatalf("timestamp.json has no expires: %s", orig)
	}
	i := loc[1]
	tampered := string(orig[:i]) + "2099" + string(orig[i+4:]) // a freeze attacker extends validity
	os.WriteFile(ts, []byte(tampered), 0o644)
	if out, err := runTufJS(); err == nil {
		t.Fatalf("tuf-js accepted tampered timestamp metadata:\n%s", out)
	} else if !strings.Contains(out, "signed by 0/1 keys") && !strings.Contains(strings.ToLower(out), "signature") {
		t.Fatalf("tuf-js refused tampered metadata but not for its signature:\n%s", out)
	}
}

// TestInteropTufJSDownloadsTargetThroughHashBins: tuf-js follows targets →
// releases → the TAP 15 succinct hash bin a target was routed to, downloads
// it, and refuses the bin once its metadata is tampered with.
func TestInteropTufJSDownloadsTargetThroughHashBins(t *testing.T) {
	node, script := tufjs(t)
	dir, keyDir := newCLIRepo(t, "--bins", "16")
	k := func(role string) string { return filepath.Join(keyDir, role+".key") }
	if code, out, errs := runCLI(t, "repo", "delegate", dir, "--name", "example.com/org/app", "--key", k("targets"),
		"--snapshot-key", k("snapshot"), "--timestamp-key", k("timestamp")); code != 0 {
		t.Fatalf("repo delegate: %d %s %s", code, out, errs)
	}
	releases, err := keys.LoadPrivate(k("releases"), nil)
	if err != nil {
		t.Fatal(err)
	}
	snapshot, _ := keys.LoadPrivate(k("snapshot"), nil)
	timestamp, _ := keys.LoadPrivate(k("timestamp"), nil)
	content := []byte(`{"signed":{"_type":"link","name":"package"},"signatures":[]}`)
	const target = "example.com/org/app/in-toto-metadata/5640bfdf0000000000000000000000000000000000000000000000000000aaaa/package.12345678.link"
	repo, err := metadata.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	var role string
	res, err := repo.Update(context.Background(), metadata.UpdateOptions{Signers: []keys.Signer{releases}, Snapshot: snapshot, Timestamp: timestamp},
		func(tx *metadata.Tx) error {
			role = tx.RoleFor(target)
			return tx.AddTarget(target, metadata.TargetInfo{Content: content})
		})
	if err != nil || !res.Published {
		t.Fatalf("add target: %v %+v", err, res)
	}
	if !strings.HasPrefix(role, "releases-bin-") {
		t.Fatalf("target routed to role %q, want a releases hash bin", role)
	}
	srv := httptest.NewServer(metadata.Handler(dir))
	defer srv.Close()
	runTufJS := func() (string, error) {
		mdir := t.TempDir()
		root, err := os.ReadFile(filepath.Join(dir, "metadata", "1.root.json"))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(mdir, "root.json"), root, 0o644)
		cmd := exec.Command(node, script, mdir, srv.URL+"/metadata", srv.URL+"/targets", target, filepath.Join(t.TempDir(), "target"))
		b, err := cmd.CombinedOutput()
		return string(b), err
	}
	sum := sha256.Sum256(content)
	if out, err := runTufJS(); err != nil || !strings.Contains(out, "ok "+hex.EncodeToString(sum[:])) {
		t.Fatalf("tuf-js through bin %s: %v\n%s", role, err, out)
	}

	// Tamper with the bin's metadata (a target's length): the snapshot's
	// length/hash or the bin's signature must make tuf-js refuse it.
	bins, _ := filepath.Glob(filepath.Join(dir, "metadata", "*."+role+".json"))
	if len(bins) == 0 {
		t.Fatalf("no published metadata for %s", role)
	}
	sort.Strings(bins)
	binFile := bins[len(bins)-1]
	orig, _ := os.ReadFile(binFile)
	tampered := regexp.MustCompile(`"length":\s*\d+`).ReplaceAll(orig, []byte(`"length": 1`))
	if string(tampered) == string(orig) {
		t.Fatalf("%s has no length to tamper with", binFile)
	}
	// Same length, so that only the signature (and the snapshot's hash, if
	// listed) can catch it.
	if pad := len(orig) - len(tampered); pad > 0 {
		end := strings.LastIndexByte(string(tampered), '}')
		tampered = []byte(string(tampered[:end]) + strings.Repeat(" ", pad) + string(tampered[end:]))
	}
	os.WriteFile(binFile, tampered, 0o644)
	out, err := runTufJS()
	if err == nil {
		t.Fatalf("tuf-js accepted tampered hash-bin metadata %s:\n%s", filepath.Base(binFile), out)
	}
	if low := strings.ToLower(out); !strings.Contains(low, "signed by 0/1") && !strings.Contains(low, "signature") && !strings.Contains(low, "hash") && !strings.Contains(low, "length") {
		t.Fatalf("tuf-js refused the tampered bin but not for its signature, hash or length:\n%s", out)
	}
	t.Logf("tuf-js on the tampered bin: %s", strings.TrimSpace(out))
	os.WriteFile(binFile, orig, 0o644)
	if out, err := runTufJS(); err != nil {
		t.Fatalf("restoring the bin did not restore verification: %v\n%s", err, out)
	}
}
