package main

import (
	"crypto/sha256"
	"encoding/asn1"
	"fmt"

	"github.com/miekg/pkcs11"

	"github.com/cnabsec/cnabsec/keys"
)

func hashOf(data []byte) []byte {
	h := sha256.Sum256(data)
	return h[:]
}

// generate creates a key pair on the token under the URI's object label and
// id: the private key is sensitive and never extractable. A key already
// under that name is never replaced.
func (s *session) generate(keyType string) (*keys.PluginResponse, error) {
	if _, err := s.findOne(pkcs11.CKO_PRIVATE_KEY); err == nil {
		return nil, fmt.Errorf("a private key %s is already on the token: refusing to create another", s.keyName())
	}
	mech, pubT, err := generateParams(keyType)
	if err != nil {
		return nil, err
	}
	pubT = append(pubT, s.keyTemplate(pkcs11.CKO_PUBLIC_KEY)...)
	pubT = append(pubT, pkcs11.NewAttribute(pkcs11.CKA_TOKEN, true), pkcs11.NewAttribute(pkcs11.CKA_VERIFY, true))
	privT := append(s.keyTemplate(pkcs11.CKO_PRIVATE_KEY),
		pkcs11.NewAttribute(pkcs11.CKA_TOKEN, true), pkcs11.NewAttribute(pkcs11.CKA_PRIVATE, true),
		pkcs11.NewAttribute(pkcs11.CKA_SIGN, true), pkcs11.NewAttribute(pkcs11.CKA_SENSITIVE, true),
		pkcs11.NewAttribute(pkcs11.CKA_EXTRACTABLE, false))
	if _, _, err := s.ctx.GenerateKeyPair(s.h, []*pkcs11.Mechanism{mech}, pubT, privT); err != nil {
		return nil, fmt.Errorf("generating a %s key pair: %v", keyType, err)
	}
	return s.describe()
}

func generateParams(keyType string) (*pkcs11.Mechanism, []*pkcs11.Attribute, error) {
	switch keyType {
	case keys.GenECDSAP256:
		params, err := asn1.Marshal(oidP256)
		if err != nil {
			return nil, nil, err
		}
		return pkcs11.NewMechanism(pkcs11.CKM_EC_KEY_PAIR_GEN, nil), []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_EC_PARAMS, params)}, nil
	case keys.GenRSA3072:
		return pkcs11.NewMechanism(pkcs11.CKM_RSA_PKCS_KEY_PAIR_GEN, nil), []*pkcs11.Attribute{
			pkcs11.NewAttribute(pkcs11.CKA_MODULUS_BITS, 3072),
			pkcs11.NewAttribute(pkcs11.CKA_PUBLIC_EXPONENT, []byte{1, 0, 1}),
		}, nil
	case keys.GenEd25519, "":
		// CKM_EC_EDWARDS_KEY_PAIR_GEN with the curve named by its printable name.
		params, err := asn1.MarshalWithParams("edwards25519", "printable")
		if err != nil {
			return nil, nil, err
		}
		return pkcs11.NewMechanism(0x1055, nil), []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_EC_PARAMS, params)}, nil
	}
	return nil, nil, fmt.Errorf("key type %q: want ecdsa-p256, rsa-3072 or ed25519", keyType)
}
