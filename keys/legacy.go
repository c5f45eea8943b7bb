package keys

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Two encrypted key forms python tools write besides PKCS#8:
//
//   - securesystemslib's own encrypted key (what in-toto-keygen -p and
//     securesystemslib's interface write for ed25519 and ecdsa keys):
//     hex(salt) @@@@ iterations @@@@ hex(HMAC-SHA256(key, ciphertext)) @@@@
//     hex(iv) @@@@ hex(ciphertext), where key is PBKDF2-HMAC-SHA256 of the
//     passphrase (32 bytes) and ciphertext is the JSON key under AES-256-CTR;
//   - the OpenSSL "traditional" encrypted PEM (Proc-Type: 4,ENCRYPTED and
//     DEK-Info headers; what they write for RSA keys).

// MaxKDFIterations bounds the PBKDF2 iterations a securesystemslib encrypted
// key may ask for (securesystemslib writes 100000): a file naming more would
// make cnabsec spin for minutes before saying anything.
const MaxKDFIterations = 10_000_000

const sslibDelimiter = "@@@@"

// sslibEncrypted is a parsed securesystemslib encrypted key.
type sslibEncrypted struct {
	salt, mac, iv, ciphertext []byte
	iterations                int
}

// looksSSLibEncrypted reports whether b has the shape of a securesystemslib
// encrypted key (five @@@@-separated fields, the second a number).
func looksSSLibEncrypted(b []byte) bool {
	f := strings.Split(strings.TrimSpace(string(b)), sslibDelimiter)
	if len(f) != 5 {
		return false
	}
	_, err := strconv.Atoi(f[1])
	return err == nil
}

func parseSSLibEncrypted(b []byte) (*sslibEncrypted, error) {
	f := strings.Split(strings.TrimSpace(string(b)), sslibDelimiter)
	if len(f) != 5 {
		return nil, errors.New("securesystemslib encrypted key: want 5 fields separated by @@@@")
	}
	n, err := strconv.Atoi(f[1])
	if err != nil || n < 1 {
		return nil, fmt.Errorf("securesystemslib encrypted key: iterations %q is not a positive number", printable(f[1]))
	}
	if n > MaxKDFIterations {
		return nil, fmt.Errorf("securesystemslib encrypted key: %d PBKDF2 iterations is more than cnabsec accepts (%d)", n, MaxKDFIterations)
	}
	e := &sslibEncrypted{iterations: n}
	for _, p := range []struct {
		dst  *[]byte
		hex  string
		name string
		size int // 0: any non-empty length
	}{{&e.salt, f[0], "salt", 0}, {&e.mac, f[2], "hmac", sha256.Size}, {&e.iv, f[3], "iv", aes.BlockSize}, {&e.ciphertext, f[4], "ciphertext", 0}} {
		v, err := hex.DecodeString(p.hex)
		if err != nil || len(v) == 0 || (p.size != 0 && len(v) != p.size) {
			return nil, fmt.Errorf("securesystemslib encrypted key: the %s field is not valid hex of the right length", p.name)
		}
		*p.dst = v
	}
	return e, nil
}

// decryptSSLib decrypts a securesystemslib encrypted key and returns the JSON
// key it holds. A wrong passphrase fails the HMAC: ErrPassphrase.
func decryptSSLib(b, passphrase []byte) ([]byte, error) {
	e, err := parseSSLibEncrypted(b)
	if err != nil {
		return nil, err
	}
	if len(passphrase) == 0 {
		return nil, fmt.Errorf("%w: the key is encrypted (securesystemslib format)", ErrPassphrase)
	}
	key, err := pbkdf2.Key(sha256.New, string(passphrase), e.salt, e.iterations, 32)
	if err != nil {
		return nil, fmt.Errorf("securesystemslib encrypted key: %w", err)
	}
	m := hmac.New(sha256.New, key)
	m.Write(e.ciphertext)
	if !hmac.Equal(m.Sum(nil), e.mac) {
		return nil, fmt.Errorf("%w: cannot decrypt the key (securesystemslib format: the HMAC does not match)", ErrPassphrase)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	plain := make([]byte, len(e.ciphertext))
	cipher.NewCTR(block, e.iv).XORKeyStream(plain, e.ciphertext)
	if !isJSON(plain) {
		return nil, errors.New("securesystemslib encrypted key: the decrypted key is not a JSON key")
	}
	return plain, nil
}

// decryptLegacyPEM decrypts an OpenSSL traditional encrypted PEM block
// (Proc-Type: 4,ENCRYPTED) and returns the DER it holds. The format has no
// integrity check: a wrong passphrase shows as bad padding or, rarely, as
// DER that does not parse, and both are reported as ErrPassphrase.
func decryptLegacyPEM(block *pem.Block, passphrase []byte) ([]byte, error) {
	if len(passphrase) == 0 {
		return nil, fmt.Errorf("%w: the key is encrypted (OpenSSL PEM encryption, %s)", ErrPassphrase, printable(block.Headers["DEK-Info"]))
	}
	//lint:ignore SA1019 reads the encrypted PEM python tools write for RSA keys; the DER is parsed and the key checked after
	der, err := x509.DecryptPEMBlock(block, passphrase)
	if errors.Is(err, x509.IncorrectPasswordError) {
		return nil, fmt.Errorf("%w: cannot decrypt the key (OpenSSL PEM encryption)", ErrPassphrase)
	}
	if err != nil {
		return nil, fmt.Errorf("OpenSSL encrypted PEM: %w", err)
	}
	return der, nil
}

// isLegacyEncrypted reports whether a PEM block uses OpenSSL's traditional
// encryption headers.
func isLegacyEncrypted(block *pem.Block) bool {
	return block.Headers["Proc-Type"] == "4,ENCRYPTED"
}

// parseLegacyDER parses the DER of a decrypted traditional PEM block; DER
// that does not parse after decryption means a wrong passphrase.
func parseLegacyDER(typ string, der []byte) (any, error) {
	var (
		key any
		err error
	)
	switch typ {
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(der)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(der)
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(der)
	default:
		return nil, fmt.Errorf("unexpected encrypted PEM block %q", typ)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: cannot decrypt the key (OpenSSL PEM encryption: the decrypted %s does not parse)", ErrPassphrase, typ)
	}
	return key, nil
}
