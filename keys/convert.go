package keys

import (
	"context"
	"encoding/hex"

	"github.com/in-toto/in-toto-golang/in_toto"
	"github.com/theupdateframework/go-tuf/v2/metadata"
)

// TUFKey returns the key as go-tuf lists it, with keyid_hash_algorithms so that
// go-tuf's computed key ID equals ID() (one key ID everywhere: see the package doc).
func (k *PublicKey) TUFKey() *metadata.Key {
	return &metadata.Key{
		Type:               k.Type,
		Scheme:             k.Scheme,
		Value:              metadata.KeyVal{PublicKey: k.Value},
		UnrecognizedFields: map[string]any{"keyid_hash_algorithms": []any{"sha256", "sha512"}},
	}
}

// InTotoKey returns the key as in-toto-golang lists it in layouts.
func (k *PublicKey) InTotoKey() in_toto.Key {
	return in_toto.Key{
		KeyID:               k.id,
		KeyIDHashAlgorithms: append([]string(nil), HashAlgorithms...),
		KeyType:             k.Type,
		KeyVal:              in_toto.KeyVal{Public: k.Value},
		Scheme:              k.Scheme,
	}
}

// FromTUFKey converts a key listed in TUF metadata.
func FromTUFKey(k *metadata.Key) (*PublicKey, error) {
	j := sslibKey{KeyType: k.Type, Scheme: k.Scheme}
	j.KeyVal.Public = k.Value.PublicKey
	return publicFromSSLib(&j)
}

// FromInTotoKey converts a key listed in an in-toto layout.
func FromInTotoKey(k in_toto.Key) (*PublicKey, error) {
	j := sslibKey{KeyType: k.KeyType, Scheme: k.Scheme}
	j.KeyVal.Public = k.KeyVal.Public
	return publicFromSSLib(&j)
}

// SignHex signs data and returns the hex signature TUF and in-toto store.
func SignHex(ctx context.Context, s Signer, data []byte) (string, error) {
	sig, err := s.Sign(ctx, data)
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(sig), nil
}
