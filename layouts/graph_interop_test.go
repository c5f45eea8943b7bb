//go:build interop

package layouts

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// renderWithDot runs Graphviz's dot on a DOT text and returns the SVG; dot
// missing skips the test, except under CI=true where it fails.
func renderWithDot(t *testing.T, dot string) string {
	t.Helper()
	bin, err := exec.LookPath("dot")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("dot is not installed (apt-get install graphviz): %v", err)
		}
		t.Skipf("dot is not installed: %v", err)
	}
	cmd := exec.Command(bin, "-Tsvg")
	cmd.Stdin = strings.NewReader(dot)
	var out, errs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errs
	if err := cmd.Run(); err != nil || errs.Len() > 0 {
		t.Fatalf("dot: %v %s\n%s", err, errs.String(), dot)
	}
	return out.String()
}

// Debian's dot renders the walkthrough layout's graph, with its two steps
// and the flows between them.
func TestInteropLayoutGraphRendersWithGraphvizDot(t *testing.T) {
	svg := renderWithDot(t, dotOf(t, walkthroughLayout(t), DOTOptions{Title: "root.layout"}))
	for _, want := range []string{`<title>step0</title>`, `<title>step1</title>`, `step: write&#45;bundle`, `step: package`, `<title>step0&#45;&gt;step1</title>`, `>products → materials<`} {
		if !strings.Contains(svg, want) {
			t.Errorf("SVG lacks %q:\n%s", want, svg)
		}
	}
	if n := strings.Count(svg, `class="node"`); n != 2 {
		t.Errorf("%d nodes in the SVG, want 2", n)
	}
}

// dot renders a hostile layout's graph as exactly its own nodes, with the
// names as text: no injected node, attribute or HTML element.
func TestInteropHostileLayoutGraphRendersAsTextWithGraphvizDot(t *testing.T) {
	dir, _ := templateDir(t)
	l := readTemplate(t, hostileTemplate, dir)
	svg := renderWithDot(t, dotOf(t, l, DOTOptions{States: map[string]NodeState{l.Steps[0].Name: StateFail}}))
	if n := strings.Count(svg, `class="node"`); n != 3 {
		t.Errorf("%d nodes in the SVG, want 3:\n%s", n, svg)
	}
	for _, bad := range []string{"<script", "<b>", "<title>evil</title>", `fill="green"`, "\u202e"} {
		if strings.Contains(svg, bad) {
			t.Errorf("SVG contains %q:\n%s", bad, svg)
		}
	}
	if !strings.Contains(svg, "&lt;script&gt;alert(1)") || !strings.Contains(svg, "&amp;#x202e;") || !strings.Contains(svg, `stroke="red"`) {
		t.Errorf("SVG lacks the escaped name or the failed step's colour:\n%s", svg)
	}
}
