package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/server"
	"github.com/cnabsec/cnabsec/verifier"
)

// cliFakeVerifier verifies exactly the references it lists.
type cliFakeVerifier struct {
	mu       sync.Mutex
	verified map[string]bool
	state    verifier.State
}

func (f *cliFakeVerifier) Verify(ctx context.Context, req verifier.Request) (*verifier.Report, error) {
	rep := &verifier.Report{Reference: req.Reference, RequiredLevel: req.Level, AchievedLevel: verifier.Level0}
	if f.verified[req.Reference] {
		rep.Verified, rep.AchievedLevel = true, verifier.Level2
		return rep, nil
	}
	err := fault.Deniedf("%s: no TUF target of that name", req.Reference)
	rep.Error = err.Error()
	return rep, err
}

func (f *cliFakeVerifier) Refresh(ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.state.SnapshotVersion++
	f.state.RefreshedAt = time.Now()
	f.state.TimestampExpires = time.Now().Add(time.Hour)
	return nil
}

func (f *cliFakeVerifier) State() verifier.State {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.state
}

func (f *cliFakeVerifier) Targets(ctx context.Context) ([]verifier.TargetRef, error) { return nil, nil }

// ResolveDigest says the registry is not read (as with an export kit), so
// verdicts are cached by reference.
func (f *cliFakeVerifier) ResolveDigest(ctx context.Context, ref string) (string, error) {
	return "", nil
}

// startService runs `cnabsec args...` with the test verifier until the
// returned stop function is called; it returns the bound address, and stop
// returns the exit code and stderr.
func startService(t *testing.T, args ...string) (string, func() (int, string)) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan net.Addr, 1)
	oldF, oldS, oldR := verifierFactory, stopContext, listenReady
	verifierFactory = func(*cli.Context) (server.Verifier, error) {
		return &cliFakeVerifier{verified: map[string]bool{"registry.example.com/app/web:1.0": true}}, nil
	}
	stopContext = func(context.Context) (context.Context, context.CancelFunc) { return ctx, cancel }
	listenReady = func(a net.Addr) { addrc <- a }
	t.Cleanup(func() { verifierFactory, stopContext, listenReady = oldF, oldS, oldR })
	stderr := &lockedBuffer{}
	done := make(chan int, 1)
	go func() {
		var out bytes.Buffer
		done <- run(append([]string{"cnabsec"}, args...), strings.NewReader(""), &out, stderr)
	}()
	select {
	case a := <-addrc:
		return a.String(), func() (int, string) { cancel(); code := <-done; return code, stderr.String() }
	case code := <-done:
		t.Fatalf("exited with %d before listening: %s", code, stderr.String())
	}
	return "", nil
}

func TestServeAnswersVerifyRequestsAndStopsGracefully(t *testing.T) {
	addr, stop := startService(t, "--log-level", "info", "serve", "--addr", "127.0.0.1:0", "--trust-root", "root.json", "--metadata", "repo")
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err == nil && resp.StatusCode == 200 {
			resp.Body.Close()
			break
		}
		if resp != nil {
			resp.Body.Close()
		}
		if time.Now().After(deadline) {
			t.Fatal("never ready")
		}
		time.Sleep(10 * time.Millisecond)
	}
	resp, err := http.Post("http://"+addr+"/v1/verify", "application/json", strings.NewReader(`{"reference":"registry.example.com/app/web:1.0","image":true}`))
	if err != nil {
		t.Fatal(err)
	}
	var rep verifier.Report
	json.NewDecoder(resp.Body).Decode(&rep)
	resp.Body.Close()
	if resp.StatusCode != 200 || !rep.Verified {
		t.Fatalf("HTTP %d %+v", resp.StatusCode, rep)
	}
	code, stderr := stop()
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	// Logs are JSON lines.
	var sawVerify bool
	for _, line := range strings.Split(strings.TrimSpace(stderr), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line is not JSON: %q", line)
		}
		if m["msg"] == "verify" && m["verdict"] == "verified" {
			sawVerify = true
		}
	}
	if !sawVerify {
		t.Fatalf("no verify decision logged: %s", stderr)
	}
}

func TestServeValidateAdmissionModeDeniesATagReference(t *testing.T) {
	addr, stop := startService(t, "serve", "--addr", "127.0.0.1:0", "--trust-root", "root.json", "--metadata", "repo", "--admission-mode", "validate")
	defer stop()
	resp := postAdmission(t, "http://"+addr, "uid-tag", "registry.example.com/app/web:1.0")
	if resp.Allowed || resp.Patch != nil || !strings.Contains(resp.Result.Message, "a tag reference is not admitted by the validating webhook") {
		t.Fatalf("validate mode: allowed %v, patch %s, %+v", resp.Allowed, resp.Patch, resp.Result)
	}
}

func TestGatewayCommandServesTheRegistryAPI(t *testing.T) {
	upstream := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(200) })}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go upstream.Serve(ln)
	defer upstream.Close()
	addr, stop := startService(t, "gateway", "--addr", "127.0.0.1:0", "--upstream", "http://"+ln.Addr().String(), "--trust-root", "root.json", "--metadata", "repo")
	resp, err := http.Get("http://" + addr + "/v2/team/app/manifests/1.0")
	if err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	body.ReadFrom(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body.String(), `"code":"DENIED"`) {
		t.Fatalf("unsigned manifest: HTTP %d %s", resp.StatusCode, body.String())
	}
	if code, stderr := stop(); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
}

func TestServeAndGatewayRefuseBadFlagsWithExit2(t *testing.T) {
	dir := t.TempDir()
	badCfg := filepath.Join(dir, "policy.yaml")
	os.WriteFile(badCfg, []byte("failOpne: true\n"), 0o600)
	base := []string{"--trust-root", "root.json", "--metadata", "repo"}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"serve", "--mode", "block"}, `--mode "block": want enforce or warn`},
		{[]string{"serve", "--admission-mode", "audit"}, `--admission-mode "audit": want mutate or validate`},
		{[]string{"serve", "--level", "5"}, `security level "5"`},
		{[]string{"serve", "--level", "1b"}, "level 1b on an image"},
		{[]string{"serve", "--config", filepath.Join(dir, "none.yaml")}, "none.yaml"},
		{[]string{"serve", "--config", badCfg}, `unknown field "failOpne"`},
		{[]string{"serve", "--tls-cert", "x.crt"}, "--tls-cert and --tls-key go together"},
		{[]string{"serve", "extra"}, `unexpected argument "extra"`},
		{[]string{"gateway"}, "--upstream URL is required"},
		{[]string{"gateway", "--upstream", "registry.example.com"}, "want http(s)://HOST[:PORT]"},
		{[]string{"gateway", "--upstream", "https://r.example.com", "--level", "1b"}, "level 1b on an image"},
	} {
		code, _, stderr := runCLI(t, append(c.args, base...)...)
		if code != 2 || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 with %q", c.args, code, stderr, c.want)
		}
	}
	if code, _, stderr := runCLI(t, "serve"); code != 2 || !strings.Contains(stderr, "--trust-root ROOT.json and --metadata LOCATION are required") {
		t.Errorf("serve without a trust root: exit %d %q", code, stderr)
	}
}

func TestServeAndGatewayHelpHaveExamples(t *testing.T) {
	for cmd, want := range map[string]string{"serve": "POST /v1/admission/mutate", "gateway": "DENIED"} {
		code, stdout, _ := runCLI(t, cmd, "--help")
		if code != 0 || !strings.Contains(stdout, "Examples:") || !strings.Contains(stdout, want) {
			t.Errorf("%s --help: exit %d\n%s", cmd, code, stdout)
		}
	}
}

// lockedBuffer is a bytes.Buffer safe for the service's log writes (from its
// own goroutines, which may outlive run by a moment) and the test's reads.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
