package metadata

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"

	"github.com/secure-systems-lab/go-securesystemslib/cjson"
	tuf "github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/keys"
)

// roleSpec is what a delegator says about a role: its key IDs, threshold and
// the keys those IDs name.
type roleSpec struct {
	name      string
	keyIDs    []string
	threshold int
	keys      map[string]*tuf.Key
}

// fingerprint identifies a public key independently of the ID it is listed
// under: the sha256 of its PKIX DER encoding.
func fingerprint(pk *keys.PublicKey) string {
	der, err := x509.MarshalPKIXPublicKey(pk.Crypto())
	if err != nil {
		return "invalid:" + pk.ID()
	}
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])
}

// publicKeys resolves the role's listed keys: key ID → public key. A listed
// ID without a usable key is corrupted metadata.
func (s roleSpec) publicKeys() (map[string]*keys.PublicKey, error) {
	out := make(map[string]*keys.PublicKey, len(s.keyIDs))
	for _, id := range s.keyIDs {
		k, ok := s.keys[id]
		if !ok || k == nil {
			return nil, fmt.Errorf("role %s lists key ID %s but no such key is defined", s.name, id)
		}
		pk, err := keys.FromTUFKey(k)
		if err != nil {
			return nil, fmt.Errorf("role %s: key %s: %w", s.name, id, err)
		}
		out[id] = pk
	}
	return out, nil
}

// sigCheck is the outcome of checking one role's signatures.
type sigCheck struct {
	Signed  []string // listed key IDs whose signature verifies
	Missing []string // listed key IDs without a valid signature
	Valid   int      // unique public keys with a valid signature
}

func (c sigCheck) meets(threshold int) bool { return threshold >= 1 && c.Valid >= threshold }

// checkSignatures verifies sigs over the canonical form of signed against the
// role's keys, counting each public key once however many IDs list it or
// however many times it signed.
func checkSignatures(spec roleSpec, signed any, sigs []tuf.Signature) (sigCheck, error) {
	payload, err := cjson.EncodeCanonical(signed)
	if err != nil {
		return sigCheck{}, err
	}
	return checkPayload(spec, payload, sigs)
}

func checkPayload(spec roleSpec, payload []byte, sigs []tuf.Signature) (sigCheck, error) {
	pks, err := spec.publicKeys()
	if err != nil {
		return sigCheck{}, err
	}
	var c sigCheck
	valid := map[string]bool{}
	ids := append([]string(nil), spec.keyIDs...)
	sort.Strings(ids)
	for i, id := range ids {
		if i > 0 && ids[i-1] == id {
			continue
		}
		pk := pks[id]
		ok := false
		for _, sig := range sigs {
			if sig.KeyID == id && pk.Verify(payload, sig.Signature) == nil {
				ok = true
				break
			}
		}
		if ok {
			c.Signed = append(c.Signed, id)
			valid[fingerprint(pk)] = true
		} else {
			c.Missing = append(c.Missing, id)
		}
	}
	c.Valid = len(valid)
	return c, nil
}

// listedID returns the key ID under which the role lists s's public key.
func (s roleSpec) listedID(pub *keys.PublicKey) (string, bool) {
	pks, err := s.publicKeys()
	if err != nil {
		return "", false
	}
	if pk, ok := pks[pub.ID()]; ok && pk.Equal(pub) {
		return pub.ID(), true
	}
	ids := make([]string, 0, len(pks))
	for id := range pks {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		if pks[id].Equal(pub) {
			return id, true
		}
	}
	return "", false
}

// addSignature signs the canonical form of signed with s under the key ID the
// role lists it with, replacing an earlier signature under that ID (go-tuf
// refuses metadata with two signatures under one key ID).
func addSignature(ctx context.Context, spec roleSpec, signed any, sigs *[]tuf.Signature, s keys.Signer) error {
	payload, err := cjson.EncodeCanonical(signed)
	if err != nil {
		return err
	}
	return addSignaturePayload(ctx, spec, payload, sigs, s)
}

// addSignaturePayload is addSignature over an already canonical payload.
func addSignaturePayload(ctx context.Context, spec roleSpec, payload []byte, sigs *[]tuf.Signature, s keys.Signer) error {
	id, ok := spec.listedID(s.Public())
	if !ok {
		return notRoleKey(spec, s.Public())
	}
	raw, err := s.Sign(ctx, payload)
	if err != nil {
		return fmt.Errorf("signing role %s with key %s: %w", spec.name, s.Public().ID(), err)
	}
	if err := s.Public().Verify(payload, raw); err != nil {
		return fmt.Errorf("signing role %s with key %s: the signer produced an invalid signature: %w", spec.name, s.Public().ID(), err)
	}
	out := (*sigs)[:0:0]
	for _, sig := range *sigs {
		if sig.KeyID != id {
			out = append(out, sig)
		}
	}
	*sigs = append(out, tuf.Signature{KeyID: id, Signature: raw})
	return nil
}

func notRoleKey(spec roleSpec, pub *keys.PublicKey) error {
	return fault.Inputf("key %s is not a key of role %s (its keys: %s)", pub.ID(), spec.name, strings.Join(spec.keyIDs, ", "))
}

// isRoleKey reports whether pub is one of the role's keys (under any ID).
func (s roleSpec) isRoleKey(pub *keys.PublicKey) bool {
	_, ok := s.listedID(pub)
	return ok
}

// signRole signs a targets-like role with s.
func signRole(ctx context.Context, spec roleSpec, r *targetsRole, s keys.Signer) error {
	payload, err := r.canonical()
	if err != nil {
		return err
	}
	r.file = nil
	return addSignaturePayload(ctx, spec, payload, &r.md.Signatures, s)
}

// checkRole checks a targets-like role's signatures.
func checkRole(spec roleSpec, r *targetsRole) (sigCheck, error) {
	payload, err := r.canonical()
	if err != nil {
		return sigCheck{}, err
	}
	return checkPayload(spec, payload, r.md.Signatures)
}
