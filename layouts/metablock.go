package layouts

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"reflect"
	"sort"
	"strings"

	"github.com/in-toto/in-toto-golang/in_toto"
	"github.com/secure-systems-lab/go-securesystemslib/cjson"

	"github.com/cnabsec/cnabsec/keys"
)

// MaxMetadataSize caps one layout or link file. A link recording 100,000
// artifacts is about 12 MiB.
const MaxMetadataSize = 64 << 20

// expiresFormat is how in-toto (both implementations) writes "expires".
const expiresFormat = in_toto.ISO8601DateSchema

// envelope is a parsed classic in-toto Metablock: the typed payload, the
// canonical bytes its signatures cover, and the signatures.
type envelope struct {
	canonical []byte
	sigs      []in_toto.Signature
	layout    *in_toto.Layout // exactly one of layout and link is set
	link      *in_toto.Link
}

// parseEnvelope parses a classic Metablock from bytes. The typed payload is
// guaranteed to say exactly what the signed bytes say: a payload with members
// in-toto does not define, differently cased or duplicated member names, or
// numbers that are not integers is refused, so nothing can be signed in one
// shape and interpreted in another.
func parseEnvelope(b []byte) (*envelope, error) {
	if len(b) > MaxMetadataSize {
		return nil, fmt.Errorf("%d bytes exceeds the limit of %d bytes", len(b), MaxMetadataSize)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(b, &top); err != nil {
		return nil, fmt.Errorf("not a JSON object: %v", err)
	}
	if _, ok := top["payloadType"]; ok {
		return nil, errors.New(`a DSSE envelope: only classic in-toto metadata ({"signed": ..., "signatures": ...}) is supported`)
	}
	for k := range top {
		if k != "signed" && k != "signatures" {
			return nil, fmt.Errorf("unexpected top-level member %q (want only \"signed\" and \"signatures\")", k)
		}
	}
	signed, sigsRaw := top["signed"], top["signatures"]
	if isNull(signed) || isNull(sigsRaw) {
		return nil, errors.New(`missing "signed" or "signatures"`)
	}
	env := &envelope{}
	if err := strictDecode(sigsRaw, &env.sigs); err != nil {
		return nil, fmt.Errorf("signatures: %v", err)
	}
	for i, s := range env.sigs {
		if !isHex(s.KeyID) || !isHex(s.Sig) {
			return nil, fmt.Errorf("signature %d: keyid and sig must be hex", i)
		}
	}
	generic, err := decodeGeneric(signed)
	if err != nil {
		return nil, fmt.Errorf("signed: %v", err)
	}
	obj, ok := generic.(map[string]any)
	if !ok {
		return nil, errors.New("signed: not a JSON object")
	}
	if env.canonical, err = cjson.EncodeCanonical(json.RawMessage(signed)); err != nil {
		return nil, fmt.Errorf("signed: cannot be canonicalized: %v", err)
	}
	var typed any
	switch t, _ := obj["_type"].(string); t {
	case "layout":
		env.layout = &in_toto.Layout{}
		typed = env.layout
		dropEmptyPrivateKeyvals(obj)
	case "link":
		env.link = &in_toto.Link{}
		typed = env.link
	default:
		return nil, fmt.Errorf("signed: _type %q is neither \"layout\" nor \"link\"", obj["_type"])
	}
	if err := strictDecode(signed, typed); err != nil {
		return nil, fmt.Errorf("signed %s: %v", obj["_type"], err)
	}
	back, err := json.Marshal(typed)
	if err != nil {
		return nil, err
	}
	round, err := decodeGeneric(back)
	if err != nil {
		return nil, err
	}
	if d := firstDiff(obj, round, "signed"); d != "" {
		return nil, fmt.Errorf("%s: not in-toto's %s format (missing, unknown, duplicated or differently cased member)", d, obj["_type"])
	}
	return env, nil
}

// dropEmptyPrivateKeyvals removes "private": "" from the keys of a layout
// object, as python in-toto lists RSA public keys; in-toto-golang omits it.
func dropEmptyPrivateKeyvals(layout map[string]any) {
	ks, _ := layout["keys"].(map[string]any)
	for _, k := range ks {
		kv, _ := k.(map[string]any)
		if v, _ := kv["keyval"].(map[string]any); v != nil {
			if p, ok := v["private"].(string); ok && p == "" {
				delete(v, "private")
			}
		}
	}
}

func isNull(r json.RawMessage) bool {
	return len(r) == 0 || string(bytes.TrimSpace(r)) == "null"
}

func strictDecode(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data")
	}
	return nil
}

func decodeGeneric(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

// firstDiff returns the path of the first difference between two decoded
// JSON values, or "" when they are equal. A missing member and null differ.
func firstDiff(a, b any, at string) string {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok {
			return at
		}
		names := make([]string, 0, len(x)+len(y))
		for k := range x {
			names = append(names, k)
		}
		for k := range y {
			if _, ok := x[k]; !ok {
				names = append(names, k)
			}
		}
		sort.Strings(names)
		for _, k := range names {
			va, oka := x[k]
			vb, okb := y[k]
			if oka != okb {
				return at + "." + k
			}
			if d := firstDiff(va, vb, at+"."+k); d != "" {
				return d
			}
		}
		return ""
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return at
		}
		for i := range x {
			if d := firstDiff(x[i], y[i], fmt.Sprintf("%s[%d]", at, i)); d != "" {
				return d
			}
		}
		return ""
	case json.Number:
		y, ok := b.(json.Number)
		if !ok {
			return at
		}
		if x.String() == y.String() {
			return ""
		}
		// 1 and 1.0 decode to the same Go value; anything else differs.
		fx, errx := x.Float64()
		fy, erry := y.Float64()
		if errx != nil || erry != nil || fx != fy {
			return at
		}
		return ""
	}
	if !reflect.DeepEqual(a, b) {
		return at
	}
	return ""
}

func isHex(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// checkArtifactPath refuses artifact names that are absolute, contain "..",
// or are not in their cleaned form: two such names can alias one file, and a
// rule written for one then judges the other.
func checkArtifactPath(p string) error {
	if p == "" || p == "." || strings.HasPrefix(p, "/") || path.Clean(p) != p ||
		p == ".." || strings.HasPrefix(p, "../") || strings.Contains(p, "\x00") {
		return fmt.Errorf("artifact path %q is not a clean relative path (absolute, '..', '.' or unnormalized segments are refused)", p)
	}
	return nil
}

// listedKeyID computes the in-toto key ID of a key as a layout lists it.
func listedKeyID(k in_toto.Key) (string, error) {
	algs := k.KeyIDHashAlgorithms
	if algs == nil {
		algs = keys.HashAlgorithms
	}
	b, err := cjson.EncodeCanonical(map[string]any{
		"keyid_hash_algorithms": algs,
		"keytype":               k.KeyType,
		"keyval":                map[string]string{"public": k.KeyVal.Public},
		"scheme":                k.Scheme,
	})
	if err != nil {
		return "", err
	}
	return sha256Hex(b), nil
}

// signMetablock appends one signature per signer over the canonical JSON of
// mb.Signed, as in_toto.Metablock.Sign does, and checks each signature.
func signMetablock(ctx context.Context, mb *in_toto.Metablock, signers []keys.Signer) error {
	payload, err := mb.GetSignableRepresentation()
	if err != nil {
		return err
	}
	for _, s := range signers {
		pub := s.Public()
		sig, err := s.Sign(ctx, payload)
		if err != nil {
			return fmt.Errorf("signing with key %s: %w", pub.ID(), err)
		}
		if err := pub.Verify(payload, sig); err != nil {
			return fmt.Errorf("key %s produced a signature that does not verify: %w", pub.ID(), err)
		}
		mb.Signatures = append(mb.Signatures, in_toto.Signature{KeyID: pub.ID(), Sig: hex.EncodeToString(sig)})
	}
	return nil
}

// Marshal encodes a Metablock as in-toto writes it to a file.
func Marshal(mb *in_toto.Metablock) ([]byte, error) {
	b, err := json.MarshalIndent(mb, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
