package layouts

import (
	"encoding/json"
	"slices"

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

type genericBuilder struct{}

func (genericBuilder) String(s string) any   { return s }
func (genericBuilder) Number(lit string) any { return json.Number(lit) }

func (genericBuilder) Literal(lit string) any {
	switch lit {
	case "true":
		return true
	case "false":
		return false
	}
	return nil
}

func (genericBuilder) Array(elems []any) any {
	if elems == nil {
		return []any{}
	}
	return slices.Clone(elems)
}

func (genericBuilder) Object(names []string, values []any) any {
	m := make(map[string]any, len(names))
	for i, k := range names {
		m[k] = values[i]
	}
	return m
}
