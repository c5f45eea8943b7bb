package client

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/theupdateframework/go-tuf/v2/metadata"
)

// checkStructure refuses metadata that would crash go-tuf v2.4.2: it
// dereferences without a nil check the timestamp's "snapshot.json" entry
// (also when missing), snapshot meta entries, root roles and keys,
// delegation keys and target entries written as JSON null (a null target
// even panics while parsing). Such metadata needs a key holder to be
// signed, but a panic would take a whole verification service down. The
// check reads the raw JSON; bytes that do not parse are left to go-tuf.
func checkStructure(role string, data []byte) error {
	var raw struct {
		Signed struct {
			Meta        map[string]json.RawMessage `json:"meta"`
			Keys        map[string]json.RawMessage `json:"keys"`
			Roles       map[string]json.RawMessage `json:"roles"`
			Targets     map[string]json.RawMessage `json:"targets"`
			Delegations *struct {
				Keys map[string]json.RawMessage `json:"keys"`
			} `json:"delegations"`
		} `json:"signed"`
	}
	if json.Unmarshal(data, &raw) != nil {
		return nil
	}
	s := raw.Signed
	var problem string
	switch role {
	case metadata.ROOT:
		problem = firstNull(s.Keys, "key %s is null")
		if problem == "" {
			problem = firstNull(s.Roles, "role %s is null")
		}
	case metadata.TIMESTAMP:
		if m, ok := s.Meta["snapshot.json"]; !ok || isNull(m) {
			problem = "it lists no snapshot.json"
		}
	case metadata.SNAPSHOT:
		problem = firstNull(s.Meta, "its entry for %s is null")
	default:
		problem = firstNull(s.Targets, "target %q is null")
		if problem == "" && s.Delegations != nil {
			problem = firstNull(s.Delegations.Keys, "delegated key %s is null")
		}
	}
	if problem != "" {
		return fault.Deniedf("%s metadata is malformed: %s", role, problem)
	}
	return nil
}

func isNull(m json.RawMessage) bool { return bytes.Equal(bytes.TrimSpace(m), []byte("null")) }

func firstNull(m map[string]json.RawMessage, format string) string {
	names := make([]string, 0, len(m))
	for n, v := range m {
		if isNull(v) {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return ""
	}
	sort.Strings(names)
	return fmt.Sprintf(format, names[0])
}

// noPanic turns a panic inside go-tuf into a Denied error (a backstop for
// malformed metadata checkStructure does not know about).
func noPanic(what string, err *error) {
	if p := recover(); p != nil {
		*err = fault.Deniedf("%s: malformed TUF metadata made go-tuf fail: %v", what, p)
	}
}
