package layouts

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/in-toto/in-toto-golang/in_toto"

	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/keys"
)

// walkthroughLayout signs the walkthrough's template (examples/layout.yaml)
// with fresh keys placed where it names them.
func walkthroughLayout(t *testing.T) *in_toto.Layout {
	t.Helper()
	tpl, err := os.ReadFile("../examples/layout.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "keys"), 0o755); err != nil {
		t.Fatal(err)
	}
	writePub(t, filepath.Join(dir, "keys"), "dev.pub", genKey(t, keys.GenEd25519))
	writePub(t, filepath.Join(dir, "keys"), "ci.pub", genKey(t, keys.GenEd25519))
	return readTemplate(t, string(tpl), dir)
}

func readTemplate(t *testing.T, tpl, dir string) *in_toto.Layout {
	t.Helper()
	mb, err := Create([]byte(tpl), []keys.Signer{genKey(t, keys.GenEd25519)}, dir, testNow)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Marshal(mb)
	if err != nil {
		t.Fatal(err)
	}
	info, err := ReadLayout(b, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &info.Layout
}

// dotStatement matches the statements WriteDOT emits: a node with a quoted
// label, or an edge between two node IDs, each with attributes.
var dotStatement = regexp.MustCompile(`^  (\w+)(?: -> (\w+))? \[(.*)\];$`)

// dotQuoted matches one quoted DOT string: no unescaped quote inside.
var dotQuoted = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)

type parsedDOT struct {
	labels map[string]string // node ID -> label
	attrs  map[string]string // node ID -> all attributes
	edges  []string          // "from -> to: attributes"
}

// parseDOT checks the structure of WriteDOT's output line by line: a
// header, node and edge statements whose attribute lists are key=quoted
// value pairs, and the closing brace. It fails the test on anything else.
func parseDOT(t *testing.T, dot string) parsedDOT {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(dot, "\n"), "\n")
	if lines[0] != "digraph layout {" || lines[len(lines)-1] != "}" {
		t.Fatalf("not a digraph:\n%s", dot)
	}
	p := parsedDOT{labels: map[string]string{}, attrs: map[string]string{}}
	for _, l := range lines[1 : len(lines)-1] {
		m := dotStatement.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("unexpected DOT line %q", l)
		}
		rest := dotQuoted.ReplaceAllString(m[3], "Q")
		if !regexp.MustCompile(`^\w+=Q(, \w+=Q)*$`).MatchString(rest) {
			t.Fatalf("attributes are not key=\"value\" pairs in %q (%q)", l, rest)
		}
		switch {
		case m[1] == "graph" || m[1] == "node" || m[1] == "edge":
		case m[2] != "":
			p.edges = append(p.edges, m[1]+" -> "+m[2]+": "+m[3])
		default:
			p.attrs[m[1]] = m[3]
			p.labels[m[1]] = dotQuoted.FindString(strings.TrimPrefix(m[3], "label="))
		}
	}
	return p
}

func dotOf(t *testing.T, l *in_toto.Layout, opts DOTOptions) string {
	t.Helper()
	g, err := BuildGraph(l)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := g.WriteDOT(&b, opts); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// The walkthrough's layout draws as two steps with their functionary key
// IDs and thresholds, joined by the bundle.json flows of its MATCH rules
// and the order edge.
func TestLayoutGraphOfTheWalkthroughShowsStepsKeysThresholdsAndFlows(t *testing.T) {
	l := walkthroughLayout(t)
	p := parseDOT(t, dotOf(t, l, DOTOptions{Title: "root.layout"}))
	if len(p.labels) != 2 {
		t.Fatalf("nodes %v", p.labels)
	}
	for i, s := range l.Steps {
		want := fmt.Sprintf(`"step: %s\nthreshold 1 of 1 key(s)\nkeys: %s"`, s.Name, s.PubKeys[0][:8])
		if got := p.labels[fmt.Sprintf("step%d", i)]; got != want {
			t.Errorf("step%d label %s, want %s", i, got, want)
		}
	}
	want := []string{
		`step0 -> step1: style="dashed", color="gray60", arrowhead="open"`,
		`step0 -> step1: label="bundle.json\nproducts → materials"`,
		`step0 -> step1: label="bundle.json\nproducts → products"`,
	}
	if strings.Join(p.edges, "\n") != strings.Join(want, "\n") {
		t.Errorf("edges\n%s\nwant\n%s", strings.Join(p.edges, "\n"), strings.Join(want, "\n"))
	}
}

// hostileTemplate has step names and patterns that try to end the label,
// add attributes or statements, break lines to pose as other fields, and
// inject HTML into an SVG rendering.
const hostileTemplate = `steps:
  - name: "x\", color=\"green\"]; evil [label=\"pwned"
    functionaries: [dev.pub]
    expected_products: [[CREATE, "a\"];}\n<script>alert(1)</script>"]]
  - name: "two\nthreshold 9 of 9 key(s)}{<b>&#x202e;"
    functionaries: [dev.pub]
    expected_materials: [[MATCH, "a\"];}\n<script>alert(1)</script>", WITH, PRODUCTS, FROM, "x\", color=\"green\"]; evil [label=\"pwned"]]
inspect:
  - name: "<script>alert(\"i\")<script>\u202e}"
    run: [sh, -c, "echo \"}\" \\N\n"]
`

// Names and patterns from the layout cannot escape their quoted label: the
// DOT keeps its structure, newlines and format characters show as escapes,
// a backslash cannot form a Graphviz escape sequence (\N) nor an
// ampersand a character entity.
func TestLayoutGraphOfAHostileLayoutIsValidEscapedDOT(t *testing.T) {
	dir, _ := templateDir(t)
	l := readTemplate(t, hostileTemplate, dir)
	dot := dotOf(t, l, DOTOptions{States: map[string]NodeState{l.Steps[0].Name: StateFail}})
	p := parseDOT(t, dot)
	if len(p.labels) != 3 || len(p.edges) != 3 {
		t.Fatalf("want 3 nodes and 3 edges, got %v %v\n%s", p.labels, p.edges, dot)
	}
	for id, want := range map[string]string{
		"step0":       `"step: x\", color=\"green\"]; evil [label=\"pwned\nthreshold 1 of 1 key(s)\nkeys: `,
		"step1":       `"step: two\\nthreshold 9 of 9 key(s)}{<b>&amp;#x202e;\nthreshold 1 of 1 key(s)`,
		"inspection0": `"inspection: <script>alert(\"i\")<script>\\u202e}\nrun: sh -c echo \"}\" \\N\\n\nresult: not reached"`,
	} {
		if !strings.HasPrefix(p.labels[id], want) {
			t.Errorf("%s label %s\nwant prefix %s", id, p.labels[id], want)
		}
	}
	if !strings.Contains(p.attrs["step0"], `result: fail", color="red"`) || strings.Contains(p.attrs["step0"], `color="green"`+",") {
		t.Errorf("step0 attributes %s", p.attrs["step0"])
	}
	if !strings.Contains(dot, `label="a\"];}\\n<script>alert(1)</script>\nproducts → materials"`) {
		t.Errorf("flow label not escaped:\n%s", dot)
	}
}

// A layout with more steps than can be drawn is refused with a typed error.
func TestLayoutGraphPastTheNodeBoundIsRefused(t *testing.T) {
	l := &in_toto.Layout{}
	for i := 0; i <= MaxGraphNodes; i++ {
		l.Steps = append(l.Steps, in_toto.Step{SupplyChainItem: in_toto.SupplyChainItem{Name: fmt.Sprint("s", i)}, Threshold: 1})
	}
	_, err := BuildGraph(l)
	if !errors.Is(err, ErrGraphTooLarge) || !fault.Is(err, fault.Input) || !strings.Contains(err.Error(), "201 steps and inspections") {
		t.Fatalf("got %v", err)
	}
}

// Long names and key lists are shortened in labels; invalid UTF-8 and
// format characters show as escapes.
func TestLayoutGraphShortensLongNames(t *testing.T) {
	got := display(strings.Repeat("a", 100))
	if got != strings.Repeat("a", maxLabelRunes)+"…" {
		t.Fatalf("%q", got)
	}
	if got := display("a\xffb\u202e"); got != `a\xffb\u202e` {
		t.Fatalf("%q", got)
	}
	if got := keyList(strings.Split("1 2 3 4 5 6 7 8", " ")); got != "1, 2, 3, 4, 5, 6 and 2 more" {
		t.Fatalf("%q", got)
	}
}

// Several layouts are drawn as titled clusters whose node IDs cannot
// collide; a hostile title stays inside its quoted label.
func TestLayoutGraphsOfSeveralArtifactsAreSeparateClusters(t *testing.T) {
	l := walkthroughLayout(t)
	g, err := BuildGraph(l)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	err = WriteDOTs(&b, []Drawing{{Graph: g, Options: DOTOptions{Title: "img\"]; x [label=\"y"}}, {Graph: g, Options: DOTOptions{Title: "app:1.0"}}})
	if err != nil {
		t.Fatal(err)
	}
	dot := b.String()
	for _, want := range []string{
		"  subgraph cluster_0 {\n  graph [label=\"img\\\"]; x [label=\\\"y\"];\n  a0_step0 [label=",
		"  subgraph cluster_1 {\n  graph [label=\"app:1.0\"];\n  a1_step0 [label=",
		"  a1_step0 -> a1_step1 [label=\"bundle.json\\nproducts → materials\"];\n",
	} {
		if !strings.Contains(dot, want) {
			t.Errorf("DOT lacks %q:\n%s", want, dot)
		}
	}
	many := make([]Drawing, MaxDrawingNodes/2+1)
	for i := range many {
		many[i] = Drawing{Graph: g}
	}
	if err := WriteDOTs(&b, many); !errors.Is(err, ErrGraphTooLarge) {
		t.Fatalf("%d nodes: %v", 2*len(many), err)
	}
}
