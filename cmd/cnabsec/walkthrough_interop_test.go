//go:build interop

package main

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// needTool returns the path of a peer binary; with CI=true a missing one
// fails the test, never skips it.
func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is required for the interop tests (CI=true; make interop-deps installs it): %v", name, err)
		}
		t.Skipf("%s not installed: %v", name, err)
	}
	return p
}

// freeLoopbackAddr returns a 127.0.0.1 address no one listens on now.
func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startDockerRegistry runs Debian's docker-registry (Docker Distribution) on
// a free loopback port until the test ends and returns its address.
func startDockerRegistry(t *testing.T) string {
	t.Helper()
	bin := needTool(t, "docker-registry")
	addr, dir := freeLoopbackAddr(t), t.TempDir()
	cfg := filepath.Join(dir, "config.yml")
	conf := fmt.Sprintf("version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: %s\n",
		filepath.Join(dir, "storage"), addr)
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	cmd := exec.Command(bin, "serve", cfg)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("start docker-registry: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("docker-registry output:\n%s", logs.String())
		}
	})
	client := &http.Client{Timeout: 2 * time.Second}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		resp, err := client.Get("http://" + addr + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return addr
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("docker-registry did not come up on %s: %v", addr, err)
		}
	}
}

// TestInteropWalkthrough runs the README walkthrough (examples/walkthrough.sh,
// which TestREADMEWalkthroughIsTheScript keeps identical to the README's
// block) end to end against Debian's docker-registry with skopeo: build,
// keys, repository, delegations, images, layouts, links, signatures, level 4
// verification with the hand-off, the export kit and its import. The
// repository server the walkthrough starts must be gone when it returns.
func TestInteropWalkthrough(t *testing.T) {
	needTool(t, "skopeo")
	reg := startDockerRegistry(t)
	tuf := freeLoopbackAddr(t)
	work := t.TempDir()
	cmd := exec.Command("bash", "../../examples/walkthrough.sh")
	cmd.Env = append(os.Environ(), "REGISTRY="+reg, "TUF="+tuf, "WORK="+work)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	t.Logf("walkthrough: %s", time.Since(start).Round(time.Millisecond))
	if err != nil {
		t.Fatalf("the walkthrough failed: %v\n%s", err, out)
	}
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^VERIFIED ` + regexp.QuoteMeta(reg) + `/org/app:1\.0 at level 4 \(required 4\)`),
		regexp.MustCompile(`(?m)^the runtime got \S+/bundle\.json \(sha256:[0-9a-f]{64}\)$`),
		regexp.MustCompile(`(?m)^exported ` + regexp.QuoteMeta(reg) + `/org/app:1\.0 .*verified at level 4`),
		regexp.MustCompile(`(?m)^imported .* 2 images relocated`),
	} {
		if !want.Match(out) {
			t.Errorf("the walkthrough's output has no line matching %s:\n%s", want, out)
		}
	}
	if n := strings.Count(string(out), "\nVERIFIED "); n != 2 {
		t.Errorf("want 2 verifications (served metadata, kit), got %d", n)
	}
	// The trap stopped repo serve: nothing listens on its address.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		c, err := net.DialTimeout("tcp", tuf, time.Second)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatalf("repo serve still listens on %s after the walkthrough returned", tuf)
		}
	}
}
