// Package depcheck enforces the dependency direction of STYLE.md:
// cmd → server → signer|verifier → metadata, layouts, bundle → keys, with
// internal/ serving every layer. Nothing imports a layer to its left.
package depcheck

import (
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/cnabsec/cnabsec"

// rank of each top-level directory; a package may import only its own or
// lower ranks (or internal/): never a layer to its left.
var rank = map[string]int{
	"keys":     1,
	"metadata": 2, "layouts": 2, "bundle": 2,
	"signer": 3, "verifier": 3,
	"server": 4,
	"cmd":    5,
	"deploy": 6, // manifests and the test that decodes them
}

func topDir(pkg string) string {
	rest := strings.TrimPrefix(strings.TrimPrefix(pkg, module), "/")
	top, _, _ := strings.Cut(rest, "/")
	return top
}

func TestDependencyDirection(t *testing.T) {
	out, err := exec.Command("go", "list", "-json", module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	checked := 0
	for {
		var p struct {
			ImportPath string
			Imports    []string
		}
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		from := topDir(p.ImportPath)
		r, ok := rank[from]
		if !ok {
			if from != "internal" {
				t.Errorf("package %s is in no known layer: add its directory to depcheck", p.ImportPath)
			}
			continue
		}
		checked++
		for _, imp := range p.Imports {
			if !strings.HasPrefix(imp, module+"/") {
				continue
			}
			to := topDir(imp)
			if to == "internal" || to == from {
				continue
			}
			if rank[to] > r {
				t.Errorf("%s imports %s: %s may not depend on %s (STYLE.md: cmd → server → signer|verifier → metadata, layouts, bundle → keys)", p.ImportPath, imp, from, to)
			}
		}
	}
	if checked < 8 {
		t.Fatalf("checked only %d packages: go list found too little", checked)
	}
}
