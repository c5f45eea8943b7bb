package keys

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/secure-systems-lab/go-securesystemslib/cjson"
	"github.com/theupdateframework/go-tuf/v2/metadata"
)

const vectors = "../../shared/vectors/intoto-py"

func vectorIDs(t *testing.T) map[string]string {
	t.Helper()
	f, err := os.Open(filepath.Join(vectors, "keyids.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ids := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fields := strings.Fields(sc.Text()); len(fields) == 2 {
			ids[fields[0]] = fields[1]
		}
	}
	if len(ids) != 3 {
		t.Fatalf("keyids.txt: want 3 IDs, got %d", len(ids))
	}
	return ids
}

func TestKeyIDsMatchPythonInToto(t *testing.T) {
	for name, want := range vectorIDs(t) {
		pub, err := LoadPublic(filepath.Join(vectors, name+".pub"))
		if err != nil {
			t.Fatalf("%s.pub: %v", name, err)
		}
		if pub.ID() != want {
			t.Errorf("%s.pub: key ID %s, python in-toto says %s", name, pub.ID(), want)
		}
		priv, err := LoadPrivate(filepath.Join(vectors, name), nil)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if priv.Public().ID() != want {
			t.Errorf("%s (private): key ID %s, want %s", name, priv.Public().ID(), want)
		}
		if got, _ := priv.Public().TUFKey().ID(); got != want {
			t.Errorf("%s: go-tuf computes key ID %s for our TUF listing, want %s", name, got, want)
		}
	}
}

func TestGenerateSignVerifyEveryType(t *testing.T) {
	for _, typ := range []string{GenEd25519, GenECDSAP256, GenRSA3072} {
		t.Run(typ, func(t *testing.T) {
			k, err := Generate(typ)
			if err != nil {
				t.Fatal(err)
			}
			sig, err := k.Sign(context.Background(), []byte("payload"))
			if err != nil {
				t.Fatal(err)
			}
			if err := k.Public().Verify([]byte("payload"), sig); err != nil {
				t.Fatalf("own signature: %v", err)
			}
			if err := k.Public().Verify([]byte("tampered"), sig); err == nil {
				t.Fatal("signature over other data verified")
			}
			// go-tuf must accept our signature under our key ID.
			md := metadata.Targets(timeIn())
			payload, err := cjson.EncodeCanonical(md.Signed)
			if err != nil {
				t.Fatal(err)
			}
			hexsig, err := SignHex(context.Background(), k, payload)
			if err != nil {
				t.Fatal(err)
			}
			md.Signatures = []metadata.Signature{{KeyID: k.Public().ID(), Signature: mustHex(t, hexsig)}}
			root := metadata.Root(timeIn())
			if err := root.Signed.AddKey(k.Public().TUFKey(), metadata.TARGETS); err != nil {
				t.Fatal(err)
			}
			if err := root.VerifyDelegate(metadata.TARGETS, md); err != nil {
				t.Fatalf("go-tuf rejects our %s signature: %v", typ, err)
			}
		})
	}
}

func TestEncryptedKeyNeedsPassphrase(t *testing.T) {
	dir := t.TempDir()
	k, _ := Generate(GenEd25519)
	prefix := filepath.Join(dir, "k")
	if err := WriteKeyPair(prefix, k, []byte("s3cret")); err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(prefix + ".key")
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("private key mode %v, want 0600", st.Mode().Perm())
	}
	b, _ := os.ReadFile(prefix + ".key")
	if !strings.Contains(string(b), "ENCRYPTED PRIVATE KEY") {
		t.Fatal("key written without encryption")
	}
	if _, err := LoadPrivate(prefix+".key", nil); err == nil || !strings.Contains(err.Error(), "encrypted") {
		t.Fatalf("no passphrase: want an 'encrypted' error, got %v", err)
	}
	if _, err := LoadPrivate(prefix+".key", []byte("wrong")); err == nil || !strings.Contains(err.Error(), "cannot decrypt") {
		t.Fatalf("wrong passphrase: want 'cannot decrypt', got %v", err)
	}
	got, err := LoadPrivate(prefix+".key", []byte("s3cret"))
	if err != nil {
		t.Fatal(err)
	}
	if got.Public().ID() != k.Public().ID() {
		t.Fatal("decrypted key differs")
	}
	if err := WriteKeyPair(prefix, k, nil); err == nil {
		t.Fatal("overwrote an existing private key")
	}
}

func TestSecuresystemslibExportRoundTrip(t *testing.T) {
	for _, typ := range []string{GenEd25519, GenECDSAP256, GenRSA3072} {
		k, _ := Generate(typ)
		j, err := k.Public().MarshalSecuresystemslib()
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParsePublic(j)
		if err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
		if back.ID() != k.Public().ID() || !back.Equal(k.Public()) {
			t.Fatalf("%s: round trip changed the key", typ)
		}
	}
}

func TestMalformedKeyFilesAreRefusedWithReason(t *testing.T) {
	dir := t.TempDir()
	cases := map[string]struct{ content, want string }{
		"garbage":       {"hello", "neither PEM nor securesystemslib JSON"},
		"bad-json":      {`{"keytype": 3}`, "not a securesystemslib JSON key"},
		"short-ed25519": {`{"keytype":"ed25519","scheme":"ed25519","keyval":{"public":"abcd"}}`, "not 32 hex-encoded bytes"},
		"dsa":           {`{"keytype":"dsa","scheme":"x","keyval":{"public":"abcd"}}`, "unsupported key"},
	}
	for name, c := range cases {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(c.content), 0o644)
		_, err := LoadPublic(p)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: want error naming the file and %q, got %v", name, c.want, err)
		}
	}
	if _, err := LoadPrivate(filepath.Join(vectors, "owner.pub"), nil); err == nil || !strings.Contains(err.Error(), "public key, not a private key") {
		t.Errorf("public file as private key: got %v", err)
	}
	if _, err := LoadPublic(dir); err == nil || !strings.Contains(err.Error(), "directory") {
		t.Errorf("directory as key: got %v", err)
	}
}
