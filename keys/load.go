package keys

import (
	"crypto"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/youmark/pkcs8"
)

// ErrPassphrase is returned when an encrypted key needs a passphrase that was
// not given, or the passphrase is wrong.
var ErrPassphrase = errors.New("passphrase required or wrong")

// maxKeyFile bounds key files: no key is anywhere near this large.
const maxKeyFile = 64 << 10

// sslibKey is securesystemslib's JSON key form, as python in-toto writes it.
type sslibKey struct {
	KeyID               string   `json:"keyid,omitempty"`
	KeyIDHashAlgorithms []string `json:"keyid_hash_algorithms,omitempty"`
	KeyType             string   `json:"keytype"`
	KeyVal              struct {
		Public  string `json:"public"`
		Private string `json:"private,omitempty"`
	} `json:"keyval"`
	Scheme string `json:"scheme"`
}

func readKeyFile(path string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		return nil, fmt.Errorf("%s: is a directory, not a key file", path)
	}
	if st.Size() > maxKeyFile {
		return nil, fmt.Errorf("%s: %d bytes is too large for a key file", path, st.Size())
	}
	return os.ReadFile(path)
}

// LoadPublic reads a public key from a file: PKIX PEM, securesystemslib JSON,
// or a private key file (its public half; an encrypted one needs no passphrase
// only when it is not encrypted).
func LoadPublic(path string) (*PublicKey, error) {
	b, err := readKeyFile(path)
	if err != nil {
		return nil, err
	}
	k, err := ParsePublic(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

// ParsePublic parses a public key in any accepted form.
func ParsePublic(b []byte) (*PublicKey, error) {
	if isJSON(b) {
		var j sslibKey
		if err := json.Unmarshal(b, &j); err != nil {
			return nil, fmt.Errorf("not a securesystemslib JSON key: %w", err)
		}
		return publicFromSSLib(&j)
	}
	if looksSSLibEncrypted(b) {
		return nil, errors.New("an encrypted securesystemslib private key: its public key is in the .pub file written with it")
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, errors.New("neither PEM nor securesystemslib JSON")
	}
	switch block.Type {
	case "PUBLIC KEY":
		pub, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("PKIX public key: %w", err)
		}
		return NewPublicKey(pub)
	case "RSA PUBLIC KEY":
		pub, err := x509.ParsePKCS1PublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("PKCS#1 public key: %w", err)
		}
		return NewPublicKey(pub)
	}
	priv, err := ParsePrivate(b, nil)
	if err != nil {
		return nil, err
	}
	return priv.Public(), nil
}

func publicFromSSLib(j *sslibKey) (*PublicKey, error) {
	switch j.KeyType {
	case TypeEd25519:
		raw, err := hex.DecodeString(j.KeyVal.Public)
		if err != nil || len(raw) != ed25519.PublicKeySize {
			return nil, errors.New("ed25519 keyval.public is not 32 hex-encoded bytes")
		}
		return NewPublicKey(ed25519.PublicKey(raw))
	case TypeECDSA, "ecdsa-sha2-nistp256", TypeRSA:
		k, err := ParsePublic([]byte(j.KeyVal.Public))
		if err != nil {
			return nil, fmt.Errorf("keyval.public: %w", err)
		}
		return k, nil
	}
	return nil, fmt.Errorf("%w: keytype %q", ErrUnsupportedKey, j.KeyType)
}

// LoadPrivate reads a private key file: PKCS#8 PEM (optionally encrypted),
// PKCS#1/SEC 1 PEM, or securesystemslib JSON (ed25519).
func LoadPrivate(path string, passphrase []byte) (*PrivateKey, error) {
	b, err := readKeyFile(path)
	if err != nil {
		return nil, err
	}
	k, err := ParsePrivate(b, passphrase)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

// ParsePrivate parses a private key in any accepted form: PEM (PKCS#8,
// encrypted PKCS#8, PKCS#1, SEC 1, OpenSSL traditional encrypted PEM) or
// securesystemslib JSON, plain or in securesystemslib's encrypted form.
func ParsePrivate(b []byte, passphrase []byte) (*PrivateKey, error) {
	if looksSSLibEncrypted(b) {
		plain, err := decryptSSLib(b, passphrase)
		if err != nil {
			return nil, err
		}
		return parseSSLibPrivate(plain)
	}
	if isJSON(b) {
		return parseSSLibPrivate(b)
	}
	return parsePEMPrivate(b, passphrase)
}

// parseSSLibPrivate parses a securesystemslib JSON private key: an ed25519
// hex seed, or an unencrypted PEM private key (ecdsa, rsa).
func parseSSLibPrivate(b []byte) (*PrivateKey, error) {
	var j sslibKey
	if err := json.Unmarshal(b, &j); err != nil {
		return nil, fmt.Errorf("not a securesystemslib JSON key: %w", err)
	}
	if j.KeyVal.Private == "" {
		return nil, errors.New("a public key, not a private key")
	}
	if j.KeyType != TypeEd25519 {
		return parsePEMPrivate([]byte(j.KeyVal.Private), nil)
	}
	seed, err := hex.DecodeString(j.KeyVal.Private)
	if err != nil || len(seed) != ed25519.SeedSize {
		return nil, errors.New("ed25519 keyval.private is not a 32-byte hex seed")
	}
	return NewPrivateKey(ed25519.NewKeyFromSeed(seed))
}

func parsePEMPrivate(b []byte, passphrase []byte) (*PrivateKey, error) {
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, errors.New("neither PEM nor securesystemslib JSON")
	}
	key, err := pemPrivateKey(block, passphrase)
	if err != nil {
		return nil, err
	}
	s, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%w: %T", ErrUnsupportedKey, key)
	}
	return NewPrivateKey(s)
}

func pemPrivateKey(block *pem.Block, passphrase []byte) (any, error) {
	switch {
	case isLegacyEncrypted(block):
		der, err := decryptLegacyPEM(block, passphrase)
		if err != nil {
			return nil, err
		}
		return parseLegacyDER(block.Type, der)
	case block.Type == "ENCRYPTED PRIVATE KEY":
		if len(passphrase) == 0 {
			return nil, fmt.Errorf("%w: the key is encrypted", ErrPassphrase)
		}
		key, err := pkcs8.ParsePKCS8PrivateKey(block.Bytes, passphrase)
		if err != nil {
			return nil, fmt.Errorf("%w: cannot decrypt the key", ErrPassphrase)
		}
		return key, nil
	}
	return plainPEMKey(block)
}

// plainPEMKey parses an unencrypted PEM private key.
func plainPEMKey(block *pem.Block) (any, error) {
	var (
		key any
		err error
	)
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	case "PUBLIC KEY", "RSA PUBLIC KEY":
		return nil, errors.New("a public key, not a private key")
	default:
		return nil, fmt.Errorf("unexpected PEM block %q", block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", block.Type, err)
	}
	return key, nil
}

func isJSON(b []byte) bool {
	return strings.HasPrefix(strings.TrimSpace(string(b[:min(len(b), 64)])), "{")
}
