package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"strings"
	"testing"
)

func intotoTestSHA256(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func TestLinkRunExitsWithTheCommandsCodeAndRecordsIt(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	out := runCLIID(t, "ci")
	code, stdout, errs := runCLI(t, "link", "run", "build", "--key", "ci.key", "-d", "links", "--", "sh", "-c", "echo building; exit 3")
	if code != 3 || stdout != "building\n" || !strings.Contains(errs, "exited with 3") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, errs)
	}
	b, err := os.ReadFile("links/build." + out[:8] + ".link")
	if err != nil {
		t.Fatal(err)
	}
	var mb struct {
		Signed struct {
			ByProducts map[string]any `json:"byproducts"`
			Command    []string       `json:"command"`
		} `json:"signed"`
	}
	json.Unmarshal(b, &mb)
	if mb.Signed.ByProducts["return-value"] != 3.0 || strings.Join(mb.Signed.Command, " ") != "sh -c echo building; exit 3" {
		t.Fatalf("link %s", b)
	}
}

func TestLinkRunRefusesPathsOutsideTheStepWithExitTwo(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	runCLIID(t, "ci")
	code, _, errs := runCLI(t, "link", "run", "build", "--key", "ci.key", "-m", "src/../../etc", "--", "true")
	if code != 2 || !strings.Contains(errs, "'..' is refused") {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	code, _, errs = runCLI(t, "link", "run", "build", "--key", "ci.key")
	if code != 2 || !strings.Contains(errs, "no command after --") {
		t.Fatalf("no command: exit %d, stderr %q", code, errs)
	}
	code, _, errs = runCLI(t, "link", "stop", "build", "--key", "ci.key")
	if code != 2 || !strings.Contains(errs, "link start") {
		t.Fatalf("stop without start: exit %d, stderr %q", code, errs)
	}
}

// runCLIID generates the key pair NAME.key/NAME.pub and returns its key ID.
func runCLIID(t *testing.T, name string) string {
	t.Helper()
	code, out, errs := runCLI(t, "key", "generate", "--unencrypted", name)
	if code != 0 {
		t.Fatalf("key generate: %s", errs)
	}
	return strings.TrimSpace(out)
}
