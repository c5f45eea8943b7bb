package keys

import (
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The key files in testdata/python were written once by Debian's
// python3-securesystemslib (see its README.md).
const pyKeys = "testdata/python"

var pyPassphrase = []byte("cnabsec-test")

func TestPythonEncryptedKeysLoadWithTheirPassphraseAndMatchTheirPublicKey(t *testing.T) {
	for _, name := range []string{"rsa-encrypted", "ed25519-encrypted", "ecdsa-encrypted", "ecdsa-plain"} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(pyKeys, name)
			pass := pyPassphrase
			if name == "ecdsa-plain" {
				pass = nil
			}
			priv, err := LoadPrivate(path, pass)
			if err != nil {
				t.Fatalf("LoadPrivate: %v", err)
			}
			pub, err := LoadPublic(path + ".pub")
			if err != nil {
				t.Fatal(err)
			}
			if !priv.Public().Equal(pub) || priv.Public().ID() != pub.ID() {
				t.Fatalf("the private key's public half %s is not python's %s", priv.Public().ID(), pub.ID())
			}
			sig, err := priv.Sign(context.Background(), []byte("payload"))
			if err != nil {
				t.Fatal(err)
			}
			if err := pub.Verify([]byte("payload"), sig); err != nil {
				t.Fatalf("signature does not verify: %v", err)
			}
			raw, _ := os.ReadFile(path)
			if got := IsEncrypted(raw); got != (pass != nil) {
				t.Fatalf("IsEncrypted = %v", got)
			}
		})
	}
}

func TestPythonEncryptedKeyWithWrongOrNoPassphraseIsRefusedNamingTheFile(t *testing.T) {
	for _, name := range []string{"rsa-encrypted", "ed25519-encrypted", "ecdsa-encrypted"} {
		path := filepath.Join(pyKeys, name)
		for _, pass := range [][]byte{nil, []byte("not the passphrase")} {
			_, err := LoadPrivate(path, pass)
			if !errors.Is(err, ErrPassphrase) {
				t.Fatalf("%s with passphrase %q: %v, want ErrPassphrase", name, pass, err)
			}
			if !strings.Contains(err.Error(), path) {
				t.Fatalf("%s: the error does not name the file: %v", name, err)
			}
		}
	}
}

// A crafted key file asking for a huge PBKDF2 count is refused before any
// key derivation runs, naming the limit.
func TestSSLibEncryptedKeyAskingForTooManyIterationsIsRefusedBeforeDeriving(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(pyKeys, "ed25519-encrypted"))
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Split(strings.TrimSpace(string(raw)), sslibDelimiter)
	for _, iters := range []string{"2000000000", "10000001"} {
		f[1] = iters
		_, err := ParsePrivate([]byte(strings.Join(f, sslibDelimiter)), pyPassphrase)
		if err == nil || errors.Is(err, ErrPassphrase) || !strings.Contains(err.Error(), "PBKDF2 iterations is more than cnabsec accepts") {
			t.Fatalf("iterations %s: %v", iters, err)
		}
	}
}

func TestMalformedSSLibEncryptedKeysAreRefusedWithTheFieldAtFault(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(pyKeys, "ecdsa-encrypted"))
	if err != nil {
		t.Fatal(err)
	}
	good := strings.Split(strings.TrimSpace(string(raw)), sslibDelimiter)
	for name, c := range map[string]struct {
		field int
		value string
		want  string
	}{
		"zero iterations": {1, "0", "not a positive number"},
		"short hmac":      {2, "abcd", "hmac field"},
		"odd iv":          {3, "abc", "iv field"},
		"empty salt":      {0, "", "salt field"},
		"not hex":         {4, "zz", "ciphertext field"},
	} {
		f := append([]string(nil), good...)
		f[c.field] = c.value
		_, err := ParsePrivate([]byte(strings.Join(f, sslibDelimiter)), pyPassphrase)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", name, err, c.want)
		}
	}
}

// A tampered ciphertext fails the HMAC: reported like a wrong passphrase,
// never decrypted into a key.
func TestSSLibEncryptedKeyWithTamperedCiphertextIsRefused(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(pyKeys, "ed25519-encrypted"))
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Split(strings.TrimSpace(string(raw)), sslibDelimiter)
	c := []byte(f[4])
	if c[10] == '0' {
		c[10] = '1'
	} else {
		c[10] = '0'
	}
	f[4] = string(c)
	if _, err := ParsePrivate([]byte(strings.Join(f, sslibDelimiter)), pyPassphrase); !errors.Is(err, ErrPassphrase) {
		t.Fatalf("tampered ciphertext: %v", err)
	}
}

// FuzzParsePrivate: any key file bytes, with or without a passphrase, parse
// to a key or an error, never a panic.
func FuzzParsePrivate(f *testing.F) {
	for _, name := range []string{"rsa-encrypted", "ed25519-encrypted", "ecdsa-encrypted", "ecdsa-plain"} {
		b, err := os.ReadFile(filepath.Join(pyKeys, name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, true)
	}
	f.Add([]byte("00@@@@1@@@@"+strings.Repeat("00", 32)+"@@@@"+strings.Repeat("00", 16)+"@@@@00"), true)
	f.Fuzz(func(t *testing.T, b []byte, withPass bool) {
		var pass []byte
		if withPass {
			pass = pyPassphrase
			if e, err := parseSSLibEncrypted(b); err == nil && e.iterations > 200_000 {
				t.Skip("a slow key derivation, bounded by MaxKDFIterations, not what this fuzzes")
			}
		}
		k, err := ParsePrivate(b, pass)
		if err == nil && k == nil {
			t.Fatal("no key and no error")
		}
	})
}

// An OpenSSL traditional encrypted EC key (openssl ec -aes256 writes this)
// reads with its passphrase; with another one it is ErrPassphrase, whether
// the padding fails or the decrypted bytes are not a key.
func TestOpenSSLEncryptedECKeyReadsWithItsPassphraseOnly(t *testing.T) {
	k, err := Generate(GenECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	ec, ok := k.Crypto().(*ecdsa.PrivateKey)
	if !ok {
		t.Fatalf("%T", k.Crypto())
	}
	der, err := x509.MarshalECPrivateKey(ec)
	if err != nil {
		t.Fatal(err)
	}
	//lint:ignore SA1019 writes the legacy form cnabsec must read
	block, err := x509.EncryptPEMBlock(rand.Reader, "EC PRIVATE KEY", der, []byte("pw"), x509.PEMCipherAES256)
	if err != nil {
		t.Fatal(err)
	}
	file := pem.EncodeToMemory(block)
	got, err := ParsePrivate(file, []byte("pw"))
	if err != nil || !got.Public().Equal(k.Public()) {
		t.Fatalf("with its passphrase: %v", err)
	}
	if !IsEncrypted(file) {
		t.Fatal("IsEncrypted = false")
	}
	for i := range 20 {
		if _, err := ParsePrivate(file, []byte(fmt.Sprintf("wrong %d", i))); !errors.Is(err, ErrPassphrase) {
			t.Fatalf("wrong passphrase %d: %v", i, err)
		}
	}
}
