package olpcjson

import (
	"cmp"
	"encoding/json"
	"slices"
	"strings"
)

// Object is a decoded JSON object kept as a slice of members instead of a
// map: decoding a document of many small objects (an in-toto link's
// artifacts) then allocates one slice per object instead of a map.
//
// An Object made by TreeBuilder has its members sorted by name (byte order,
// as canonical JSON sorts them) and each name once: a name given more than
// once keeps its last value, as encoding/json's decoding into a map does.
// EncodeValue refuses an Object whose members are not so ordered.
type Object []Member

// Member is one member of an Object. Value is nil, bool, string,
// json.Number, []any or Object.
type Member struct {
	Name  string
	Value any
}

// Get returns the value of the member named name.
func (o Object) Get(name string) (any, bool) {
	i, ok := slices.BinarySearchFunc(o, name, func(m Member, k string) int { return strings.Compare(m.Name, k) })
	if !ok {
		return nil, false
	}
	return o[i].Value, true
}

// Generic converts a value decoded by TreeBuilder to the values
// encoding/json's Decoder with UseNumber produces: each Object becomes a
// map[string]any. Arrays are converted in place.
func Generic(v any) any {
	switch x := v.(type) {
	case Object:
		m := make(map[string]any, len(x))
		for _, k := range x {
			m[k.Name] = Generic(k.Value)
		}
		return m
	case []any:
		for i, e := range x {
			x[i] = Generic(e)
		}
	}
	return v
}

// TreeBuilder builds, for strictjson.Parse, the values encoding/json's
// Decoder with UseNumber produces, except that objects are Objects.
type TreeBuilder struct{}

// String returns s.
func (TreeBuilder) String(s string) any { return s }

// Number returns the literal as a json.Number.
func (TreeBuilder) Number(lit string) any { return json.Number(lit) }

// Literal returns true, false or nil.
func (TreeBuilder) Literal(lit string) any {
	switch lit {
	case "true":
		return true
	case "false":
		return false
	}
	return nil
}

// Array returns a copy of elems.
func (TreeBuilder) Array(elems []any) any {
	if elems == nil {
		return []any{}
	}
	return slices.Clone(elems)
}

// Object returns the members sorted by name, a repeated name keeping its
// last value. Members already in strictly increasing order (as in-toto and
// Go write them) are only checked, in one pass.
func (TreeBuilder) Object(names []string, values []any) any {
	o := make(Object, len(names))
	for i, k := range names {
		o[i] = Member{Name: k, Value: values[i]}
	}
	return sortMembers(o)
}

func sortMembers(o Object) Object {
	if membersSorted(o) {
		return o
	}
	slices.SortStableFunc(o, func(a, b Member) int { return cmp.Compare(a.Name, b.Name) })
	// Keep the last of each run of equal names (the last value given).
	out := o[:0]
	for i, m := range o {
		if i+1 < len(o) && o[i+1].Name == m.Name {
			continue
		}
		out = append(out, m)
	}
	clear(o[len(out):])
	return slices.Clip(out)
}

// membersSorted reports whether the names strictly increase.
func membersSorted(o Object) bool {
	for i := 1; i < len(o); i++ {
		if o[i-1].Name >= o[i].Name {
			return false
		}
	}
	return true
}
