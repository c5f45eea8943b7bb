//go:build interop

package main

import (
	"os"
	"strings"
	"testing"

	"github.com/cnabsec/cnabsec/internal/testing/peers"
)

// `layout graph --format svg` renders the walkthrough layout with Debian's
// dot: an SVG with both steps and the flow between them.
func TestInteropLayoutGraphSVGRendersWithGraphviz(t *testing.T) {
	peers.NeedTool(t, "dot")
	path := walkthroughLayoutFile(t)
	code, _, errs := runCLI(t, "layout", "graph", path, "--format", "svg", "--out", "chain.svg")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	b, err := os.ReadFile("chain.svg")
	if err != nil {
		t.Fatal(err)
	}
	svg := string(b)
	for _, want := range []string{"<svg", "step: write&#45;bundle", "step: package", "products → materials", "</svg>"} {
		if !strings.Contains(svg, want) {
			t.Errorf("SVG lacks %q:\n%s", want, svg)
		}
	}
}
