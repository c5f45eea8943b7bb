package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cnabsec/cnabsec/internal/testing/testrepo"
	"github.com/cnabsec/cnabsec/keys"
	"github.com/cnabsec/cnabsec/metadata"
)

// repoTree hashes every path, mode and content under dir.
func repoTree(t *testing.T, dir string) string {
	t.Helper()
	h := sha256.New()
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		info, _ := d.Info()
		fmt.Fprintf(h, "%s\x00%s\x00", rel, info.Mode())
		if !d.IsDir() {
			b, _ := os.ReadFile(p)
			h.Write(b)
		}
		return nil
	})
	return hex.EncodeToString(h.Sum(nil))
}

// genKeyFiles writes NAME.key and NAME.pub for each name into a temp dir.
func genKeyFiles(t *testing.T, names ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, n := range names {
		k, err := keys.Generate(keys.GenEd25519)
		if err != nil {
			t.Fatal(err)
		}
		if err := keys.WriteKeyPair(filepath.Join(dir, n), k, nil); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestRepoCommandsEndToEndWithGoTUFClient(t *testing.T) {
	k := genKeyFiles(t, "root", "targets", "online", "ci")
	dir := filepath.Join(t.TempDir(), "repo")
	kf := func(n string) string { return filepath.Join(k, n) }
	code, out, errs := runCLI(t, "repo", "init", dir, "--root-key", kf("root.key"), "--targets-key", kf("targets.key"),
		"--snapshot-key", kf("online.key"), "--timestamp-key", kf("online.key"), "--releases-key", kf("ci.key"), "--expires", "releases=48h")
	if code != 0 || !strings.Contains(out, "published") {
		t.Fatalf("init: exit %d\n%s%s", code, out, errs)
	}
	// Flags after the positional argument, JSON output.
	code, out, errs = runCLI(t, "repo", "delegate", dir, "--name", "example.com/org/app", "--key", kf("targets.key"),
		"--snapshot-key", kf("online.key"), "--timestamp-key", kf("online.key"), "-o", "json")
	var res metadata.Result
	if code != 0 || json.Unmarshal([]byte(out), &res) != nil || !res.Published || res.Versions["targets"] != 2 {
		t.Fatalf("delegate: exit %d\n%s%s", code, out, errs)
	}
	// A release signed through the Go API (the signing pipeline's path).
	repo, err := metadata.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	load := func(n string) keys.Signer {
		s, err := keys.LoadPrivate(kf(n+".key"), nil)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	if _, err := repo.Update(context.Background(), metadata.UpdateOptions{Signers: []keys.Signer{load("ci")}, Snapshot: load("online"), Timestamp: load("online")}, func(tx *metadata.Tx) error {
		return tx.AddTarget("example.com/org/app:1.0", metadata.TargetInfo{Content: []byte("bundle"), Custom: json.RawMessage(`{"in-toto":[]}`)})
	}); err != nil {
		t.Fatal(err)
	}
	code, out, _ = runCLI(t, "repo", "list", "-o", "json", dir)
	var list []metadata.Target
	if code != 0 || json.Unmarshal([]byte(out), &list) != nil || len(list) != 1 || list[0].Role != "releases" || list[0].Length != 6 {
		t.Fatalf("list: exit %d\n%s", code, out)
	}
	code, out, _ = runCLI(t, "repo", "list", dir)
	if code != 0 || !strings.Contains(out, "example.com/org/app:1.0\treleases\t6\tsha256:") {
		t.Errorf("list text: %s", out)
	}
	code, out, _ = runCLI(t, "repo", "status", dir, "-o", "json")
	var st metadata.Status
	if code != 0 || json.Unmarshal([]byte(out), &st) != nil {
		t.Fatalf("status: exit %d\n%s", code, out)
	}
	got := map[string]string{}
	for _, rs := range st.Roles {
		n := -1
		if rs.Targets != nil {
			n = *rs.Targets
		}
		got[rs.Role] = fmt.Sprintf("v%d t%d met=%v", rs.Version, n, rs.ThresholdMet())
	}
	want := map[string]string{"root": "v1 t-1 met=true", "targets": "v2 t0 met=true", "releases": "v2 t1 met=true", "snapshot": "v3 t-1 met=true", "timestamp": "v3 t-1 met=true"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("status:\n got %v\nwant %v", got, want)
	}
	// --warn-expiry: releases expires in 48h, snapshot/timestamp in 24h.
	code, _, errs = runCLI(t, "repo", "status", dir, "--warn-expiry", "36h")
	if code != 1 || !strings.Contains(errs, "snapshot expires") || strings.Contains(errs, "releases expires") {
		t.Errorf("--warn-expiry 36h: exit %d, %s", code, errs)
	}
	if code, _, errs = runCLI(t, "repo", "status", dir, "--warn-expiry", "1h"); code != 0 {
		t.Errorf("--warn-expiry 1h: exit %d, %s", code, errs)
	}
	code, out, errs = runCLI(t, "repo", "refresh", dir, "--role", "releases", "--key", kf("ci.key"), "--snapshot-key", kf("online.key"), "--timestamp-key", kf("online.key"))
	if code != 0 || !strings.Contains(out, "releases 3") {
		t.Errorf("refresh: exit %d\n%s%s", code, out, errs)
	}
	root, _ := os.ReadFile(filepath.Join(dir, "metadata", "1.root.json"))
	srv := httptest.NewServer(metadata.Handler(dir))
	defer srv.Close()
	up, err := testrepo.Refresh(t, srv.URL, root)
	if err != nil {
		t.Fatalf("go-tuf client: %v", err)
	}
	tf, err := up.GetTargetInfo("example.com/org/app:1.0")
	if err != nil {
		t.Fatal(err)
	}
	if _, data, err := up.DownloadTarget(tf, filepath.Join(t.TempDir(), "b"), ""); err != nil || string(data) != "bundle" {
		t.Fatalf("download: %q %v", data, err)
	}
}

func TestRepoBadInputExits2AndChangesNothing(t *testing.T) {
	r := testrepo.New(t)
	k := genKeyFiles(t, "other")
	garbage := filepath.Join(t.TempDir(), "garbage.key")
	os.WriteFile(garbage, []byte("not a key"), 0o600)
	online := []string{"--snapshot-key", r.KeyFile("snapshot"), "--timestamp-key", r.KeyFile("timestamp")}
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"key of another role", append([]string{"repo", "delegate", r.Dir, "--name", "example.com/a/b", "--key", r.KeyFile("releases")}, online...), "is not a key of the role(s) this change modifies: targets"},
		{"key of no role", append([]string{"repo", "delegate", r.Dir, "--name", "example.com/a/b", "--key", filepath.Join(k, "other.key")}, online...), "is not a key of the role(s) this change modifies"},
		{"malformed key file", append([]string{"repo", "delegate", r.Dir, "--name", "example.com/a/b", "--key", garbage}, online...), "garbage.key: neither PEM nor securesystemslib JSON"},
		{"public key where a private one signs", []string{"repo", "refresh", r.Dir, "--snapshot-key", r.PubFile("snapshot"), "--timestamp-key", r.KeyFile("timestamp")}, "a public key; this needs the private key"},
		{"missing key file", []string{"repo", "refresh", r.Dir, "--snapshot-key", "/nonexistent/snap.key"}, "--snapshot-key: stat /nonexistent/snap.key"},
		{"wrong online key", []string{"repo", "refresh", r.Dir, "--snapshot-key", r.KeyFile("timestamp"), "--timestamp-key", r.KeyFile("timestamp")}, "is not a key of role snapshot"},
		{"unknown role", []string{"repo", "sign", r.Dir, "--role", "nobody", "--key", r.KeyFile("targets")}, `unknown role "nobody"`},
		{"threshold 0", []string{"repo", "rotate", r.Dir, "--role", "targets", "--threshold", "0", "--key", r.KeyFile("root")}, "--threshold 0: a threshold must be at least 1"},
		{"negative threshold", []string{"repo", "rotate", r.Dir, "--role", "targets", "--threshold", "-2", "--key", r.KeyFile("root")}, "--threshold -2: a threshold must be at least 1"},
		{"threshold above keys", []string{"repo", "rotate", r.Dir, "--role", "targets", "--threshold", "2", "--key", r.KeyFile("root")}, "threshold 2 is above the 1 unique key"},
		{"remove a key the role lacks", []string{"repo", "rotate", r.Dir, "--role", "targets", "--remove-key", filepath.Join(k, "other.pub"), "--key", r.KeyFile("root")}, "is not one of its keys"},
		{"init over a repository", []string{"repo", "init", r.Dir, "--root-key", r.KeyFile("root"), "--targets-key", r.KeyFile("targets"), "--snapshot-key", r.KeyFile("snapshot"), "--timestamp-key", r.KeyFile("timestamp")}, "refusing to initialize over an existing repository"},
		{"init threshold 0", []string{"repo", "init", r.Dir, "--root-key", r.KeyFile("root"), "--root-threshold", "0"}, "--root-threshold 0: a threshold must be at least 1"},
		{"bad expiry", []string{"repo", "init", r.Dir + "x", "--root-key", r.KeyFile("root"), "--targets-key", r.KeyFile("targets"), "--snapshot-key", r.KeyFile("snapshot"), "--timestamp-key", r.KeyFile("timestamp"), "--expires", "root=-1h"}, `"-1h" is not a positive duration`},
		{"bad output", []string{"repo", "status", r.Dir, "-o", "yaml"}, `--output "yaml": want text or json`},
		{"not a repository", []string{"repo", "status", t.TempDir()}, "is not a cnabsec repository"},
		{"missing directory", []string{"repo", "list", filepath.Join(r.Dir, "nope")}, "does not exist"},
		{"two directories", []string{"repo", "status", r.Dir, r.Dir}, "want exactly one DIR argument, got 2"},
	}
	before := repoTree(t, r.Dir)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out, errs := runCLI(t, c.args...)
			if code != 2 {
				t.Errorf("exit %d, want 2\n%s%s", code, out, errs)
			}
			if !strings.Contains(errs, "cnabsec: error: ") || !strings.Contains(errs, c.want) {
				t.Errorf("stderr %q does not say %q", errs, c.want)
			}
			if repoTree(t, r.Dir) != before {
				t.Fatal("the repository changed")
			}
		})
	}
	if _, err := os.Stat(r.Dir + "x"); err == nil {
		t.Error("a refused init created its directory")
	}
	// Corrupted metadata: refused, and refresh does not paper over it.
	p := filepath.Join(r.Dir, "metadata", "1.targets.json")
	b, _ := os.ReadFile(p)
	os.WriteFile(p, []byte(strings.Replace(string(b), `"targets": {}`, `"targets": {"evil": {"length": 1, "hashes": {"sha256": "00"}}}`, 1)), 0o644)
	before = repoTree(t, r.Dir)
	code, _, errs := runCLI(t, "repo", "refresh", r.Dir, "--role", "targets", "--key", r.KeyFile("targets"), "--snapshot-key", r.KeyFile("snapshot"), "--timestamp-key", r.KeyFile("timestamp"))
	if code != 2 || !strings.Contains(errs, "corrupted metadata") || !strings.Contains(errs, "1.targets.json") {
		t.Errorf("refresh of tampered targets: exit %d %s", code, errs)
	}
	if repoTree(t, r.Dir) != before {
		t.Error("the corrupted repository changed")
	}
}

func TestRepoRootRotationThroughTheCLINeedsOldAndNewKeys(t *testing.T) {
	r := testrepo.New(t)
	k := genKeyFiles(t, "root2")
	online := []string{"--snapshot-key", r.KeyFile("snapshot"), "--timestamp-key", r.KeyFile("timestamp")}
	code, out, errs := runCLI(t, append([]string{"repo", "rotate", r.Dir, "--role", "root", "--add-key", filepath.Join(k, "root2.pub"),
		"--remove-key", r.PubFile("root"), "--key", r.KeyFile("root")}, online...)...)
	if code != 0 || !strings.Contains(out, "staged") || !strings.Contains(out, "new root keys") {
		t.Fatalf("rotate signed by the old key only: exit %d\n%s%s", code, out, errs)
	}
	if _, err := os.Stat(filepath.Join(r.Dir, "metadata", "2.root.json")); err == nil {
		t.Fatal("root 2 published with the old key's signature only")
	}
	code, out, _ = runCLI(t, "repo", "status", r.Dir)
	if code != 0 || !strings.Contains(out, "root       staged    version 2") || !strings.Contains(out, "BELOW THRESHOLD") {
		t.Errorf("status during rotation:\n%s", out)
	}
	code, out, errs = runCLI(t, append([]string{"repo", "sign", r.Dir, "--role", "root", "--key", filepath.Join(k, "root2.key")}, online...)...)
	if code != 0 || !strings.Contains(out, "signed root: published") {
		t.Fatalf("sign with the new key: exit %d\n%s%s", code, out, errs)
	}
	if _, err := r.Refresh(t); err != nil {
		t.Fatalf("client after rotation: %v", err)
	}
}

// syncBuffer is a bytes buffer safe for a writer goroutine and a reader.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func TestRepoServeServesOnlyMetadataAndTargets(t *testing.T) {
	r := testrepo.New(t, testrepo.WithDelegated("example.com/org/app"))
	r.Update(t, []keys.Signer{r.Targets}, func(tx *metadata.Tx) error {
		return tx.AddTarget("example.com/org/app/in-toto-metadata/root.layout", metadata.TargetInfo{Content: []byte("layout")})
	})
	// Something staged, and a key file someone left in the directory.
	os.WriteFile(filepath.Join(r.Dir, "staged", "targets.json"), []byte("{}"), 0o644)
	os.WriteFile(filepath.Join(r.Dir, "targets.key"), []byte("secret"), 0o600)
	ctx, cancel := context.WithCancel(context.Background())
	old := repoServeContext
	repoServeContext = func() (context.Context, context.CancelFunc) { return ctx, cancel }
	defer func() { repoServeContext = old }()
	var out, errb syncBuffer
	done := make(chan int)
	go func() {
		done <- run([]string{"cnabsec", "repo", "serve", r.Dir, "--addr", "127.0.0.1:0"}, strings.NewReader(""), &out, &errb)
	}()
	var base string
	for i := 0; i < 500 && base == ""; i++ {
		if s := out.String(); strings.Contains(s, "http://") {
			base = strings.Fields(s[strings.Index(s, "http://"):])[0]
		} else {
			time.Sleep(10 * time.Millisecond)
		}
	}
	if base == "" {
		cancel()
		t.Fatalf("serve printed no address: %q %q", out.String(), errb.String())
	}
	client := &http.Client{Timeout: 5 * time.Second}
	get := func(method, path string) (int, string) {
		req, _ := http.NewRequest(method, base+path, nil)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return resp.StatusCode, string(b)
	}
	if code, body := get("GET", "/metadata/1.root.json"); code != 200 || !strings.Contains(body, `"_type": "root"`) {
		t.Errorf("root: %d", code)
	}
	if code, _ := get("GET", "/metadata/timestamp.json"); code != 200 {
		t.Errorf("timestamp: %d", code)
	}
	sum := sha256.Sum256([]byte("layout"))
	if code, body := get("GET", "/targets/example.com/org/app/in-toto-metadata/"+hex.EncodeToString(sum[:])+".root.layout"); code != 200 || body != "layout" {
		t.Errorf("target file: %d %q", code, body)
	}
	for _, p := range []string{"/staged/targets.json", "/targets.key", "/repository.json", "/metadata/", "/targets/", "/metadata/../targets.key", "/targets/..%2ftargets.key", "/.lock", "/cache/summaries.json"} {
		if code, body := get("GET", p); code == 200 {
			t.Errorf("GET %s served %q", p, body)
		}
	}
	if code, _ := get("POST", "/metadata/1.root.json"); code != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d", code)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("serve exited %d: %s", code, errb.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not stop")
	}
}

func TestRepoInitWithHashBins(t *testing.T) {
	k := genKeyFiles(t, "root", "targets", "online", "ci")
	kf := func(n string) string { return filepath.Join(k, n) }
	base := []string{"--root-key", kf("root.key"), "--targets-key", kf("targets.key"), "--snapshot-key", kf("online.key"), "--timestamp-key", kf("online.key")}
	dir := filepath.Join(t.TempDir(), "repo")
	code, _, errs := runCLI(t, append([]string{"repo", "init", dir, "--bins", "4"}, base...)...)
	if code != 2 || !strings.Contains(errs, "--bins 4: needs --releases-key") {
		t.Errorf("bins without releases: exit %d %s", code, errs)
	}
	code, _, errs = runCLI(t, append([]string{"repo", "init", dir, "--bins", "3", "--releases-key", kf("ci.key")}, base...)...)
	if code != 2 || !strings.Contains(errs, "bins 3: want a power of two") {
		t.Errorf("3 bins: exit %d %s", code, errs)
	}
	if _, err := os.Stat(dir); err == nil {
		t.Fatal("a refused init created the directory")
	}
	code, out, errs := runCLI(t, append([]string{"repo", "init", dir, "--bins", "4", "--releases-key", kf("ci.key")}, base...)...)
	if code != 0 {
		t.Fatalf("init --bins 4: exit %d %s%s", code, out, errs)
	}
	if code, out, _ = runCLI(t, "repo", "status", dir); code != 0 {
		t.Errorf("status: exit %d", code)
	}
	for _, b := range []string{"releases-bin-0", "releases-bin-1", "releases-bin-2", "releases-bin-3"} {
		if !strings.Contains(out, b+" ") {
			t.Errorf("status does not show %s:\n%s", b, out)
		}
	}
}

func TestRepoDelegateNormalizesNames(t *testing.T) {
	r := testrepo.New(t)
	online := []string{"--snapshot-key", r.KeyFile("snapshot"), "--timestamp-key", r.KeyFile("timestamp")}
	code, out, errs := runCLI(t, append([]string{"repo", "delegate", r.Dir, "--name", "nginx", "--name", "localhost:5000/org/*", "--key", r.KeyFile("targets")}, online...)...)
	if code != 0 {
		t.Fatalf("exit %d %s%s", code, out, errs)
	}
	code, _, errs = runCLI(t, append([]string{"repo", "delegate", r.Dir, "--name", "nginx:1.0", "--key", r.KeyFile("targets")}, online...)...)
	if code != 2 || !strings.Contains(errs, "must not carry a tag or digest") {
		t.Errorf("name with a tag: exit %d %s", code, errs)
	}
	_, err := r.Repo.Update(context.Background(), metadata.UpdateOptions{}, func(tx *metadata.Tx) error {
		for name, want := range map[string]string{"index.docker.io/library/nginx:1.0": "releases", "localhost:5000/org/app:1": "releases", "nginx:1.0": "targets"} {
			if got := tx.RoleFor(name); got != want {
				t.Errorf("RoleFor(%s) = %s, want %s", name, got, want)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestRepoInitWithAnOfflineRootKeyIsStagedUntilSigned(t *testing.T) {
	k := genKeyFiles(t, "root", "targets", "online")
	kf := func(n string) string { return filepath.Join(k, n) }
	dir := filepath.Join(t.TempDir(), "repo")
	code, out, errs := runCLI(t, "repo", "init", dir, "--root-key", kf("root.pub"), "--targets-key", kf("targets.key"),
		"--snapshot-key", kf("online.key"), "--timestamp-key", kf("online.key"), "-o", "json")
	var res metadata.Result
	if code != 0 || json.Unmarshal([]byte(out), &res) != nil || res.Published || len(res.Waiting) == 0 {
		t.Fatalf("init with a public root key: exit %d\n%s%s", code, out, errs)
	}
	if entries, _ := os.ReadDir(filepath.Join(dir, "metadata")); len(entries) != 0 {
		t.Fatalf("metadata/ serves %d files before root is signed", len(entries))
	}
	code, out, _ = runCLI(t, "repo", "status", dir)
	if code != 0 || !strings.Contains(out, "root       staged    version 1") || !strings.Contains(out, "missing") {
		t.Errorf("status of a staged init: exit %d\n%s", code, out)
	}
	code, out, errs = runCLI(t, "repo", "sign", dir, "--role", "root", "--key", kf("targets.key"))
	if code != 2 || !strings.Contains(errs, "is not a key of role root") {
		t.Errorf("sign root with the targets key: exit %d %s%s", code, out, errs)
	}
	code, out, errs = runCLI(t, "repo", "sign", dir, "--role", "root", "--key", kf("root.key"), "--snapshot-key", kf("online.key"), "--timestamp-key", kf("online.key"))
	if code != 0 || !strings.Contains(out, "signed root: published") {
		t.Fatalf("sign root: exit %d %s%s", code, out, errs)
	}
	if _, err := os.Stat(filepath.Join(dir, "metadata", "1.root.json")); err != nil {
		t.Fatal(err)
	}
}

// The setup every `repo` subcommand on DIR shares (repo_common.go): the
// repository is checked before -o, a bad -o is refused before anything is
// read or changed, a passphrase variable that is not set is refused before
// any key is used, and every changing subcommand ends its flags with -o,
// --snapshot-key and --timestamp-key (docs/cli.md).
func TestRepoSubcommandsRefuseMissingRepositoryBadOutputAndUnsetPassphrase(t *testing.T) {
	r := testrepo.New(t)
	missing := filepath.Join(r.Dir, "nope")
	changing := map[string][]string{
		"delegate": {"--name", "example.com/a/b", "--key", r.KeyFile("targets")},
		"refresh":  {"--snapshot-key", r.KeyFile("snapshot"), "--timestamp-key", r.KeyFile("timestamp")},
		"rotate":   {"--role", "targets", "--key", r.KeyFile("root")},
		"sign":     {"--role", "targets", "--key", r.KeyFile("targets")},
	}
	before := repoTree(t, r.Dir)
	expect := func(t *testing.T, args []string, want string) {
		t.Helper()
		code, out, errs := runCLI(t, args...)
		if code != 2 || !strings.Contains(errs, "cnabsec: error: "+want) {
			t.Errorf("%q: exit %d, stderr %q; want exit 2 and %q\n%s", args, code, errs, want, out)
		}
		if repoTree(t, r.Dir) != before {
			t.Fatalf("%q changed the repository", args)
		}
	}
	for _, sub := range []string{"delegate", "list", "refresh", "rotate", "sign", "status"} {
		t.Run(sub, func(t *testing.T) {
			extra := changing[sub]
			expect(t, append([]string{"repo", sub, missing, "-o", "xml"}, extra...), "repository "+missing+" does not exist")
			expect(t, append([]string{"repo", sub, r.Dir, "-o", "xml"}, extra...), `--output "xml": want text or json`)
			if extra == nil {
				return
			}
			expect(t, append([]string{"--passphrase-env", "CNABSEC_TEST_UNSET_PASSPHRASE", "repo", sub, r.Dir}, extra...),
				"--passphrase-env CNABSEC_TEST_UNSET_PASSPHRASE: the variable is not set")
			cmd := findCommand(repoCommand().Subcommands, sub)
			if cmd == nil {
				t.Fatalf("no repo %s", sub)
			}
			var names []string
			for _, f := range cmd.Flags {
				if n := f.Names()[0]; n != "help" { // urfave/cli adds --help once it runs
					names = append(names, n)
				}
			}
			last := names[max(0, len(names)-3):]
			if got := strings.Join(last, " "); got != "output snapshot-key timestamp-key" {
				t.Errorf("repo %s flags end with %s, want output snapshot-key timestamp-key", sub, got)
			}
		})
	}
}
