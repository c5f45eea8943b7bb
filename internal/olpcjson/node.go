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
	if p, ok := v.(*Object); ok {
		v = *p
	}
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

// AsObject returns the Object a decoded value is, if it is one (TreeBuilder
// makes each object a *Object).
func AsObject(v any) (Object, bool) {
	switch o := v.(type) {
	case *Object:
		return *o, true
	case Object:
		return o, true
	}
	return nil, false
}

// TreeBuilder builds, for strictjson.Parse, the values encoding/json's
// Decoder with UseNumber produces, except that objects are *Object. It
// carves small objects' members and all objects' headers out of shared
// chunks instead of allocating two blocks per object; use one TreeBuilder
// per document (the chunks live as long as any object of the tree).
type TreeBuilder struct {
	Scalars
	members []Member // free room of the current members chunk
	headers []Object // free room of the current headers chunk
	// the sizes of the next chunks: they start small and double up to the
	// largest, so that a small document allocates little
	memberNext, headerNext int
}

// The largest chunk sizes, the first ones, and the largest object carved
// out of a members chunk.
const (
	memberChunk  = 512
	headerChunk  = 256
	firstChunk   = 16
	carvedObject = 16
)

// nextChunk returns the size of the next chunk and advances *next.
func nextChunk(next *int, largest int) int {
	n := max(*next, firstChunk)
	*next = min(2*n, largest)
	return n
}

// Scalars builds, for strictjson.Parse, every value but objects as
// encoding/json's Decoder with UseNumber does: strings, json.Number, true,
// false, nil and []any. Builders embed it and add their Object.
type Scalars struct{}

// String returns s.
func (Scalars) String(s string) any { return s }

// Number returns the literal as a json.Number.
func (Scalars) Number(lit string) any { return json.Number(lit) }

// Literal returns true, false or nil.
func (Scalars) Literal(lit string) any {
	switch lit {
	case "true":
		return true
	case "false":
		return false
	}
	return nil
}

// Array returns a copy of elems.
func (Scalars) Array(elems []any) any {
	if elems == nil {
		return []any{}
	}
	return slices.Clone(elems)
}

// Object returns the members sorted by name, a repeated name keeping its
// last value. Members already in strictly increasing order (as in-toto and
// Go write them) are only checked, in one pass.
func (t *TreeBuilder) Object(names []string, values []any) any {
	var o Object
	if namesSorted(names) {
		o = t.newMembers(len(names))
		for i, k := range names {
			o[i] = Member{Name: k, Value: values[i]}
		}
	} else {
		o = t.sortedMembers(names, values)
	}
	if len(t.headers) == cap(t.headers) {
		t.headers = make([]Object, 0, nextChunk(&t.headerNext, headerChunk))
	}
	t.headers = append(t.headers, o)
	return &t.headers[len(t.headers)-1]
}

// sortedMembers sorts the members by name, then by position, and keeps the
// last of each name: an unstable sort of positions (O(n log n) comparisons
// and moves; a stable sort of the members would move them O(n log² n)
// times).
func (t *TreeBuilder) sortedMembers(names []string, values []any) Object {
	idx := make([]int32, len(names))
	for i := range idx {
		idx[i] = int32(i)
	}
	slices.SortFunc(idx, func(a, b int32) int {
		if c := strings.Compare(names[a], names[b]); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	n := 0
	for j, i := range idx {
		if j+1 < len(idx) && names[idx[j+1]] == names[i] {
			continue // a later member of the same name follows
		}
		idx[n] = i
		n++
	}
	o := t.newMembers(n)
	for j, i := range idx[:n] {
		o[j] = Member{Name: names[i], Value: values[i]}
	}
	return o
}

// namesSorted reports whether the names strictly increase.
func namesSorted(names []string) bool {
	for i := 1; i < len(names); i++ {
		if names[i-1] >= names[i] {
			return false
		}
	}
	return true
}

// newMembers returns room for n members (capacity n).
func (t *TreeBuilder) newMembers(n int) Object {
	if n > carvedObject {
		return make(Object, n)
	}
	if cap(t.members)-len(t.members) < n {
		t.members = make([]Member, 0, nextChunk(&t.memberNext, memberChunk))
	}
	l := len(t.members)
	t.members = t.members[:l+n]
	return Object(t.members[l : l+n : l+n])
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
