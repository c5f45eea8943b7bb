package olpcjson

import (
	"encoding/json"
	"reflect"
	"testing"
)

// TestTreeBuilderSortsMembersAndKeepsTheLastOfARepeatedName: members come
// out sorted by name, a repeated name with its last value (as encoding/json
// fills a map), and objects carved from one chunk stay apart.
func TestTreeBuilderSortsMembersAndKeepsTheLastOfARepeatedName(t *testing.T) {
	var tb TreeBuilder
	inner := tb.Object([]string{"x"}, []any{"1"})
	got := tb.Object([]string{"b", "a", "b", "c", "a"}, []any{"b1", "a1", "b2", inner, "a2"})
	o, ok := AsObject(got)
	if !ok {
		t.Fatalf("%T is not an object", got)
	}
	want := Object{{"a", "a2"}, {"b", "b2"}, {"c", inner}}
	if !reflect.DeepEqual(o, want) {
		t.Fatalf("got %v, want %v", o, want)
	}
	if in, _ := AsObject(inner); !reflect.DeepEqual(in, Object{{"x", "1"}}) {
		t.Fatalf("the inner object changed: %v", in)
	}
	if g := Generic(got); !reflect.DeepEqual(g, map[string]any{"a": "a2", "b": "b2", "c": map[string]any{"x": "1"}}) {
		t.Fatalf("Generic = %#v", g)
	}
	b, err := EncodeValue(got, 0)
	if err != nil || string(b) != `{"a":"a2","b":"b2","c":{"x":"1"}}` {
		t.Fatalf("EncodeValue = %s, %v", b, err)
	}
}

func TestUnsortedObjectIsRefusedByTheEncoder(t *testing.T) {
	if _, err := EncodeValue(Object{{"b", json.Number("1")}, {"a", nil}}, 0); err == nil {
		t.Fatal("members out of order were encoded")
	}
	if _, err := EncodeValue(Object{{"a", true}, {"a", false}}, 0); err == nil {
		t.Fatal("a name given twice was encoded")
	}
}
