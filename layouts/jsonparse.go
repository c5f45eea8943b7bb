package layouts

import (
	"github.com/cnabsec/cnabsec/internal/olpcjson"
	"github.com/cnabsec/cnabsec/internal/strictjson"
)

// decodeGeneric decodes one JSON value into the values encoding/json's
// Decoder with UseNumber produces (map[string]any, []any, string,
// json.Number, bool, nil), in one pass of the shared strict parser read the
// way encoding/json reads: invalid UTF-8 and lone surrogates become U+FFFD,
// a repeated member name keeps its last value, nesting stops at 10,000.
// FuzzDecodeGenericAgreesWithEncodingJSON checks that it accepts and rejects
// what encoding/json does and decodes to equal values.
func decodeGeneric(b []byte) (any, error) {
	return strictjson.Parse[any](b, strictjson.Options{MaxDepth: maxJSONDepth, ReplaceInvalidUTF8: true}, genericBuilder{})
}

// maxJSONDepth is encoding/json's nesting limit.
const maxJSONDepth = strictjson.DefaultMaxDepth

type genericBuilder struct{ olpcjson.Scalars }

func (genericBuilder) Object(names []string, values []any) any {
	m := make(map[string]any, len(names))
	for i, k := range names {
		m[k] = values[i]
	}
	return m
}

// decodeTree decodes one JSON value, read as decodeGeneric reads it, except
// that objects are *olpcjson.Object (members sorted by name, a repeated name
// keeping its last value) instead of maps. It is parseEnvelope's decoding:
// for a link of many artifacts it allocates one small slice per artifact
// where decodeGeneric allocates a map. FuzzParseEnvelopeAgreesWithReference
// compares parseEnvelope with the map-based parser it replaced.
func decodeTree(b []byte) (any, error) {
	return strictjson.Parse[any](b, strictjson.Options{MaxDepth: maxJSONDepth, ReplaceInvalidUTF8: true, KnownNames: knownNames}, &olpcjson.TreeBuilder{})
}

// knownNames are the member names a link repeats for each artifact.
var knownNames = []string{"sha256", "sha512"}
