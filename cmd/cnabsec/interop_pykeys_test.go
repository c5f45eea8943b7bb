//go:build interop

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cnabsec/cnabsec/internal/testing/peers"
)

// pyWriteKeys has Debian's securesystemslib write encrypted key pairs the
// way in-toto-keygen -p does: RSA as an OpenSSL encrypted PEM, ed25519 and
// ecdsa in securesystemslib's own encrypted form.
const pyWriteKeys = `
import sys
from securesystemslib import interface as i
pw = sys.argv[1]
i._generate_and_write_rsa_keypair(filepath="owner", bits=3072, password=pw)
i._generate_and_write_ed25519_keypair(filepath="dev", password=pw)
i._generate_and_write_ecdsa_keypair(filepath="ci", password=pw)
`

// TestInteropCnabsecSignsAChainWithPythonsEncryptedKeysThatInTotoVerifies:
// a publisher's encrypted key files written by python are used as they are
// with --key and --passphrase-env (layout owner RSA, developer ed25519, CI
// ecdsa); Debian's in-toto-verify accepts the layout and links cnabsec
// signed with them. A wrong passphrase is exit 2 naming the key file.
func TestInteropCnabsecSignsAChainWithPythonsEncryptedKeysThatInTotoVerifies(t *testing.T) {
	verify := peers.NeedTool(t, "in-toto-verify")
	dir := t.TempDir()
	py := exec.Command("/usr/bin/python3", "-c", pyWriteKeys, "py pass phrase")
	py.Dir = dir
	if out, err := py.CombinedOutput(); err != nil {
		t.Fatalf("python writing keys (apt-get install -y python3-securesystemslib): %v\n%s", err, out)
	}
	t.Chdir(dir)
	t.Setenv("PY_PASS", "py pass phrase")
	if err := os.WriteFile("layout.yaml", []byte(`steps:
  - name: write
    functionaries: [dev.pub]
    expected_products: [[CREATE, a.txt], [DISALLOW, "*"]]
  - name: package
    functionaries: [ci.pub]
    expected_command: [cp, a.txt, b.txt]
    expected_materials: [[MATCH, a.txt, WITH, PRODUCTS, FROM, write], [DISALLOW, "*"]]
    expected_products: [[CREATE, b.txt], [MATCH, a.txt, WITH, PRODUCTS, FROM, write], [DISALLOW, "*"]]
`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"layout", "create", "layout.yaml", "--key", "owner", "--out", "root.layout"},
		{"link", "run", "write", "--key", "dev", "-p", "a.txt", "--", "sh", "-c", "echo release > a.txt"},
		{"link", "run", "package", "--key", "ci", "-m", "a.txt", "-p", "a.txt", "-p", "b.txt", "--", "cp", "a.txt", "b.txt"},
	} {
		if code, out, errs := runCLI(t, append([]string{"--passphrase-env", "PY_PASS"}, args...)...); code != 0 {
			t.Fatalf("cnabsec %v with python's encrypted key: exit %d\n%s%s", args, code, out, errs)
		}
	}
	cmd := exec.Command(verify, "-l", "root.layout", "-k", "owner.pub", "--verbose")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("in-toto-verify refused what cnabsec signed with python's keys: %v\n%s", err, out)
	}
	t.Setenv("PY_PASS", "not it")
	for _, key := range []string{"owner", "dev", "ci"} {
		code, _, errs := runCLI(t, "--passphrase-env", "PY_PASS", "link", "run", "write", "--key", key, "-p", "a.txt", "--", "true")
		if code != 2 || !strings.Contains(errs, key+": passphrase required or wrong") {
			t.Errorf("%s with a wrong passphrase: exit %d %q", key, code, errs)
		}
	}
	if links, _ := filepath.Glob("*.link"); len(links) != 2 {
		t.Errorf("links after the wrong passphrases: %v (want the 2 good ones only)", links)
	}
}
