// Package decodeerr words JSON and YAML decoding errors in the terms of the
// document a person wrote (lines, field names, kinds of values), never in
// Go's (type names such as []layouts.TemplateStep or signer.Item).
package decodeerr

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Describe renders err, from encoding/json, go.yaml.in/yaml/v3 or
// sigs.k8s.io/yaml, on one line.
func Describe(err error) string {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs := make([]string, len(te.Errors))
		for i, m := range te.Errors {
			msgs[i] = yamlMessage(m)
		}
		return strings.Join(msgs, "; ")
	}
	var ut *json.UnmarshalTypeError
	if errors.As(err, &ut) {
		return jsonTypeMessage(ut)
	}
	return cleanPrefixes(err.Error())
}

var (
	yamlUnknownField = regexp.MustCompile(`field (\S+) not found in type \S+`)
	yamlCannot       = regexp.MustCompile("cannot unmarshal (!!\\w+)( `[^`]*`)? into (\\S+)")
	jsonUnknownField = regexp.MustCompile(`json: unknown field ("[^"]*")`)
	jsonCannot       = regexp.MustCompile(`json: cannot unmarshal (\w+) into Go (?:struct field \S+ |value )of type (\S+)`)
)

// yamlMessage is one "line N: ..." message of a yaml TypeError.
func yamlMessage(m string) string {
	m = yamlUnknownField.ReplaceAllString(m, "unknown field $1")
	return yamlCannot.ReplaceAllStringFunc(m, func(s string) string {
		p := yamlCannot.FindStringSubmatch(s)
		return fmt.Sprintf("want %s, got %s%s", goKind(p[3]), yamlKind(p[1]), p[2])
	})
}

func jsonTypeMessage(ut *json.UnmarshalTypeError) string {
	where := ""
	if ut.Field != "" {
		where = "field " + ut.Field + ": "
	}
	return fmt.Sprintf("%swant %s, got %s (at byte %d)", where, goKind(ut.Type.String()), jsonKind(ut.Value), ut.Offset)
}

// cleanPrefixes drops the layers sigs.k8s.io/yaml and encoding/json add
// ("error unmarshaling JSON: while decoding JSON: json: ...") and words the
// type errors they carry as text.
func cleanPrefixes(m string) string {
	for _, p := range []string{"error unmarshaling JSON: ", "while decoding JSON: ", "error converting YAML to JSON: ", "yaml: "} {
		m = strings.ReplaceAll(m, p, "")
	}
	m = jsonUnknownField.ReplaceAllString(m, "unknown field $1")
	m = jsonCannot.ReplaceAllStringFunc(m, func(s string) string {
		p := jsonCannot.FindStringSubmatch(s)
		return fmt.Sprintf("want %s, got %s", goKind(p[2]), jsonKind(p[1]))
	})
	return strings.TrimPrefix(m, "json: ")
}

// goKind names the kind of value a Go type holds.
func goKind(t string) string {
	t = strings.TrimLeft(t, "*")
	switch {
	case strings.HasPrefix(t, "[]"):
		return "a list"
	case strings.HasPrefix(t, "map["), strings.Contains(t, "."):
		return "a mapping"
	case t == "string":
		return "a string"
	case t == "bool":
		return "true or false"
	case strings.HasPrefix(t, "int"), strings.HasPrefix(t, "uint"), strings.HasPrefix(t, "float"):
		return "a number"
	}
	return "another kind of value"
}

// yamlKind names the kind of a YAML node from its tag.
func yamlKind(tag string) string {
	switch tag {
	case "!!map":
		return "a mapping"
	case "!!seq":
		return "a list"
	case "!!str":
		return "a string"
	case "!!int", "!!float":
		return "a number"
	case "!!bool":
		return "true or false"
	case "!!null":
		return "nothing"
	}
	return strings.TrimPrefix(tag, "!!")
}

// jsonKind names the kind of a JSON value as encoding/json reports it.
func jsonKind(v string) string {
	switch v {
	case "object":
		return "a mapping"
	case "array":
		return "a list"
	case "string":
		return "a string"
	case "number":
		return "a number"
	case "bool":
		return "true or false"
	}
	if strings.HasPrefix(v, "number") {
		return "a number"
	}
	return v
}
