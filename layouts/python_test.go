package layouts

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/cnabsec/cnabsec/keys"
)

// pythonTool finds a tool of Debian's python in-toto. Under CI=true a missing
// tool is a failure, never a skip.
func pythonTool(tb testing.TB, name string) string {
	tb.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("%s is not installed (apt-get install in-toto): %v", name, err)
		}
		tb.Skipf("%s is not installed: %v", name, err)
	}
	return p
}

// writeForPython lays out a layout, its owner's public key and the links the
// way in-toto-verify reads them and returns its arguments.
func writeForPython(tb testing.TB, dir string, layout []byte, owner *keys.PublicKey, links map[string][]byte) []string {
	tb.Helper()
	var pub []byte
	var err error
	keyType := owner.Type
	if owner.Type == keys.TypeRSA {
		pub, err = owner.PEM()
	} else {
		// python in-toto reads ed25519 and ecdsa keys only as securesystemslib JSON.
		pub, err = owner.MarshalSecuresystemslib()
	}
	if err != nil {
		tb.Fatal(err)
	}
	linkDir := filepath.Join(dir, "links")
	must(tb, os.MkdirAll(linkDir, 0o755))
	must(tb, os.WriteFile(filepath.Join(dir, "root.layout"), layout, 0o644))
	must(tb, os.WriteFile(filepath.Join(dir, "owner.pub"), pub, 0o644))
	for name, b := range links {
		p := filepath.Join(linkDir, filepath.FromSlash(name))
		must(tb, os.MkdirAll(filepath.Dir(p), 0o755))
		must(tb, os.WriteFile(p, b, 0o644))
	}
	return []string{"--layout", filepath.Join(dir, "root.layout"), "--layout-keys", filepath.Join(dir, "owner.pub"),
		"--key-types", keyType, "--link-dir", linkDir}
}

func must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}
