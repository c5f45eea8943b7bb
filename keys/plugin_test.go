package keys_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cnabsec/cnabsec/internal/testing/testsigner"
	"github.com/cnabsec/cnabsec/keys"
)

// TestMain runs this test binary as the test plugin when it is started under
// the name cnabsec-signer-test (a link in a PATH directory it sets up).
func TestMain(m *testing.M) {
	if filepath.Base(os.Args[0]) == "cnabsec-signer-test" {
		os.Exit(testsigner.Main(os.Stdin, os.Stdout))
	}
	dir, err := os.MkdirTemp("", "cnabsec-plugins")
	if err != nil {
		panic(err)
	}
	self, err := os.Executable()
	if err != nil {
		panic(err)
	}
	if err := os.Symlink(self, filepath.Join(dir, "cnabsec-signer-test")); err != nil {
		panic(err)
	}
	os.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// keyFile writes a new key of type typ and returns its path and key.
func keyFile(t *testing.T, typ string) (string, *keys.PrivateKey) {
	t.Helper()
	k, err := keys.Generate(typ)
	if err != nil {
		t.Fatal(err)
	}
	prefix := filepath.Join(t.TempDir(), "k")
	if err := keys.WriteKeyPair(prefix, k, nil); err != nil {
		t.Fatal(err)
	}
	return prefix + ".key", k
}

func openRef(t *testing.T, s string, timeout time.Duration) (keys.Signer, error) {
	t.Helper()
	ref, err := keys.ParseRef(s)
	if err != nil {
		t.Fatal(err)
	}
	return keys.OpenSigner(context.Background(), ref, nil, timeout)
}

func TestPluginKeyHasTheKeyIDOfTheSameKeyInAFile(t *testing.T) {
	for _, typ := range []string{keys.GenEd25519, keys.GenECDSAP256, keys.GenRSA3072} {
		path, k := keyFile(t, typ)
		s, err := openRef(t, "plugin:test?file="+path, 0)
		if err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
		if s.Public().ID() != k.Public().ID() {
			t.Fatalf("%s: plugin key ID %s, file key ID %s", typ, s.Public().ID(), k.Public().ID())
		}
		sig, err := s.Sign(context.Background(), []byte("payload"))
		if err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
		if err := k.Public().Verify([]byte("payload"), sig); err != nil {
			t.Fatalf("%s: plugin signature: %v", typ, err)
		}
	}
}

// Each lying or failing plugin signs nothing, and the error names the plugin
// and what was wrong.
func TestLyingOrFailingPluginSignsNothing(t *testing.T) {
	path, _ := keyFile(t, keys.GenECDSAP256)
	cases := map[string]string{
		"other-key": "its signature does not verify with key",
		"garbage":   "its signature does not verify with key",
		"not-json":  "the answer is not JSON",
		"hang":      "no answer within 5s",
		"huge":      "more than 1048576 bytes of output",
		"refuse":    "sign: the key is disabled",
		"exit":      "exit status 3",
	}
	for mode, want := range cases {
		t.Run(mode, func(t *testing.T) {
			s, err := openRef(t, "plugin:test?file="+path+"&mode="+mode, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			sig, err := s.Sign(context.Background(), []byte("payload"))
			if err == nil || sig != nil {
				t.Fatalf("plugin %s: signed (%x), want a refusal", mode, sig)
			}
			if !errors.Is(err, keys.ErrPlugin) || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "plugin test") {
				t.Fatalf("plugin %s: want ErrPlugin naming plugin test and %q, got %v", mode, want, err)
			}
			if d := time.Since(start); d > 15*time.Second {
				t.Fatalf("plugin %s: took %s (the timeout is 5s)", mode, d)
			}
		})
	}
}

func TestMissingPluginIsNamed(t *testing.T) {
	_, err := openRef(t, "plugin:nosuch?x=1", 0)
	if !errors.Is(err, keys.ErrPlugin) || !strings.Contains(err.Error(), "cnabsec-signer-nosuch is not on PATH") {
		t.Fatalf("got %v", err)
	}
}

// A PIN in a reference never shows in an error, even when the plugin fails.
func TestPluginErrorsNeverShowThePIN(t *testing.T) {
	_, err := openRef(t, "pkcs11:token=t;object=k?pin-value=4711-secret", 0)
	if err == nil || strings.Contains(err.Error(), "4711-secret") {
		t.Fatalf("got %v", err)
	}
	ref, _ := keys.ParseRef("pkcs11:token=t;object=k?pin-value=4711-secret&module-path=/usr/lib/softhsm/libsofthsm2.so")
	if s := ref.String() + ref.Describe(); strings.Contains(s, "4711") || !strings.Contains(ref.String(), "pin-value=REDACTED") {
		t.Fatalf("redacted reference: %s / %s", ref.String(), ref.Describe())
	}
}
