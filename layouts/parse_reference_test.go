package layouts

import (
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/in-toto/in-toto-golang/in_toto"

	"github.com/cnabsec/cnabsec/internal/olpcjson"
)

// This file keeps the previous parser of Metablocks (a generic decoding into
// maps, canonicalized by olpcjson.EncodeValue) as the reference the tree
// parser (parseEnvelope) is compared with: same acceptance, same errors,
// same canonical bytes, same artifacts.

func parseEnvelopeReference(b []byte) (*envelope, error) {
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
		if env.link, env.artifactErr, err = linkFromReference(obj); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("signed: _type %v is neither \"layout\" nor \"link\"", obj["_type"])
	}
	return env, nil
}

// linkFrom builds a link from its decoded object, checking every member. The
// second result is the first malformed artifact (see envelope.artifactErr).
func linkFromReference(obj map[string]any) (*in_toto.Link, error, error) {
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
	if l.Materials, matBad, err = artifactsFromReference(obj["materials"], "material", shared); err != nil {
		return nil, nil, err
	}
	if l.Products, prodBad, err = artifactsFromReference(obj["products"], "product", shared); err != nil {
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
func artifactsFromReference(v any, kind string, shared map[string]in_toto.HashObj) (map[string]in_toto.HashObj, error, error) {
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
		if err := checkArtifactPathReference(name); err != nil {
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

// checkArtifactPathReference is the previous check of artifact names, by
// path.Clean.
func checkArtifactPathReference(p string) error {
	if p == "" || p == "." || strings.HasPrefix(p, "/") || path.Clean(p) != p ||
		p == ".." || strings.HasPrefix(p, "../") || strings.Contains(p, "\x00") {
		return fmt.Errorf("artifact path %q is not a clean relative path (absolute, '..', '.' or unnormalized segments are refused)", p)
	}
	return nil
}
