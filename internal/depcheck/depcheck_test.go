// Package depcheck enforces the dependency direction of docs/design.md:
// cmd → server → signer|verifier → metadata, layouts, bundle → keys, with
// internal/ in two tiers:
//
//   - helpers (internal/atomicfile, capped, fault, names, strictjson) serve
//     every layer and import no layer and no fixture;
//   - fixtures (internal/testing/...) build repositories, registries and
//     scenarios for tests; they may import any layer, and only test files
//     (and the demo command) may import them.
//
// Nothing imports a layer to its left.
package depcheck

import (
	"encoding/json"
	"go/parser"
	"go/token"
	"io"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/cnabsec/cnabsec"

// rank of each top-level directory; a package may import only its own or
// lower ranks (or an internal helper): never a layer to its left.
var rank = map[string]int{
	"":         0, // the module root: package cnabsec, the public error kinds
	"keys":     1,
	"metadata": 2, "layouts": 2, "bundle": 2,
	"signer": 3, "verifier": 3,
	"server": 4,
	"cmd":    5,
	"deploy": 6, // manifests and the test that decodes them
	"tools":  7, // build tools run by make (tools/image: make image); nothing imports them
}

// fixtureTier is the directory of test fixtures under internal/.
const fixtureTier = "internal/testing"

// checkTier holds packages with nothing but tests (this one, threatcheck).
var checkTier = map[string]bool{"internal/depcheck": true, "internal/threatcheck": true, "internal/doccheck": true}

// demoFiles may import fixtures although they are not tests: the demo command
// runs the test scenario on an embedded registry.
var demoFiles = map[string]bool{"cmd/cnabsec/demo.go": true}

type pkgInfo struct {
	ImportPath string
	Dir        string
	GoFiles    []string
	Imports    []string
}

func rel(pkg string) string { return strings.TrimPrefix(strings.TrimPrefix(pkg, module), "/") }

func topDir(pkg string) string {
	top, _, _ := strings.Cut(rel(pkg), "/")
	return top
}

func isFixture(pkg string) bool {
	r := rel(pkg)
	return r == fixtureTier || strings.HasPrefix(r, fixtureTier+"/")
}

func isHelper(pkg string) bool {
	return topDir(pkg) == "internal" && !isFixture(pkg) && !checkTier[rel(pkg)]
}

func listPackages(t *testing.T) []pkgInfo {
	t.Helper()
	out, err := exec.Command("go", "list", "-json", module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	var pkgs []pkgInfo
	for {
		var p pkgInfo
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) < 20 {
		t.Fatalf("go list found only %d packages", len(pkgs))
	}
	return pkgs
}

// layerViolation says why from may not import imp, or "" when it may.
func layerViolation(from, imp string) string {
	switch {
	case isFixture(from) || checkTier[rel(from)]:
		return "" // fixtures and checks sit above every layer
	case isFixture(imp):
		return "" // checked per file by TestFixturesAreImportedOnlyByTests
	case isHelper(from):
		if !isHelper(imp) {
			return "an internal helper may import only other internal helpers, never a layer"
		}
		return ""
	case isHelper(imp) || topDir(imp) == topDir(from):
		return ""
	case rank[topDir(imp)] > rank[topDir(from)]:
		return topDir(from) + " may not depend on " + topDir(imp) + " (docs/design.md: cmd → server → signer|verifier → metadata, layouts, bundle → keys)"
	}
	return ""
}

func TestDependencyDirection(t *testing.T) {
	checked := 0
	for _, p := range listPackages(t) {
		top := topDir(p.ImportPath)
		if _, ok := rank[top]; !ok && top != "internal" {
			t.Errorf("package %s is in no known layer: add its directory to depcheck", p.ImportPath)
			continue
		}
		if top == "internal" && !isHelper(p.ImportPath) && !isFixture(p.ImportPath) && !checkTier[rel(p.ImportPath)] {
			t.Errorf("package %s is in no internal tier", p.ImportPath)
		}
		checked++
		for _, imp := range p.Imports {
			if !strings.HasPrefix(imp, module+"/") {
				continue
			}
			if why := layerViolation(p.ImportPath, imp); why != "" {
				t.Errorf("%s imports %s: %s", p.ImportPath, imp, why)
			}
		}
	}
	if checked < 20 {
		t.Fatalf("checked only %d packages: go list found too little", checked)
	}
}

// TestFixturesAreImportedOnlyByTests reads every non-test Go file outside the
// fixture tier: none may import a fixture, except the demo command.
func TestFixturesAreImportedOnlyByTests(t *testing.T) {
	files := 0
	for _, p := range listPackages(t) {
		if isFixture(p.ImportPath) {
			continue
		}
		for _, f := range p.GoFiles {
			files++
			path := filepath.Join(p.Dir, f)
			ast, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
			if err != nil {
				t.Fatal(err)
			}
			name := rel(p.ImportPath) + "/" + f
			for _, spec := range ast.Imports {
				imp, _ := strconv.Unquote(spec.Path.Value)
				if strings.HasPrefix(imp, module+"/") && isFixture(imp) && !demoFiles[name] {
					t.Errorf("%s imports the test fixture %s: fixtures are for tests (and the demo) only", name, imp)
				}
			}
		}
	}
	if files < 100 {
		t.Fatalf("read only %d files", files)
	}
}

// TestLayerRules checks the rules themselves on known cases.
func TestLayerRules(t *testing.T) {
	m := func(s string) string {
		if s == "" {
			return module
		}
		return module + "/" + s
	}
	for _, c := range []struct {
		from, imp string
		ok        bool
	}{
		{"verifier", "metadata/client", true},
		{"metadata", "verifier", false},
		{"keys", "internal/fault", true},
		{"internal/names", "internal/fault", true},
		{"internal/names", "keys", false},
		{"internal/testing/scenario", "signer", true},
		{"cmd/cnabsec", "server", true},
		{"server", "cmd/cnabsec", false},
		{"verifier", "", true},
		{"", "keys", false},
		{"metadata", "internal/testing/testrepo", true}, // checked per file, not per package
	} {
		got := layerViolation(m(c.from), m(c.imp)) == ""
		if got != c.ok {
			t.Errorf("%s → %s: allowed=%v, want %v", c.from, c.imp, got, c.ok)
		}
	}
}
