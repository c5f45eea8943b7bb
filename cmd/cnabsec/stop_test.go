package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// runServer starts `cnabsec args...` and stops it as the signal sig would
// (the stop context cancelled with that cause); it returns the exit code and
// stderr.
func runServer(t *testing.T, sig os.Signal, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithCancelCause(context.Background())
	oldS, oldR := stopContext, listenReady
	defer func() { stopContext, listenReady = oldS, oldR }()
	stopContext = func(context.Context) (context.Context, context.CancelFunc) { return ctx, func() { cancel(nil) } }
	ready := make(chan net.Addr, 1)
	listenReady = func(a net.Addr) { ready <- a }
	var stdout bytes.Buffer
	var stderr lockedBuffer // the service's refresh loop may still log after run returns
	done := make(chan int, 1)
	go func() { done <- run(append([]string{"cnabsec"}, args...), strings.NewReader(""), &stdout, &stderr) }()
	select {
	case <-ready:
	case code := <-done:
		t.Fatalf("exited with %d before listening: %s", code, stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatal("never listened")
	}
	cancel(interrupted{sig})
	return <-done, stderr.String()
}

// A person who starts a service sees at once where it listens and what it
// enforces (at the default log level), and Ctrl-C ends it with 130 as a shell
// reports an interrupted command; SIGTERM is a clean stop (0).
func TestServeLogsOneStartLineAndCtrlCExits130(t *testing.T) {
	e := buildE2E(t)
	args := []string{"serve", "--addr", "127.0.0.1:0", "--trust-root", e.rootFile, "--metadata", e.RepoDir, "--level", "2"}
	code, stderr := runServer(t, os.Interrupt, args...)
	if code != 130 {
		t.Errorf("Ctrl-C: exit %d, want 130: %s", code, stderr)
	}
	var start map[string]any
	line, _, _ := strings.Cut(stderr, "\n")
	if err := json.Unmarshal([]byte(line), &start); err != nil || start["msg"] != "cnabsec serve started" {
		t.Fatalf("first stderr line is not the start line: %q (%v)", line, err)
	}
	for k, want := range map[string]any{"trustRoot": e.rootFile, "metadata": e.RepoDir, "level": "2", "tls": false, "mode": "enforce", "admissionMode": "mutate"} {
		if start[k] != want {
			t.Errorf("start line %s = %v, want %v", k, start[k], want)
		}
	}
	if addr, _ := start["addr"].(string); !strings.HasPrefix(addr, "127.0.0.1:") || strings.HasSuffix(addr, ":0") {
		t.Errorf("start line addr %v, want the bound address", start["addr"])
	}
	if code, stderr := runServer(t, syscall.SIGTERM, args...); code != 0 {
		t.Errorf("SIGTERM: exit %d, want 0: %s", code, stderr)
	}
}
