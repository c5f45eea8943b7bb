// Package olpcjson is the one encoder of OLPC canonical JSON in cnabsec: the
// form TUF and in-toto sign (securesystemslib's "canonical JSON"): members
// sorted by name, no insignificant whitespace, only backslash and double
// quote escaped in strings, integers only.
//
// Encode takes any Go value that encoding/json can marshal; EncodeValue takes
// a value already decoded with json.Decoder.UseNumber (the fast path for
// parsed envelopes). Both produce exactly the bytes securesystemslib's cjson
// produces for integer-only input (FuzzEncodeAgreesWithSecuresystemslib).
package olpcjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Encode returns the canonical JSON of v.
func Encode(v any) ([]byte, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var generic any
	if err := dec.Decode(&generic); err != nil {
		return nil, err
	}
	return EncodeValue(generic, len(raw))
}

// EncodeValue returns the canonical JSON of a decoded value (nil, bool,
// string, json.Number, []any, map[string]any, or Object or *Object in place
// of a map);
// sizeHint presizes the buffer.
func EncodeValue(v any, sizeHint int) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(sizeHint)
	if err := encode(&buf, v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func encode(buf *bytes.Buffer, v any) error {
	switch x := v.(type) {
	case nil:
		buf.WriteString("null")
	case bool:
		buf.WriteString(map[bool]string{true: "true", false: "false"}[x])
	case string:
		encodeString(buf, x)
	case json.Number:
		if _, err := x.Int64(); err != nil {
			return fmt.Errorf("number %s is not an integer", x)
		}
		buf.WriteString(x.String())
	case []any:
		return encodeArray(buf, x)
	case map[string]any:
		return encodeObject(buf, x)
	case Object:
		return encodeMembers(buf, x)
	case *Object:
		return encodeMembers(buf, *x)
	default:
		return fmt.Errorf("cannot canonicalize %T", v)
	}
	return nil
}

func encodeString(buf *bytes.Buffer, s string) {
	buf.WriteByte('"')
	if strings.IndexByte(s, '"') < 0 && strings.IndexByte(s, '\\') < 0 {
		buf.WriteString(s) // the common case, found by two vectorized scans
		buf.WriteByte('"')
		return
	}
	start := 0
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '"' || c == '\\' {
			buf.WriteString(s[start:i])
			buf.WriteByte('\\')
			start = i
		}
	}
	buf.WriteString(s[start:])
	buf.WriteByte('"')
}

func encodeArray(buf *bytes.Buffer, a []any) error {
	buf.WriteByte('[')
	for i, e := range a {
		if i > 0 {
			buf.WriteByte(',')
		}
		if err := encode(buf, e); err != nil {
			return err
		}
	}
	buf.WriteByte(']')
	return nil
}

func encodeObject(buf *bytes.Buffer, m map[string]any) error {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	buf.WriteByte('{')
	for i, k := range names {
		if i > 0 {
			buf.WriteByte(',')
		}
		encodeString(buf, k)
		buf.WriteByte(':')
		if err := encode(buf, m[k]); err != nil {
			return err
		}
	}
	buf.WriteByte('}')
	return nil
}

func encodeMembers(buf *bytes.Buffer, o Object) error {
	if !membersSorted(o) {
		return errors.New("object members not sorted by name, or a name given twice")
	}
	buf.WriteByte('{')
	for i, m := range o {
		if i > 0 {
			buf.WriteByte(',')
		}
		encodeString(buf, m.Name)
		buf.WriteByte(':')
		if err := encode(buf, m.Value); err != nil {
			return err
		}
	}
	buf.WriteByte('}')
	return nil
}
