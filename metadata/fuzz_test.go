package metadata

import (
	"encoding/json"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tuf "github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/cnabsec/cnabsec/internal/fault"
)

// FuzzAcceptedTargetNamesStayInsideTargetsDir: a target name AddTarget
// accepts never makes a file path outside DIR/targets.
func FuzzAcceptedTargetNamesStayInsideTargetsDir(f *testing.F) {
	for _, s := range []string{"a/b", "../x", "a/../../x", "/etc/passwd", "a//b", "example.com/org/app:1.0",
		"a/./b", `a\..\b`, "a/..", "..", ".", "", "a/b/", "x\x00y", "example.com/org/app/in-toto-metadata/abc/s.1234abcd.link"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if checkTargetName(name) != nil {
			return
		}
		dir, base := path.Split(name)
		p := filepath.Join("/repo", targetsDir, filepath.FromSlash(dir), "0123."+base)
		if !strings.HasPrefix(p, "/repo/"+targetsDir+"/") || strings.Contains(base, "/") || base == "" {
			t.Fatalf("accepted target name %q maps to %s", name, p)
		}
	})
}

// TestMetadataThatChangesWhenParsedBackIsNotWritten: custom null is dropped
// by go-tuf's parser, so its signature would not verify for clients.
func TestMetadataThatChangesWhenParsedBackIsNotWritten(t *testing.T) {
	md := tuf.Targets(time.Now().UTC().Truncate(time.Second).Add(time.Hour))
	null := json.RawMessage("null")
	md.Signed.Targets["a/b"] = &tuf.TargetFiles{Length: 1, Hashes: tuf.Hashes{"sha256": make([]byte, 32)}, Custom: &null}
	r := &targetsRole{name: "releases", md: md, changed: map[string]bool{"a/b": true}}
	_, err := r.bytes()
	if err == nil || fault.KindOf(err) != fault.Input || !strings.Contains(err.Error(), "role releases: the metadata written would not verify for clients: its content changes when parsed back") {
		t.Fatalf("err = %v", err)
	}
	delete(md.Signed.Targets, "a/b")
	r = &targetsRole{name: "releases", md: md}
	if _, err := r.bytes(); err != nil {
		t.Fatalf("clean metadata refused: %v", err)
	}
}
