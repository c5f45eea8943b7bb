package decodeerr

import (
	"encoding/json"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
	k8syaml "sigs.k8s.io/yaml"
)

type step struct {
	Name      string   `json:"name" yaml:"name"`
	Threshold int      `json:"threshold" yaml:"threshold"`
	Keys      []string `json:"keys" yaml:"keys"`
}

type doc struct {
	Steps []step `json:"steps" yaml:"steps"`
}

// Decoding errors never show Go type names (package.Type, []T, !!map into
// ...): each names the line or field and the kinds of value wanted and got.
func TestDecodingErrorsSpeakTheDocumentsTermsNotGos(t *testing.T) {
	yamlDecode := func(s string) error {
		dec := yaml.NewDecoder(strings.NewReader(s))
		dec.KnownFields(true)
		var d doc
		return dec.Decode(&d)
	}
	jsonDecode := func(s string) error {
		dec := json.NewDecoder(strings.NewReader(s))
		dec.DisallowUnknownFields()
		var d doc
		return dec.Decode(&d)
	}
	k8sDecode := func(s string) error { var d doc; return k8syaml.UnmarshalStrict([]byte(s), &d) }
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"yaml unknown field", yamlDecode("steps:\n- name: a\n  thresold: 1\n"), "line 3: unknown field thresold"},
		{"yaml mapping for a list", yamlDecode("steps: {a: 1}\n"), "line 1: want a list, got a mapping"},
		{"yaml string for a number", yamlDecode("steps:\n- threshold: two\n"), "line 2: want a number, got a string `two`"},
		{"json unknown field", jsonDecode(`{"steps":[{"nme":"a"}]}`), `unknown field "nme"`},
		{"json string for a number", jsonDecode(`{"steps":[{"threshold":"2"}]}`), "field steps.threshold: want a number, got a string"},
		{"k8s yaml unknown field", k8sDecode("steps: []\nfoo: 1\n"), `unknown field "foo"`},
		{"k8s yaml wrong kind", k8sDecode("steps: 3\n"), "want a list, got a number"},
	} {
		got := Describe(tc.err)
		if !strings.Contains(got, tc.want) {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
		for _, goName := range []string{"decodeerr.", "[]decodeerr", "!!", "Go struct", "error unmarshaling", "json: "} {
			if strings.Contains(got, goName) {
				t.Errorf("%s: %q shows %q", tc.name, got, goName)
			}
		}
	}
}
