package layouts

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

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
	return parseEnvelopeSharing(b, &hashObjects{})
}

// parseEnvelopeSharing is parseEnvelope with the sha256-only hash objects
// of a link taken from (and added to) shared.
func parseEnvelopeSharing(b []byte, shared *hashObjects) (*envelope, error) {
	if len(b) > MaxMetadataSize {
		return nil, fmt.Errorf("%d bytes exceeds the limit of %d bytes", len(b), MaxMetadataSize)
	}
	doc, err := decodeTree(b)
	if err != nil {
		return nil, fmt.Errorf("not JSON: %v", err)
	}
	top, ok := olpcjson.AsObject(doc)
	if !ok {
		return nil, errors.New("not a JSON object")
	}
	if _, ok := top.Get("payloadType"); ok {
		return nil, errors.New(`a DSSE envelope: only classic in-toto metadata ({"signed": ..., "signatures": ...}) is supported`)
	}
	if k, ok := firstUnknownMember(top, []string{"signed", "signatures"}, nil); ok {
		return nil, fmt.Errorf("unexpected top-level member %q (want only \"signed\" and \"signatures\")", k)
	}
	signed, _ := top.Get("signed")
	sigs, _ := top.Get("signatures")
	if signed == nil || sigs == nil {
		return nil, errors.New(`missing "signed" or "signatures"`)
	}
	env := &envelope{}
	if env.sigs, err = signaturesFrom(olpcjson.Generic(sigs)); err != nil {
		return nil, err
	}
	obj, ok := olpcjson.AsObject(signed)
	if !ok {
		return nil, errors.New("signed: not a JSON object")
	}
	if env.canonical, err = olpcjson.EncodeValue(obj, len(b)); err != nil {
		return nil, fmt.Errorf("signed: cannot be canonicalized: %v", err)
	}
	return env, payloadFrom(env, obj, shared)
}

// payloadFrom decodes the layout or link of the "signed" object into env.
func payloadFrom(env *envelope, obj olpcjson.Object, shared *hashObjects) error {
	typ, _ := obj.Get("_type")
	var err error
	switch t, _ := typ.(string); t {
	case "layout":
		m, _ := olpcjson.Generic(obj).(map[string]any)
		env.layout, err = layoutFrom(m)
	case "link":
		env.link, env.artifactErr, err = linkFrom(obj, shared)
	default:
		err = fmt.Errorf("signed: _type %v is neither \"layout\" nor \"link\"", olpcjson.Generic(typ))
	}
	return err
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

// checkMembers checks that v is a JSON object with every required member
// and no member other than the required and optional ones (names compared
// exactly), as object does for a map.
func checkMembers(v any, at string, required []string, optional ...string) (olpcjson.Object, error) {
	o, ok := olpcjson.AsObject(v)
	if !ok {
		return nil, fmt.Errorf("%s: not a JSON object", at)
	}
	for _, r := range required {
		if _, ok := o.Get(r); !ok {
			return nil, fmt.Errorf("%s: missing member %q", at, r)
		}
	}
	if k, ok := firstUnknownMember(o, required, optional); ok {
		return nil, fmt.Errorf("%s: member %q is not in-toto's (unknown or differently cased)", at, k)
	}
	return o, nil
}

// firstUnknownMember returns the smallest member name of o that is neither
// known nor optional (members are sorted: the first one found).
func firstUnknownMember(o olpcjson.Object, known, optional []string) (string, bool) {
	for _, m := range o {
		if !slices.Contains(known, m.Name) && !slices.Contains(optional, m.Name) {
			return m.Name, true
		}
	}
	return "", false
}

// linkFrom builds a link from its decoded object, checking every member. The
// second result is the first malformed artifact (see envelope.artifactErr).
func linkFrom(v any, shared *hashObjects) (*in_toto.Link, error, error) {
	obj, err := checkMembers(v, "signed", linkMembers)
	if err != nil {
		return nil, nil, err
	}
	get := func(name string) any { v, _ := obj.Get(name); return v }
	l := &in_toto.Link{Type: "link"}
	var ok bool
	if l.Name, ok = get("name").(string); !ok {
		return nil, nil, errors.New("signed.name: not a string")
	}
	var matBad, prodBad error
	mats, prods := get("materials"), get("products")
	shared.reserve(objectLen(mats) + objectLen(prods))
	if l.Materials, matBad, err = artifactsFrom(mats, "material", shared); err != nil {
		return nil, nil, err
	}
	if l.Products, prodBad, err = artifactsFrom(prods, "product", shared); err != nil {
		return nil, nil, err
	}
	if l.ByProducts, err = genericObject(get("byproducts"), "signed.byproducts"); err != nil {
		return nil, nil, err
	}
	if l.Environment, err = genericObject(get("environment"), "signed.environment"); err != nil {
		return nil, nil, err
	}
	if l.Command, err = commandFrom(get("command")); err != nil {
		return nil, nil, err
	}
	if matBad == nil {
		matBad = prodBad
	}
	return l, matBad, nil
}

// objectLen is the member count of an object (0 for another value).
func objectLen(v any) int {
	o, _ := olpcjson.AsObject(v)
	return len(o)
}

// genericObject returns an object member as a map (nil for null).
func genericObject(v any, at string) (map[string]any, error) {
	if v == nil {
		return nil, nil
	}
	if _, ok := olpcjson.AsObject(v); !ok {
		return nil, fmt.Errorf("%s: not an object", at)
	}
	m, _ := olpcjson.Generic(v).(map[string]any)
	return m, nil
}

func commandFrom(v any) ([]string, error) {
	if v == nil {
		return nil, nil
	}
	list, ok := v.([]any)
	if !ok {
		return nil, errors.New("signed.command: not a list")
	}
	var out []string
	for i, c := range list {
		s, ok := c.(string)
		if !ok {
			return nil, fmt.Errorf("signed.command[%d]: not a string", i)
		}
		out = append(out, s)
	}
	return out, nil
}

// firstError keeps the error found at the smallest position (artifact name,
// then hash algorithm), so that a report names the same artifact whatever
// the order of the file.
type firstError struct {
	err error
	at  string
}

func (f *firstError) add(at string, err error) {
	if f.err == nil || at < f.at {
		f.err, f.at = err, at
	}
}

// artifactsFrom converts materials or products; the second result is the
// first artifact whose name or hash is malformed.
func artifactsFrom(v any, kind string, shared *hashObjects) (map[string]in_toto.HashObj, error, error) {
	if v == nil {
		return nil, nil, nil
	}
	arts, ok := olpcjson.AsObject(v)
	if !ok {
		return nil, nil, fmt.Errorf("signed.%ss: not an object", kind)
	}
	// bad is the malformed artifact, and hard the error.
	var bad, hard firstError
	out := make(map[string]in_toto.HashObj, len(arts))
	for _, m := range arts {
		name := m.Name
		hm, ok := olpcjson.AsObject(m.Value)
		if !ok {
			hard.add(name, fmt.Errorf("signed.%ss[%q]: not an object of hashes", kind, name))
			continue
		}
		if err := checkArtifactPath(name); err != nil {
			bad.add(name, fmt.Errorf("%s %v", kind, err))
		}
		if len(hm) == 1 && hm[0].Name == "sha256" {
			if sum, ok := hm[0].Value.(string); ok {
				out[name] = sha256Only(sum, name, kind, shared, &bad)
				continue
			}
		}
		out[name] = hashesFrom(hm, name, kind, &bad, &hard)
	}
	if hard.err != nil {
		return nil, nil, hard.err
	}
	return out, bad.err, nil
}

// sha256Only returns the hash object of an artifact with only a sha256.
func sha256Only(sum, name, kind string, shared *hashObjects, bad *firstError) in_toto.HashObj {
	if !isHex(sum) {
		bad.add(name+"\x00sha256", fmt.Errorf("%s %q: sha256 hash is not hex", kind, name))
	}
	return shared.get(sum)
}

// hashObjects shares the hash objects of artifacts that have only a sha256
// between all the links one verification parses (concurrently): equal
// digests get one map, which is never modified. That saves a map per
// artifact, and hashEqual finds two shared objects equal by identity.
type hashObjects struct {
	shards [16]struct {
		mu sync.Mutex
		m  map[string]in_toto.HashObj
	}
}

// reserve makes room for n more digests when the table is still empty (a
// map grown one digest at a time rehashes again and again).
func (h *hashObjects) reserve(n int) {
	for i := range h.shards {
		s := &h.shards[i]
		s.mu.Lock()
		if s.m == nil {
			s.m = make(map[string]in_toto.HashObj, n/len(h.shards)+1)
		}
		s.mu.Unlock()
	}
}

func (h *hashObjects) get(sum string) in_toto.HashObj {
	s := &h.shards[0]
	if sum != "" {
		s = &h.shards[sum[len(sum)-1]&15]
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ho, ok := s.m[sum]
	if !ok {
		if s.m == nil {
			s.m = map[string]in_toto.HashObj{}
		}
		ho = in_toto.HashObj{"sha256": sum}
		s.m[sum] = ho
	}
	return ho
}

func hashesFrom(hm olpcjson.Object, name, kind string, bad, hard *firstError) in_toto.HashObj {
	ho := make(in_toto.HashObj, len(hm))
	for _, h := range hm {
		alg := h.Name
		s, ok := h.Value.(string)
		if !ok {
			hard.add(name+"\x00"+alg, fmt.Errorf("signed.%ss[%q].%s: not a string", kind, name, alg))
			continue
		}
		if !isHex(s) {
			bad.add(name+"\x00"+alg, fmt.Errorf("%s %q: %s hash is not hex", kind, name, alg))
		}
		ho[alg] = s
	}
	return ho
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
// rule written for one then judges the other. A name is accepted when it is
// not absolute, holds no NUL, and each of its "/"-separated segments is
// neither empty, "." nor ".." (path.Clean would change it otherwise, or it
// would leave the step directory); TestArtifactPathCheckAgreesWithPathClean
// compares this with the path.Clean formulation.
func checkArtifactPath(p string) error {
	if !cleanRelative(p) {
		return fmt.Errorf("artifact path %q is not a clean relative path (absolute, '..', '.' or unnormalized segments are refused)", p)
	}
	return nil
}

func cleanRelative(p string) bool {
	if strings.IndexByte(p, 0) >= 0 {
		return false
	}
	for {
		seg, rest, more := strings.Cut(p, "/")
		if seg == "" || seg == "." || seg == ".." {
			return false
		}
		if !more {
			return true
		}
		p = rest
	}
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
