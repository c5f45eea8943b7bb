package metadata

import (
	"path"
	"path/filepath"
	"strings"
	"testing"
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
