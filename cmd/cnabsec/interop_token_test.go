//go:build interop

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cnabsec/cnabsec/internal/testing/peers"
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
	peers.NeedTool(t, "skopeo")
	reg := peers.StartDistribution(t)
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
		"WORK="+work, "MODULE="+module, "REGISTRY="+reg, "APP="+reg+"/org/app",
		"CI_KEY=plugin:test?file="+ciKey+".key")
	start := time.Now()
	out, err := cmd.CombinedOutput()
	t.Logf("ceremony: %s\n%s", time.Since(start).Round(time.Millisecond), out)
	if err != nil {
		t.Fatalf("ceremony: %v\n%s", err, out)
	}
	for _, want := range []*regexp.Regexp{
		// The release signed with the CI key behind the plugin, its layout
		// published under the targets key on the token, verifies at level 4.
		regexp.MustCompile(`(?m)^VERIFIED ` + regexp.QuoteMeta(reg) + `/org/app:1\.0 at level 4 \(required 4\)`),
		// Status names where the keys live: root and targets on the token,
		// the CI key behind the plugin, the online keys in files.
		regexp.MustCompile(`(?m)^root .*\n    key [0-9a-f]{64} signed  ecdsa/ecdsa-sha2-nistp256  token pkcs11:object=root;token=cnabsec\?module-path=`),
		regexp.MustCompile(`(?m)^targets .*\n    key [0-9a-f]{64} signed  ecdsa/ecdsa-sha2-nistp256  token pkcs11:object=targets-2;token=cnabsec\?`),
		regexp.MustCompile(`(?m)^releases .*\n    key [0-9a-f]{64} signed  ed25519  plugin plugin:test\?file=`),
		regexp.MustCompile(`(?m)^timestamp .*\n    key [0-9a-f]{64} signed  ed25519  file keys/timestamp\.pub$`),
	} {
		if !want.Match(out) {
			t.Errorf("the ceremony's output has no line matching %s:\n%s", want, out)
		}
	}
	pin, _ := os.ReadFile(filepath.Join(work, "pin"))
	if len(pin) == 0 || strings.Contains(string(out), strings.TrimSpace(string(pin))) {
		t.Fatalf("the PIN shows in the ceremony's output (or there is none):\n%s", out)
	}
}

func exists(p string) bool { _, err := os.Stat(p); return err == nil }
