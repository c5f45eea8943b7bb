// Package peers starts the independent tools the interop tests run against
// (make interop): a missing tool fails the test under CI=true and skips it
// otherwise.
package peers

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// NeedTool returns the path of the peer binary name; with CI=true a missing
// one fails the test, never skips it.
func NeedTool(t testing.TB, name string) string {
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

// FreeLoopbackAddr returns a 127.0.0.1 address no one listens on now.
func FreeLoopbackAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// StartDistribution runs Debian's docker-registry (Docker Distribution 2.x)
// on a free loopback port over temporary storage (deletes enabled) until the
// test ends, and returns "127.0.0.1:PORT". Its output is logged when the
// test fails.
func StartDistribution(t testing.TB) string {
	t.Helper()
	bin := NeedTool(t, "docker-registry")
	addr, dir := FreeLoopbackAddr(t), t.TempDir()
	cfg := filepath.Join(dir, "config.yml")
	conf := fmt.Sprintf("version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\n"+
		"storage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: true\nhttp:\n  addr: %s\n",
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
	waitRegistry(t, addr)
	return addr
}

// waitRegistry waits up to 20 s for the registry at addr to answer /v2/.
func waitRegistry(t testing.TB, addr string) {
	t.Helper()
	client := &http.Client{Timeout: 2 * time.Second}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		resp, err := client.Get("http://" + addr + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("docker-registry did not come up on %s: %v", addr, err)
		}
	}
}
