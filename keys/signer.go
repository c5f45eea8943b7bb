package keys

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"fmt"
)

// Signer signs with one key. It is small on purpose: a KMS or PKCS#11 signer
// implements it without touching callers.
type Signer interface {
	// Public returns the public half, whose ID() is the signature's key ID.
	Public() *PublicKey
	// Sign returns the signature of data in the key's scheme (ed25519 raw,
	// ecdsa ASN.1 DER over sha256, RSASSA-PSS sha256 with a 32-byte salt).
	Sign(ctx context.Context, data []byte) ([]byte, error)
}

// PrivateKey is a Signer backed by a key in memory.
type PrivateKey struct {
	pub *PublicKey
	key crypto.Signer
}

// Key types accepted by Generate.
const (
	GenEd25519   = "ed25519"
	GenECDSAP256 = "ecdsa-p256"
	GenRSA3072   = "rsa-3072"
)

// Generate creates a new key of the given type (GenEd25519, GenECDSAP256, GenRSA3072).
func Generate(typ string) (*PrivateKey, error) {
	var (
		k   crypto.Signer
		err error
	)
	switch typ {
	case GenEd25519, "":
		_, k, err = ed25519.GenerateKey(rand.Reader)
	case GenECDSAP256:
		k, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case GenRSA3072:
		k, err = rsa.GenerateKey(rand.Reader, 3072)
	default:
		return nil, fmt.Errorf("%w: key type %q (want ed25519, ecdsa-p256 or rsa-3072)", ErrUnsupportedKey, typ)
	}
	if err != nil {
		return nil, err
	}
	return NewPrivateKey(k)
}

// NewPrivateKey wraps a crypto.Signer of a supported type.
func NewPrivateKey(k crypto.Signer) (*PrivateKey, error) {
	pub, err := NewPublicKey(k.Public())
	if err != nil {
		return nil, err
	}
	return &PrivateKey{pub: pub, key: k}, nil
}

// Public returns the public key.
func (p *PrivateKey) Public() *PublicKey { return p.pub }

// Crypto returns the crypto.Signer.
func (p *PrivateKey) Crypto() crypto.Signer { return p.key }

// Sign signs data with the key's scheme.
func (p *PrivateKey) Sign(_ context.Context, data []byte) ([]byte, error) {
	switch k := p.key.(type) {
	case ed25519.PrivateKey:
		return ed25519.Sign(k, data), nil
	case *ecdsa.PrivateKey:
		h := sha256.Sum256(data)
		return ecdsa.SignASN1(rand.Reader, k, h[:])
	case *rsa.PrivateKey:
		h := sha256.Sum256(data)
		return rsa.SignPSS(rand.Reader, k, crypto.SHA256, h[:], &rsa.PSSOptions{SaltLength: sha256.Size, Hash: crypto.SHA256})
	}
	return nil, ErrUnsupportedKey
}
