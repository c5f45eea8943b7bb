package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestKeyIDPrintsPythonInTotoIDs(t *testing.T) {
	vec := "../../../shared/vectors/intoto-py"
	b, err := os.ReadFile(filepath.Join(vec, "keyids.txt"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.Fields(line)
		for _, file := range []string{f[0], f[0] + ".pub"} {
			code, out, errs := runCLI(t, "key", "id", filepath.Join(vec, file))
			if code != 0 || strings.TrimSpace(out) != f[1] {
				t.Errorf("key id %s: exit %d, out %q, err %q; want %s", file, code, out, errs, f[1])
			}
			n++
		}
	}
	if n != 6 {
		t.Fatalf("checked %d key files, want 6", n)
	}
}

func TestKeyGenerateFlagsAfterPositional(t *testing.T) {
	dir := t.TempDir()
	prefix := filepath.Join(dir, "k")
	code, out, errs := runCLI(t, "key", "generate", prefix, "--type", "ecdsa-p256", "--unencrypted")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	id := strings.TrimSpace(out)
	if len(id) != 64 {
		t.Fatalf("key ID %q is not 64 hex chars", id)
	}
	st, err := os.Stat(prefix + ".key")
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("private key mode: %v %v", st.Mode().Perm(), err)
	}
	for _, f := range []string{prefix + ".key", prefix + ".pub"} {
		code, out, _ := runCLI(t, "key", "id", f)
		if code != 0 || strings.TrimSpace(out) != id {
			t.Errorf("key id %s = %q, want %s", f, out, id)
		}
	}
	code, out, _ = runCLI(t, "--log-level", "debug", "key", "export", "--format", "securesystemslib", prefix+".pub")
	if code != 0 || !strings.Contains(out, `"keytype":"ecdsa"`) {
		t.Fatalf("export: %d %q", code, out)
	}
}

func TestEncryptedKeyGenerateNeedsPassphraseToLoad(t *testing.T) {
	dir := t.TempDir()
	prefix := filepath.Join(dir, "k")
	t.Setenv("TEST_PASS", "correct horse")
	if code, _, errs := runCLI(t, "key", "generate", prefix, "--passphrase-env", "TEST_PASS"); code != 0 {
		t.Fatalf("generate: %s", errs)
	}
	b, _ := os.ReadFile(prefix + ".key")
	if !bytes.Contains(b, []byte("ENCRYPTED PRIVATE KEY")) {
		t.Fatal("not encrypted")
	}
	if bytes.Contains([]byte(os.Getenv("TEST_PASS")), b) {
		t.Fatal("passphrase in key file")
	}
	code, _, errs := runCLI(t, "key", "id", prefix+".key")
	if code != 2 || !strings.Contains(errs, "encrypted") {
		t.Fatalf("want exit 2 naming encryption, got %d %q", code, errs)
	}
	if code, _, errs := runCLI(t, "--passphrase-env", "TEST_PASS", "key", "id", prefix+".key"); code != 0 {
		t.Fatalf("with passphrase: %d %s", code, errs)
	}
}

func TestBadKeyFileExitsTwoNamingFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "junk.pub")
	os.WriteFile(p, []byte("not a key"), 0o644)
	code, _, errs := runCLI(t, "key", "id", p)
	if code != 2 || !strings.Contains(errs, p) || !strings.HasPrefix(errs, "cnabsec: error: ") {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	if strings.Contains(errs, "goroutine") {
		t.Fatal("stack trace on stderr")
	}
	code, _, errs = runCLI(t, "key", "generate", "--unencrypted", "--type", "dsa", filepath.Join(t.TempDir(), "x"))
	if code != 2 || !strings.Contains(errs, "unsupported key") {
		t.Fatalf("bad type: exit %d %q", code, errs)
	}
	code, _, _ = runCLI(t, "key", "id", "--no-such-flag", p)
	if code != 2 {
		t.Fatalf("unknown flag: exit %d, want 2", code)
	}
}

func TestKeyGenerateCreatesAMissingOutputDirectory(t *testing.T) {
	prefix := filepath.Join(t.TempDir(), "new", "keys", "ci")
	code, out, errs := runCLI(t, "key", "generate", "--unencrypted", prefix)
	if code != 0 || len(strings.TrimSpace(out)) != 64 {
		t.Fatalf("key generate into a missing directory: exit %d, %q %q", code, out, errs)
	}
	st, err := os.Stat(filepath.Dir(prefix))
	if err != nil || st.Mode().Perm() != 0o700 {
		t.Fatalf("key directory: %v %v, want mode 0700", st, err)
	}
}

// Key files python tools write with a passphrase (an OpenSSL encrypted PEM
// for RSA, securesystemslib's encrypted form for ed25519 and ecdsa) are read
// with --passphrase-env; a wrong passphrase is exit 2 naming the file.
func TestPythonEncryptedKeyFilesReadWithPassphraseWrongOneExitsTwoNamingFile(t *testing.T) {
	for _, name := range []string{"rsa-encrypted", "ed25519-encrypted", "ecdsa-encrypted"} {
		path := filepath.Join("..", "..", "keys", "testdata", "python", name)
		t.Setenv("PY_PASS", "cnabsec-test")
		code, out, errs := runCLI(t, "--passphrase-env", "PY_PASS", "key", "id", path)
		_, pubID, _ := runCLI(t, "key", "id", path+".pub")
		if code != 0 || out != pubID {
			t.Fatalf("%s: exit %d, id %q (its .pub: %q) %s", name, code, out, pubID, errs)
		}
		t.Setenv("PY_PASS", "wrong")
		code, _, errs = runCLI(t, "--passphrase-env", "PY_PASS", "key", "id", path)
		if code != 2 || !strings.Contains(errs, path) || !strings.Contains(errs, "passphrase") {
			t.Fatalf("%s with a wrong passphrase: exit %d %q", name, code, errs)
		}
	}
}
