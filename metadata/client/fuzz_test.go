package client

import (
	"strings"
	"testing"

	"github.com/theupdateframework/go-tuf/v2/metadata"
)

// FuzzCheckStructure: whatever bytes a repository serves, the structure
// check neither panics nor lets through what crashes go-tuf's parsers.
func FuzzCheckStructure(f *testing.F) {
	seeds := []string{
		`{"signed":{"_type":"targets","targets":{"a":null}}}`,
		`{"signed":{"_type":"timestamp","meta":{}}}`,
		`{"signed":{"_type":"snapshot","meta":{"targets.json":null}}}`,
		`{"signed":{"_type":"root","keys":{"k":null},"roles":{}}}`,
		`{"signed":{"_type":"targets","delegations":{"keys":{"k":null}}}}`,
		`[]`, `null`, ``,
	}
	for _, s := range seeds {
		for _, role := range []string{"root", "timestamp", "snapshot", "targets", "releases"} {
			f.Add(role, []byte(s))
		}
	}
	f.Fuzz(func(t *testing.T, role string, data []byte) {
		if checkStructure(role, data) != nil {
			return
		}
		// Accepted bytes must parse (or fail to parse) without a panic.
		switch role {
		case "root":
			metadata.Root().FromBytes(data)
		case "timestamp":
			metadata.Timestamp().FromBytes(data)
		case "snapshot":
			metadata.Snapshot().FromBytes(data)
		default:
			metadata.Targets().FromBytes(data)
		}
	})
}

// FuzzParseMetaFile: whatever role a file name go-tuf asks for yields, the
// name the adapter fetches and caches it under (roleFile) is one plain path
// segment: no "/", "\\", "." or ".." can escape the metadata directory or URL.
func FuzzParseMetaFile(f *testing.F) {
	for _, s := range []string{"timestamp.json", "3.root.json", "2.releases.json", "1.%2E%2E%2Fx.json", "..json", "1..json", "1.%2Fdelegatedrole.json", "%3F.json"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, file string) {
		mf, err := parseMetaFile(file)
		if err != nil || !cacheableRole(mf.role) {
			return
		}
		enc := roleFile(mf.role)
		if strings.ContainsAny(enc, "/\\") || enc == "." || enc == ".." {
			t.Fatalf("role %q from %q is encoded as %q", mf.role, file, enc)
		}
		if !validName("metadata/" + enc + ".json") {
			t.Fatalf("file %q is not a plain name", enc)
		}
	})
}
