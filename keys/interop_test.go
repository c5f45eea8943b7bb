//go:build interop

package keys

import (
	"context"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// debianPython is the interpreter Debian's python3-securesystemslib and
// in-toto packages are installed for (not a pyenv or venv one).
const debianPython = "/usr/bin/python3"

func needSSLib(t *testing.T) {
	t.Helper()
	if err := exec.Command(debianPython, "-c", "import securesystemslib.interface").Run(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("Debian's securesystemslib is not installed (apt-get install -y in-toto python3-securesystemslib): %v", err)
		}
		t.Skipf("Debian's securesystemslib is not installed: %v", err)
	}
}

func runPython(t *testing.T, dir, script string, args ...string) string {
	t.Helper()
	cmd := exec.Command(debianPython, append([]string{"-c", script}, args...)...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, out)
	}
	return string(out)
}

const pyGenerate = `
import sys
from securesystemslib import interface as i
typ, path, pw = sys.argv[1], sys.argv[2], sys.argv[3] or None
{"rsa": lambda: i._generate_and_write_rsa_keypair(filepath=path, bits=3072, password=pw),
 "ed25519": lambda: i._generate_and_write_ed25519_keypair(filepath=path, password=pw),
 "ecdsa": lambda: i._generate_and_write_ecdsa_keypair(filepath=path, password=pw)}[typ]()
`

// pyVerify verifies a signature made by cnabsec with the public key file
// python wrote, through securesystemslib's own verify_signature.
const pyVerify = `
import sys
from securesystemslib import interface as i, keys
typ, pub, sigfile, datafile = sys.argv[1:5]
key = list(i.import_publickeys_from_file([pub], [typ]).values())[0]
sig = {"keyid": key["keyid"], "sig": open(sigfile).read().strip()}
print("OK" if keys.verify_signature(key, sig, open(datafile, "rb").read()) else "BAD")
`

// TestInteropCnabsecSignsWithPythonWrittenKeysAndPythonVerifies: keys made
// by Debian's securesystemslib, encrypted (OpenSSL PEM for RSA, the
// securesystemslib encrypted form for ed25519 and ecdsa) and not; cnabsec
// reads each with the passphrase, signs, and python verifies the signature
// with the public key file it wrote. A wrong passphrase is refused.
func TestInteropCnabsecSignsWithPythonWrittenKeysAndPythonVerifies(t *testing.T) {
	needSSLib(t)
	for _, typ := range []string{"rsa", "ed25519", "ecdsa"} {
		for _, pw := range []string{"correct horse", ""} {
			t.Run(typ+"/encrypted="+boolWord(pw != ""), func(t *testing.T) {
				dir := t.TempDir()
				runPython(t, dir, pyGenerate, typ, "k", pw)
				path := filepath.Join(dir, "k")
				raw, _ := os.ReadFile(path)
				if IsEncrypted(raw) != (pw != "") {
					t.Fatalf("IsEncrypted = %v for a key python wrote with passphrase %q:\n%.80s", !(pw != ""), pw, raw)
				}
				priv, err := LoadPrivate(path, []byte(pw))
				if err != nil {
					t.Fatalf("cnabsec cannot read the %s key python wrote: %v\n%.120s", typ, err, raw)
				}
				data := []byte("signed by cnabsec with a key python wrote")
				sig, err := priv.Sign(context.Background(), data)
				if err != nil {
					t.Fatal(err)
				}
				must(t, os.WriteFile(filepath.Join(dir, "sig"), []byte(hex.EncodeToString(sig)), 0o600))
				must(t, os.WriteFile(filepath.Join(dir, "data"), data, 0o600))
				if out := runPython(t, dir, pyVerify, typ, "k.pub", "sig", "data"); strings.TrimSpace(out) != "OK" {
					t.Fatalf("securesystemslib does not verify cnabsec's signature: %s", out)
				}
				if pw != "" {
					if _, err := LoadPrivate(path, []byte("wrong")); err == nil || !strings.Contains(err.Error(), path) {
						t.Fatalf("wrong passphrase: %v", err)
					}
				}
			})
		}
	}
}

func boolWord(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
