package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cnabsec/cnabsec/internal/testing/testrepo"
	"github.com/cnabsec/cnabsec/keys"
	"github.com/cnabsec/cnabsec/metadata"
	"github.com/secure-systems-lab/go-securesystemslib/cjson"
)

// binary is the client built once for all tests: the suite runs it as a
// child process, so the tests do too.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "tuf-conformance-client-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	binary = filepath.Join(dir, "tuf-conformance-client")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building the client: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(2)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

const (
	fileA = "files/a.txt"
	fileB = "files/b.txt"
)

// server serves a repository directory (which tests may swap) and counts requests.
type server struct {
	mu       sync.Mutex
	dir      string
	requests atomic.Int64
	paths    []string
	url      string
}

func serve(t *testing.T, dir string) *server {
	s := &server{dir: dir}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		d := s.dir
		s.paths = append(s.paths, r.URL.Path)
		s.mu.Unlock()
		s.requests.Add(1)
		metadata.Handler(d).ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	s.url = srv.URL
	return s
}

func (s *server) swap(dir string) {
	s.mu.Lock()
	s.dir = dir
	s.mu.Unlock()
}

func (s *server) fetched(suffix string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, p := range s.paths {
		if strings.HasSuffix(p, suffix) {
			n++
		}
	}
	return n
}

// env is one test's client state: the suite's METADATA_DIR and TARGET_DIR.
type env struct {
	t                  *testing.T
	repo               *testrepo.Repo
	srv                *server
	metaDir, targetDir string
	fakeDate           string
	wrap               []string // a command the client runs under, e.g. faketime
}

func newEnv(t *testing.T) *env {
	repo := testrepo.New(t, testrepo.WithoutReleases())
	repo.AddTarget(t, fileA, metadata.TargetInfo{Content: []byte("content of a\n")})
	repo.AddTarget(t, fileB, metadata.TargetInfo{Content: []byte("content of b\n")})
	base := t.TempDir()
	e := &env{t: t, repo: repo, srv: serve(t, repo.Dir), metaDir: filepath.Join(base, "metadata"), targetDir: filepath.Join(base, "targets")}
	for _, d := range []string{e.metaDir, e.targetDir} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

// run runs the client; with fakeDate set, `date` prints that Unix time.
func (e *env) run(args ...string) (int, string) {
	e.t.Helper()
	cmd := exec.Command(binary, args...)
	if len(e.wrap) > 0 {
		cmd = exec.Command(e.wrap[0], append(append(e.wrap[1:], binary), args...)...)
		cmd.Env = append(os.Environ(), "TZ=UTC") // faketime reads its date in local time
	}
	if e.fakeDate != "" {
		bin := e.t.TempDir()
		script := "#!/bin/sh\necho " + e.fakeDate + "\n"
		if err := os.WriteFile(filepath.Join(bin, "date"), []byte(script), 0o755); err != nil {
			e.t.Fatal(err)
		}
		cmd.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			e.t.Fatalf("running the client: %v", err)
		}
		return ee.ExitCode(), out.String()
	}
	return 0, out.String()
}

func (e *env) init() {
	e.t.Helper()
	if code, out := e.run("--metadata-dir", e.metaDir, "init", e.repo.TrustedRootFile(e.t)); code != 0 {
		e.t.Fatalf("init: exit %d: %s", code, out)
	}
}

func (e *env) refresh() (int, string) {
	return e.run("--metadata-dir", e.metaDir, "--metadata-url", e.srv.url+"/metadata", "refresh")
}

func (e *env) download(names ...string) (int, string) {
	args := []string{"--metadata-dir", e.metaDir, "--metadata-url", e.srv.url + "/metadata"}
	for _, n := range names {
		args = append(args, "--target-name", n)
	}
	args = append(args, "--target-base-url", e.srv.url+"/targets", "--target-dir", e.targetDir, "download")
	return e.run(args...)
}

func (e *env) version(role string) int64 {
	e.t.Helper()
	data, err := os.ReadFile(filepath.Join(e.metaDir, role+".json"))
	if err != nil {
		e.t.Fatalf("%s.json in the metadata dir: %v", role, err)
	}
	var md struct {
		Signed struct {
			Version int64 `json:"version"`
		} `json:"signed"`
	}
	if err := json.Unmarshal(data, &md); err != nil {
		e.t.Fatal(err)
	}
	return md.Signed.Version
}

func (e *env) stored(name string) []byte {
	data, err := os.ReadFile(filepath.Join(e.targetDir, strings.ReplaceAll(name, "/", "%2F")))
	if err != nil {
		return nil
	}
	return data
}

func wantFail(t *testing.T, code int, out string, fragments ...string) {
	t.Helper()
	if code != 1 {
		t.Fatalf("exit %d, want 1: %s", code, out)
	}
	for _, f := range fragments {
		if !strings.Contains(out, f) {
			t.Errorf("output %q does not contain %q", out, f)
		}
	}
}

func TestInitCopiesTheRootWithoutNetwork(t *testing.T) {
	e := newEnv(t)
	e.init()
	got, err := os.ReadFile(filepath.Join(e.metaDir, "root.json"))
	if err != nil || !bytes.Equal(got, e.repo.TrustedRoot) {
		t.Fatalf("root.json after init: %v", err)
	}
	if n := e.srv.requests.Load(); n != 0 {
		t.Fatalf("init made %d requests", n)
	}
}

func TestRefreshStoresTopLevelMetadataUnderUnversionedNames(t *testing.T) {
	e := newEnv(t)
	e.init()
	if code, out := e.refresh(); code != 0 {
		t.Fatalf("refresh: exit %d: %s", code, out)
	}
	for _, role := range []string{"root", "timestamp", "snapshot", "targets"} {
		if v := e.version(role); v < 1 {
			t.Errorf("%s.json version %d", role, v)
		}
	}
	if _, err := os.Stat(filepath.Join(e.metaDir, "1.root.json")); err == nil {
		t.Error("a versioned file name in the metadata dir")
	}
}

func TestDownloadStoresTargetsInOrderAndDoesNotFetchThemAgain(t *testing.T) {
	e := newEnv(t)
	e.init()
	if code, out := e.download(fileA, fileB); code != 0 {
		t.Fatalf("download: exit %d: %s", code, out)
	}
	if string(e.stored(fileA)) != "content of a\n" || string(e.stored(fileB)) != "content of b\n" {
		t.Fatalf("stored %q and %q", e.stored(fileA), e.stored(fileB))
	}
	if code, out := e.download(fileA); code != 0 || !strings.Contains(out, "already present") {
		t.Fatalf("second download: exit %d: %s", code, out)
	}
	if n := e.srv.fetched(".a.txt"); n != 1 {
		t.Fatalf("target a fetched %d times, want 1 (artifact caching)", n)
	}
}

func TestRollbackOfTimestampIsRefusedAndTrustedMetadataKept(t *testing.T) {
	e := newEnv(t)
	e.init()
	old := filepath.Join(t.TempDir(), "old")
	if out, err := exec.Command("cp", "-a", e.repo.Dir, old).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v %s", err, out)
	}
	e.repo.AddTarget(t, "files/c.txt", metadata.TargetInfo{Content: []byte("c")})
	if code, out := e.refresh(); code != 0 {
		t.Fatalf("refresh: exit %d: %s", code, out)
	}
	trusted := e.version("timestamp")
	e.srv.swap(old)
	code, out := e.refresh()
	wantFail(t, code, out, "older than trusted version", "rollback")
	if v := e.version("timestamp"); v != trusted {
		t.Fatalf("timestamp.json went from version %d to %d", trusted, v)
	}
}

func TestFreezeAttackExpiredTimestampIsRefusedAtTheFakedTime(t *testing.T) {
	// The reference time comes from `date +%s`: a `date` printing a time
	// after the timestamp's expiry (one day by default) is what faketime
	// does to the suite's client.
	e := newEnv(t)
	e.init()
	if code, out := e.refresh(); code != 0 {
		t.Fatalf("refresh now: exit %d: %s", code, out)
	}
	e.fakeDate = fmt.Sprint(time.Now().Add(3 * 24 * time.Hour).Unix())
	code, out := e.refresh()
	wantFail(t, code, out, "timestamp version", "expired", "freeze attack")
	e.fakeDate = "not-a-number"
	code, out = e.refresh()
	wantFail(t, code, out, "`date +%s` printed \"not-a-number\"")
}

func TestTamperedTargetIsRefusedAndNotStored(t *testing.T) {
	e := newEnv(t)
	e.init()
	files, _ := filepath.Glob(filepath.Join(e.repo.Dir, "targets", "files", "*.a.txt"))
	if len(files) == 0 {
		t.Fatal("no served files for a.txt")
	}
	for _, f := range files {
		if err := os.WriteFile(f, []byte("content of A\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	code, out := e.download(fileA)
	wantFail(t, code, out, `target "files/a.txt"`, "hash mismatch")
	if e.stored(fileA) != nil {
		t.Fatal("a tampered target was stored")
	}
}

func TestMissingTargetFailsAndStopsTheDownloads(t *testing.T) {
	e := newEnv(t)
	e.init()
	code, out := e.download(fileA, "files/missing.txt", fileB)
	wantFail(t, code, out, `target "files/missing.txt" not found`)
	if e.stored(fileA) == nil {
		t.Error("the target before the failure was not downloaded")
	}
	if e.stored(fileB) != nil {
		t.Error("a target after the failure was downloaded")
	}
}

func TestTimestampChangedWithoutItsKeyIsRefused(t *testing.T) {
	// A mirror or man in the middle bumps the timestamp version (e.g. to
	// block future updates) without the timestamp key.
	e := newEnv(t)
	e.init()
	p := filepath.Join(e.repo.Dir, "metadata", "timestamp.json")
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var md map[string]any
	if err := json.Unmarshal(data, &md); err != nil {
		t.Fatal(err)
	}
	md["signed"].(map[string]any)["version"] = 1000
	forged, _ := json.Marshal(md)
	if err := os.WriteFile(p, forged, 0o644); err != nil {
		t.Fatal(err)
	}
	code, out := e.refresh()
	wantFail(t, code, out, "role timestamp has 0 of the 1 required signatures", "threshold not met")
	if _, err := os.Stat(filepath.Join(e.metaDir, "timestamp.json")); err == nil {
		t.Fatal("a forged timestamp was stored as trusted")
	}
}

func TestUsageErrorsExit1(t *testing.T) {
	e := newEnv(t)
	for _, args := range [][]string{
		{},
		{"init", "x"},
		{"--metadata-dir", e.metaDir, "refresh"},
		{"--metadata-dir", e.metaDir, "--metadata-url", "http://127.0.0.1:1/metadata", "download"},
		{"--metadata-dir", e.metaDir, "frobnicate"},
		{"--metadata-dir", e.metaDir, "--metadata-url", e.srv.url + "/metadata", "refresh"}, // no init yet
	} {
		if code, out := e.run(args...); code != 1 {
			t.Errorf("%v: exit %d, want 1: %s", args, code, out)
		}
	}
}

func TestRealFaketimeMovesTheReferenceTime(t *testing.T) {
	// What the suite does: faketime preloads a library into the client and
	// its children; the client reads the time from `date`, which obeys it.
	ft, err := exec.LookPath("faketime")
	if err != nil {
		t.Skip("faketime is not installed (Debian package faketime); TestFreezeAttack... covers the mechanism with a fake date")
	}
	e := newEnv(t)
	e.init()
	e.wrap = []string{ft, time.Now().UTC().Add(time.Hour).Format("2006-01-02 15:04:05")}
	if code, out := e.refresh(); code != 0 {
		t.Fatalf("refresh an hour ahead: exit %d: %s", code, out)
	}
	e.wrap = []string{ft, time.Now().UTC().Add(3 * 24 * time.Hour).Format("2006-01-02 15:04:05")}
	code, out := e.refresh()
	wantFail(t, code, out, "timestamp version", "expired", "freeze attack")
}

func TestKeyRotationUpdatesRootJSONAndTheRevokedKeyIsRefused(t *testing.T) {
	e := newEnv(t)
	e.init()
	if code, out := e.refresh(); code != 0 {
		t.Fatalf("refresh: exit %d: %s", code, out)
	}
	oldKey := e.repo.Timestamp
	newKey, err := keys.Generate(keys.GenEd25519)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.repo.Repo.Rotate(t.Context(), metadata.RotateOptions{
		Role: metadata.RoleTimestamp, Add: []*keys.PublicKey{newKey.Public()}, Remove: []string{oldKey.Public().ID()},
		Signers: []keys.Signer{e.repo.Root}, Snapshot: e.repo.Snapshot, Timestamp: newKey,
	}); err != nil {
		t.Fatalf("rotate: %v", err)
	}
	e.repo.Timestamp = newKey
	if code, out := e.refresh(); code != 0 {
		t.Fatalf("refresh after rotation: exit %d: %s", code, out)
	}
	if v := e.version("root"); v != 2 {
		t.Fatalf("root.json is version %d after the rotation, want 2", v)
	}
	trusted := e.version("timestamp")
	// The revoked key signs a newer timestamp: refused, trusted one kept.
	p := filepath.Join(e.repo.Dir, "metadata", "timestamp.json")
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var md struct {
		Signed     map[string]any   `json:"signed"`
		Signatures []map[string]any `json:"signatures"`
	}
	if err := json.Unmarshal(data, &md); err != nil {
		t.Fatal(err)
	}
	md.Signed["version"] = trusted + 1
	payload, err := cjson.EncodeCanonical(md.Signed)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := keys.SignHex(t.Context(), oldKey, payload)
	if err != nil {
		t.Fatal(err)
	}
	md.Signatures = []map[string]any{{"keyid": oldKey.Public().ID(), "sig": sig}}
	forged, _ := json.Marshal(md)
	if err := os.WriteFile(p, forged, 0o644); err != nil {
		t.Fatal(err)
	}
	code, out := e.refresh()
	wantFail(t, code, out, "role timestamp has 0 of the 1 required signatures", "threshold not met")
	if v := e.version("timestamp"); v != trusted {
		t.Fatalf("timestamp.json is version %d, want the trusted %d", v, trusted)
	}
	// The same forgery signed by the current key is accepted: the refusal
	// above was the revoked key, not the forging.
	if sig, err = keys.SignHex(t.Context(), newKey, payload); err != nil {
		t.Fatal(err)
	}
	md.Signatures = []map[string]any{{"keyid": newKey.Public().ID(), "sig": sig}}
	resigned, _ := json.Marshal(md)
	if err := os.WriteFile(p, resigned, 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out := e.refresh(); code != 0 || e.version("timestamp") != trusted+1 {
		t.Fatalf("timestamp signed by the current key: exit %d, version %d: %s", code, e.version("timestamp"), out)
	}
}
