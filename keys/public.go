package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"

	"github.com/cnabsec/cnabsec/internal/olpcjson"
)

// Key types and signature schemes as securesystemslib names them.
const (
	TypeEd25519   = "ed25519"
	TypeECDSA     = "ecdsa"
	TypeRSA       = "rsa"
	SchemeEd25519 = "ed25519"
	SchemeECDSA   = "ecdsa-sha2-nistp256"
	SchemeRSAPSS  = "rsassa-pss-sha256"
)

// HashAlgorithms are the keyid_hash_algorithms every key is listed with.
var HashAlgorithms = []string{"sha256", "sha512"}

// ErrUnsupportedKey is returned for key types or curves other than ed25519,
// ecdsa P-256 and RSA (2048 bits or more).
var ErrUnsupportedKey = errors.New("unsupported key")

// PublicKey is a public key with the fields TUF and in-toto list it under.
type PublicKey struct {
	Type   string // securesystemslib keytype: ed25519, ecdsa, rsa
	Scheme string // signature scheme
	// Value is keyval.public: hex for ed25519, PKIX PEM for ecdsa and RSA.
	Value string
	key   crypto.PublicKey
	id    string
}

// NewPublicKey wraps a crypto public key.
func NewPublicKey(pub crypto.PublicKey) (*PublicKey, error) {
	k := &PublicKey{key: pub}
	switch p := pub.(type) {
	case ed25519.PublicKey:
		k.Type, k.Scheme, k.Value = TypeEd25519, SchemeEd25519, hex.EncodeToString(p)
	case *ecdsa.PublicKey:
		if p.Curve != elliptic.P256() {
			return nil, fmt.Errorf("%w: ecdsa curve %s (want P-256)", ErrUnsupportedKey, p.Curve.Params().Name)
		}
		k.Type, k.Scheme = TypeECDSA, SchemeECDSA
	case *rsa.PublicKey:
		if p.N.BitLen() < 2048 {
			return nil, fmt.Errorf("%w: RSA key of %d bits (want 2048 or more)", ErrUnsupportedKey, p.N.BitLen())
		}
		k.Type, k.Scheme = TypeRSA, SchemeRSAPSS
	default:
		return nil, fmt.Errorf("%w: %T", ErrUnsupportedKey, pub)
	}
	if k.Type != TypeEd25519 {
		der, err := x509.MarshalPKIXPublicKey(pub)
		if err != nil {
			return nil, err
		}
		k.Value = strings.TrimSpace(string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})))
	}
	return k, k.computeID()
}

func (k *PublicKey) computeID() error {
	b, err := olpcjson.Encode(map[string]any{
		"keyid_hash_algorithms": HashAlgorithms,
		"keytype":               k.Type,
		"keyval":                map[string]string{"public": k.Value},
		"scheme":                k.Scheme,
	})
	if err != nil {
		return err
	}
	sum := sha256.Sum256(b)
	k.id = hex.EncodeToString(sum[:])
	return nil
}

// ID is the key ID shared by TUF and in-toto.
func (k *PublicKey) ID() string { return k.id }

// Crypto returns the crypto.PublicKey.
func (k *PublicKey) Crypto() crypto.PublicKey { return k.key }

// Equal reports whether two keys are the same public key, whatever their IDs.
func (k *PublicKey) Equal(o *PublicKey) bool {
	type equaler interface{ Equal(crypto.PublicKey) bool }
	e, ok := k.key.(equaler)
	return ok && o != nil && e.Equal(o.key)
}

// PEM returns the PKIX PEM encoding of the key.
func (k *PublicKey) PEM() ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(k.key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// Verify checks sig over data with the key's scheme.
func (k *PublicKey) Verify(data, sig []byte) error {
	switch p := k.key.(type) {
	case ed25519.PublicKey:
		if !ed25519.Verify(p, data, sig) {
			return errors.New("ed25519 signature does not verify")
		}
		return nil
	case *ecdsa.PublicKey:
		h := sha256.Sum256(data)
		if !ecdsa.VerifyASN1(p, h[:], sig) {
			return errors.New("ecdsa signature does not verify")
		}
		return nil
	case *rsa.PublicKey:
		h := sha256.Sum256(data)
		if err := verifyRSAPSSSHA256(p, h[:], sig); err != nil {
			return fmt.Errorf("rsassa-pss signature does not verify: %w", err)
		}
		return nil
	}
	return ErrUnsupportedKey
}
