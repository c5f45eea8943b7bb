package layouts

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"

	"github.com/in-toto/in-toto-golang/in_toto"

	"github.com/cnabsec/cnabsec/internal/olpcjson"
	"github.com/cnabsec/cnabsec/keys"
)

// MaxMetadataSize caps one layout or link file. A link recording 100,000
// artifacts is about 12 MiB. Parsing takes several times a file's size in
// memory (four times for long strings, far more for tiny values, which
// DefaultMaxJSONValues bounds): 16 MiB keeps one verification of hostile
// metadata under 128 MiB.
const MaxMetadataSize = 16 << 20

// expiresFormat is how in-toto (both implementations) writes "expires".
const expiresFormat = in_toto.ISO8601DateSchema

// envelope is a parsed classic in-toto Metablock: the typed payload, the
// canonical bytes its signatures cover, and the signatures.
type envelope struct {
	canonical []byte
	sigs      []in_toto.Signature
	layout    *in_toto.Layout // exactly one of layout and link is set
	link      *in_toto.Link
	// artifactErr is the first artifact of the link whose name is not a
	// clean relative path or whose hash is not hex. It is reported only
	// once the link's signature is known, so that a functionary's bad link
	// fails its step rather than being ignored.
	artifactErr error
}

// parseEnvelope parses a classic Metablock from bytes. The typed payload is
// guaranteed to say exactly what the signed bytes say: a payload with members
// in-toto does not define, differently cased member names, missing members or
// numbers that are not integers is refused, so nothing can be signed in one
// shape and interpreted in another. The bytes are decoded once; the canonical
// form the signatures cover is encoded from that decoding.
func parseEnvelope(b []byte) (*envelope, error) {
	if len(b) > MaxMetadataSize {
		return nil, fmt.Errorf("%d bytes exceeds the limit of %d bytes", len(b), MaxMetadataSize)
	}
	doc, err := decodeGeneric(b)
	if err != nil {
		return nil, fmt.Errorf("not JSON: %v", err)
	}
	top, ok := doc.(map[string]any)
	if !ok {
		return nil, errors.New("not a JSON object")
	}
	if _, ok := top["payloadType"]; ok {
		return nil, errors.New(`a DSSE envelope: only classic in-toto metadata ({"signed": ..., "signatures": ...}) is supported`)
	}
	if k, ok := firstUnknown(top, []string{"signed", "signatures"}, nil); ok {
		return nil, fmt.Errorf("unexpected top-level member %q (want only \"signed\" and \"signatures\")", k)
	}
	if top["signed"] == nil || top["signatures"] == nil {
		return nil, errors.New(`missing "signed" or "signatures"`)
	}
	env := &envelope{}
	if env.sigs, err = signaturesFrom(top["signatures"]); err != nil {
		return nil, err
	}
	obj, ok := top["signed"].(map[string]any)
	if !ok {
		return nil, errors.New("signed: not a JSON object")
	}
	if env.canonical, err = olpcjson.EncodeValue(obj, len(b)); err != nil {
		return nil, fmt.Errorf("signed: cannot be canonicalized: %v", err)
	}
	switch t, _ := obj["_type"].(string); t {
	case "layout":
		if env.layout, err = layoutFrom(obj); err != nil {
			return nil, err
		}
	case "link":
		if env.link, env.artifactErr, err = linkFrom(obj); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("signed: _type %v is neither \"layout\" nor \"link\"", obj["_type"])
	}
	return env, nil
}

func signaturesFrom(v any) ([]in_toto.Signature, error) {
	list, ok := v.([]any)
	if !ok {
		return nil, errors.New("signatures: not a list")
	}
	out := make([]in_toto.Signature, 0, len(list))
	for i, e := range list {
		o, err := object(e, fmt.Sprintf("signatures[%d]", i), []string{"keyid", "sig"}, "cert")
		if err != nil {
			return nil, err
		}
		keyID, ok1 := o["keyid"].(string)
		sig, ok2 := o["sig"].(string)
		if !ok1 || !ok2 || !isHex(keyID) || !isHex(sig) {
			return nil, fmt.Errorf("signature %d: keyid and sig must be hex strings", i)
		}
		cert, _ := o["cert"].(string)
		out = append(out, in_toto.Signature{KeyID: keyID, Sig: sig, Certificate: cert})
	}
	return out, nil
}

// object checks that v is a JSON object with every required member and no
// member other than the required and optional ones (names compared exactly).
func object(v any, at string, required []string, optional ...string) (map[string]any, error) {
	o, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s: not a JSON object", at)
	}
	for _, r := range required {
		if _, ok := o[r]; !ok {
			return nil, fmt.Errorf("%s: missing member %q", at, r)
		}
	}
	if len(o) > len(required) {
		if k, ok := firstUnknown(o, required, optional); ok {
			return nil, fmt.Errorf("%s: member %q is not in-toto's (unknown or differently cased)", at, k)
		}
	}
	return o, nil
}

// firstUnknown returns the smallest member name of o that is neither known
// nor optional: the error names the same member whatever the map order.
func firstUnknown(o map[string]any, known, optional []string) (string, bool) {
	var first string
	found := false
	for k := range o {
		if !slices.Contains(known, k) && !slices.Contains(optional, k) && (!found || k < first) {
			first, found = k, true
		}
	}
	return first, found
}

var (
	layoutMembers     = []string{"_type", "steps", "inspect", "keys", "expires", "readme"}
	stepMembers       = []string{"_type", "name", "pubkeys", "expected_command", "expected_materials", "expected_products", "threshold"}
	inspectionMembers = []string{"_type", "name", "run", "expected_materials", "expected_products"}
	keyMembers        = []string{"keyid", "keyid_hash_algorithms", "keytype", "keyval", "scheme"}
	linkMembers       = []string{"_type", "name", "materials", "products", "byproducts", "command", "environment"}
)

// layoutFrom checks the member names of a layout object exactly (Go's decoder
// would match them case-insensitively) and decodes it.
func layoutFrom(obj map[string]any) (*in_toto.Layout, error) {
	if _, err := object(obj, "signed", layoutMembers, "rootcas", "intermediatecas"); err != nil {
		return nil, err
	}
	for i, s := range asList(obj["steps"]) {
		if _, err := object(s, fmt.Sprintf("signed.steps[%d]", i), stepMembers, "cert_constraints"); err != nil {
			return nil, err
		}
	}
	for i, s := range asList(obj["inspect"]) {
		if _, err := object(s, fmt.Sprintf("signed.inspect[%d]", i), inspectionMembers); err != nil {
			return nil, err
		}
	}
	for _, m := range []string{"keys", "rootcas", "intermediatecas"} {
		ks, _ := obj[m].(map[string]any)
		for _, id := range slices.Sorted(maps.Keys(ks)) { // the error names the same key every run
			k := ks[id]
			at := fmt.Sprintf("signed.%s[%q]", m, id)
			o, err := object(k, at, keyMembers)
			if err != nil {
				return nil, err
			}
			if _, err := object(o["keyval"], at+".keyval", nil, "public", "private", "certificate"); err != nil {
				return nil, err
			}
		}
	}
	raw, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	var l in_toto.Layout
	if err := strictDecode(raw, &l); err != nil {
		return nil, fmt.Errorf("signed layout: %v", err)
	}
	return &l, nil
}

func asList(v any) []any { l, _ := v.([]any); return l }

// linkFrom builds a link from its decoded object, checking every member. The
// second result is the first malformed artifact (see envelope.artifactErr).
func linkFrom(obj map[string]any) (*in_toto.Link, error, error) {
	if _, err := object(obj, "signed", linkMembers); err != nil {
		return nil, nil, err
	}
	l := &in_toto.Link{Type: "link"}
	var ok bool
	if l.Name, ok = obj["name"].(string); !ok {
		return nil, nil, errors.New("signed.name: not a string")
	}
	var err, matBad, prodBad error
	shared := map[string]in_toto.HashObj{}
	if l.Materials, matBad, err = artifactsFrom(obj["materials"], "material", shared); err != nil {
		return nil, nil, err
	}
	if l.Products, prodBad, err = artifactsFrom(obj["products"], "product", shared); err != nil {
		return nil, nil, err
	}
	if obj["byproducts"] != nil {
		if l.ByProducts, ok = obj["byproducts"].(map[string]any); !ok {
			return nil, nil, errors.New("signed.byproducts: not an object")
		}
	}
	if obj["environment"] != nil {
		if l.Environment, ok = obj["environment"].(map[string]any); !ok {
			return nil, nil, errors.New("signed.environment: not an object")
		}
	}
	if obj["command"] != nil && asList(obj["command"]) == nil {
		return nil, nil, errors.New("signed.command: not a list")
	}
	for i, c := range asList(obj["command"]) {
		s, ok := c.(string)
		if !ok {
			return nil, nil, fmt.Errorf("signed.command[%d]: not a string", i)
		}
		l.Command = append(l.Command, s)
	}
	if matBad == nil {
		matBad = prodBad
	}
	return l, matBad, nil
}

// artifactsFrom converts materials or products; the second result is the
// first artifact whose name or hash is malformed.
func artifactsFrom(v any, kind string, shared map[string]in_toto.HashObj) (map[string]in_toto.HashObj, error, error) {
	if v == nil {
		return nil, nil, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, nil, fmt.Errorf("signed.%ss: not an object", kind)
	}
	// bad is the malformed artifact, and hard the error, with the smallest
	// name (then hash algorithm), so that the report names the same one
	// whatever the map order.
	var bad, hard error
	var badAt, hardAt string
	flag := func(at string, err error) {
		if bad == nil || at < badAt {
			bad, badAt = err, at
		}
	}
	fail := func(at string, err error) {
		if hard == nil || at < hardAt {
			hard, hardAt = err, at
		}
	}
	out := make(map[string]in_toto.HashObj, len(m))
	// Hash objects holding only a sha256 are shared between artifacts with
	// the same digest (materials and products of a step mostly are): they
	// are never modified.
	for name, h := range m {
		hm, ok := h.(map[string]any)
		if !ok {
			fail(name, fmt.Errorf("signed.%ss[%q]: not an object of hashes", kind, name))
			continue
		}
		if err := checkArtifactPath(name); err != nil {
			flag(name, fmt.Errorf("%s %v", kind, err))
		}
		if sum, ok := hm["sha256"].(string); ok && len(hm) == 1 {
			if !isHex(sum) {
				flag(name+"\x00sha256", fmt.Errorf("%s %q: sha256 hash is not hex", kind, name))
			}
			ho, ok := shared[sum]
			if !ok {
				ho = in_toto.HashObj{"sha256": sum}
				shared[sum] = ho
			}
			out[name] = ho
			continue
		}
		ho := make(in_toto.HashObj, len(hm))
		for alg, sum := range hm {
			s, ok := sum.(string)
			if !ok {
				fail(name+"\x00"+alg, fmt.Errorf("signed.%ss[%q].%s: not a string", kind, name, alg))
				continue
			}
			if !isHex(s) {
				flag(name+"\x00"+alg, fmt.Errorf("%s %q: %s hash is not hex", kind, name, alg))
			}
			ho[alg] = s
		}
		out[name] = ho
	}
	if hard != nil {
		return nil, nil, hard
	}
	return out, bad, nil
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

var hexDigit = func() (t [256]bool) {
	for _, c := range "0123456789abcdefABCDEF" {
		t[c] = true
	}
	return t
}()

func isHex(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !hexDigit[s[i]] {
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
	b, err := olpcjson.Encode(map[string]any{
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
