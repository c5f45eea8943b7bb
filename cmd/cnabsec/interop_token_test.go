//go:build interop

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cnabsec/cnabsec/keys"
)

// TestInteropTokenCeremony runs the token key ceremony of docs/operations.md
// (examples/token-ceremony.sh) against SoftHSM2 with the PKCS#11 plugin
// built from cmd/cnabsec-signer-pkcs11 and the CI key behind the test
// plugin. With CI=true a missing SoftHSM2 fails, never skips.
func TestInteropTokenCeremony(t *testing.T) {
	module := "/usr/lib/softhsm/libsofthsm2.so"
	if _, err := exec.LookPath("softhsm2-util"); err != nil || !exists(module) {
		if os.Getenv("CI") == "true" {
			t.Fatal("softhsm2 is not installed (make interop-deps installs it)")
		}
		t.Skip("softhsm2 is not installed")
	}
	bin := t.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(bin, "cnabsec-signer-pkcs11"), "../cnabsec-signer-pkcs11")
	build.Env = append(os.Environ(), "CGO_ENABLED=1")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building cnabsec-signer-pkcs11: %v\n%s", err, out)
	}
	work := t.TempDir()
	ci, err := keys.Generate(keys.GenEd25519)
	if err != nil {
		t.Fatal(err)
	}
	ciKey := filepath.Join(filepath.Dir(work), "ci-key")
	if err := keys.WriteKeyPair(ciKey, ci, nil); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", "../../examples/token-ceremony.sh")
	// PATH already holds cnabsec and cnabsec-signer-test (testscript.Main).
	cmd.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"),
		"WORK="+work, "MODULE="+module, "APP=registry.example/org/app",
		"CI_KEY=plugin:test?file="+ciKey+".key")
	start := time.Now()
	out, err := cmd.CombinedOutput()
	t.Logf("ceremony: %s", time.Since(start).Round(time.Millisecond))
	if err != nil {
		t.Fatalf("ceremony: %v\n%s", err, out)
	}
	for _, want := range []string{"targets", "releases"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("repo status does not mention %s:\n%s", want, out)
		}
	}
	pin, _ := os.ReadFile(filepath.Join(work, "pin"))
	if len(pin) == 0 || strings.Contains(string(out), strings.TrimSpace(string(pin))) {
		t.Fatalf("the PIN shows in the ceremony's output (or there is none):\n%s", out)
	}
}

func exists(p string) bool { _, err := os.Stat(p); return err == nil }
