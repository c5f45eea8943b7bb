package layouts

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/in-toto/in-toto-golang/in_toto"

	"github.com/cnabsec/cnabsec/internal/fault"
)

// Graph bounds: a drawing past them would be unreadable, and Graphviz's
// layout time grows quickly with the number of nodes and edges.
const (
	MaxGraphNodes = 200
	MaxGraphEdges = 2000
	// maxLabelRunes shortens long names and patterns in labels.
	maxLabelRunes = 64
	maxTitleRunes = 160
	// maxKeysShown is the number of functionary key IDs a step's label lists.
	maxKeysShown = 6
)

// ErrGraphTooLarge is wrapped by the refusal to draw a layout with more
// steps and inspections than MaxGraphNodes or more flows than MaxGraphEdges.
var ErrGraphTooLarge = errors.New("layout too large to draw")

// NodeKind says whether a graph node is a step or an inspection.
type NodeKind string

// Node kinds.
const (
	NodeStep       NodeKind = "step"
	NodeInspection NodeKind = "inspection"
)

// GraphNode is one step or inspection of a layout.
type GraphNode struct {
	// ID is the node's identifier in DOT ("step0", "inspection1"): never
	// derived from the layout's text.
	ID   string   `json:"id"`
	Name string   `json:"name"`
	Kind NodeKind `json:"kind"`
	// KeyIDs are the step's functionary key IDs, shortened to the 8 hex
	// digits link file names use.
	KeyIDs    []string `json:"keyIDs,omitempty"`
	Threshold int      `json:"threshold,omitempty"`
	// Run is an inspection's command.
	Run []string `json:"run,omitempty"`
}

// EdgeKind says what an edge stands for.
type EdgeKind string

// Edge kinds.
const (
	// EdgeFlow: a MATCH rule of To takes artifacts of From.
	EdgeFlow EdgeKind = "flow"
	// EdgeOrder: To comes after From in the layout.
	EdgeOrder EdgeKind = "order"
)

// GraphEdge is a material/product flow or the layout order between two nodes.
type GraphEdge struct {
	From string   `json:"from"`
	To   string   `json:"to"`
	Kind EdgeKind `json:"kind"`
	// Pattern, From/To sides (MATERIALS or PRODUCTS) describe a flow: the
	// rule "MATCH Pattern WITH FromSide FROM From" in To's ToSide list.
	Pattern  string `json:"pattern,omitempty"`
	FromSide string `json:"fromSide,omitempty"`
	ToSide   string `json:"toSide,omitempty"`
}

// Graph is a layout's supply chain: its steps and inspections in layout
// order and the edges between them.
type Graph struct {
	Nodes []GraphNode `json:"nodes"`
	Edges []GraphEdge `json:"edges"`
}

// NodeState is a step's verification result, for colouring a graph.
type NodeState string

// Node states.
const (
	StatePass       NodeState = "pass"
	StateFail       NodeState = "fail"
	StateNotReached NodeState = "not reached"
)

// BuildGraph returns the graph of a parsed, validated layout (ReadLayout's
// LayoutInfo.Layout). Flows come from MATCH rules naming another step or
// inspection; order edges join consecutive steps and the last step to each
// inspection. It refuses (fault.Input wrapping ErrGraphTooLarge) layouts
// past MaxGraphNodes or MaxGraphEdges.
func BuildGraph(l *in_toto.Layout) (*Graph, error) {
	if n := len(l.Steps) + len(l.Inspect); n > MaxGraphNodes {
		return nil, fault.Inputf("layout: %d steps and inspections: %w (at most %d)", n, ErrGraphTooLarge, MaxGraphNodes)
	}
	g := &Graph{}
	ids := map[string]string{}
	for i, s := range l.Steps {
		n := GraphNode{ID: fmt.Sprintf("step%d", i), Name: s.Name, Kind: NodeStep, KeyIDs: shortKeyIDs(s.PubKeys), Threshold: max(1, s.Threshold)}
		g.Nodes, ids[s.Name] = append(g.Nodes, n), n.ID
	}
	for i, in := range l.Inspect {
		n := GraphNode{ID: fmt.Sprintf("inspection%d", i), Name: in.Name, Kind: NodeInspection, Run: in.Run}
		g.Nodes, ids[in.Name] = append(g.Nodes, n), n.ID
	}
	g.addOrder(l)
	for _, s := range l.Steps {
		g.addFlows(ids, s.Name, s.ExpectedMaterials, s.ExpectedProducts)
	}
	for _, in := range l.Inspect {
		g.addFlows(ids, in.Name, in.ExpectedMaterials, in.ExpectedProducts)
	}
	if len(g.Edges) > MaxGraphEdges {
		return nil, fault.Inputf("layout: %d flows and order edges: %w (at most %d)", len(g.Edges), ErrGraphTooLarge, MaxGraphEdges)
	}
	return g, nil
}

// addOrder adds the order edges: step to next step, last step to each inspection.
func (g *Graph) addOrder(l *in_toto.Layout) {
	for i := 1; i < len(l.Steps); i++ {
		g.Edges = append(g.Edges, GraphEdge{From: g.Nodes[i-1].ID, To: g.Nodes[i].ID, Kind: EdgeOrder})
	}
	last := g.Nodes[len(l.Steps)-1].ID
	for i := range l.Inspect {
		g.Edges = append(g.Edges, GraphEdge{From: last, To: g.Nodes[len(l.Steps)+i].ID, Kind: EdgeOrder})
	}
}

// addFlows adds an edge for every MATCH rule of item that names a step or
// inspection of the layout. It stops adding once past MaxGraphEdges (the
// caller refuses the graph).
func (g *Graph) addFlows(ids map[string]string, item string, mats, prods [][]string) {
	for i, rules := range [][][]string{mats, prods} {
		side := [...]string{"MATERIALS", "PRODUCTS"}[i]
		for _, r := range rules {
			if len(g.Edges) > MaxGraphEdges {
				return
			}
			rd, err := in_toto.UnpackRule(r)
			if err != nil || rd["type"] != "match" {
				continue
			}
			from, ok := ids[rd["dstName"]]
			if !ok {
				continue
			}
			g.Edges = append(g.Edges, GraphEdge{From: from, To: ids[item], Kind: EdgeFlow,
				Pattern: rd["pattern"], FromSide: strings.ToUpper(rd["dstType"]), ToSide: side})
		}
	}
}

// keyList is the key IDs for a label, at most maxKeysShown of them.
func keyList(ids []string) string {
	if len(ids) <= maxKeysShown {
		return strings.Join(ids, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(ids[:maxKeysShown], ", "), len(ids)-maxKeysShown)
}

func shortKeyIDs(ids []string) []string {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if len(id) > 8 {
			id = id[:8]
		}
		out = append(out, id)
	}
	return out
}

// DOTOptions colour a graph by verification result.
type DOTOptions struct {
	// States maps node names (steps and inspections) to their result; a
	// node not in the map is drawn uncoloured, unless States is non-nil,
	// when it is drawn as not reached.
	States map[string]NodeState
	// Title is shown above the graph (the layout's file name).
	Title string
}

// stateStyle is the DOT style of each result: colour and a word in the
// label, so the result does not rest on colour alone.
var stateStyle = map[NodeState]string{
	StatePass:       `color="darkgreen", fillcolor="#d9f2d9", style="filled"`,
	StateFail:       `color="red", fillcolor="#f8d0d0", style="filled,bold"`,
	StateNotReached: `color="gray50", fillcolor="#eeeeee", style="filled,dashed"`,
}

// WriteDOT writes the graph in Graphviz's DOT language. Every text that
// comes from the layout (names, patterns, commands) appears only inside a
// quoted label, escaped, with control and format characters shown as
// escapes: it can neither end the label nor add attributes or nodes.
func (g *Graph) WriteDOT(w io.Writer, opts DOTOptions) error {
	return WriteDOTs(w, []Drawing{{Graph: g, Options: opts}})
}

// Drawing is one layout's graph and how to draw it, for WriteDOTs.
type Drawing struct {
	Graph   *Graph
	Options DOTOptions
}

// MaxDrawingNodes bounds the nodes of all the drawings WriteDOTs puts in one
// DOT graph.
const MaxDrawingNodes = 1000

// WriteDOTs writes several layouts' graphs (one per artifact of a release)
// as one DOT graph, each in a cluster titled by its options; one drawing is
// written as WriteDOT does. It refuses (ErrGraphTooLarge) more than
// MaxDrawingNodes nodes in all.
func WriteDOTs(w io.Writer, drawings []Drawing) error {
	total := 0
	for _, d := range drawings {
		total += len(d.Graph.Nodes)
	}
	if total > MaxDrawingNodes {
		return fault.Inputf("%d steps and inspections in %d layouts: %w (at most %d)", total, len(drawings), ErrGraphTooLarge, MaxDrawingNodes)
	}
	var b strings.Builder
	b.WriteString("digraph layout {\n")
	b.WriteString("  graph [rankdir=\"LR\", fontname=\"Helvetica\", labelloc=\"t\"")
	if len(drawings) == 1 && drawings[0].Options.Title != "" {
		fmt.Fprintf(&b, ", label=%s", dotQuote(drawings[0].Options.Title))
	}
	b.WriteString("];\n  node [shape=\"box\", fontname=\"Helvetica\"];\n  edge [fontname=\"Helvetica\", fontsize=\"10\"];\n")
	if len(drawings) == 1 {
		drawings[0].Graph.writeBody(&b, "", drawings[0].Options)
	} else {
		writeClusters(&b, drawings)
	}
	b.WriteString("}\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// writeClusters writes each drawing as a titled cluster, its node IDs
// prefixed "aN_" (N its index).
func writeClusters(b *strings.Builder, drawings []Drawing) {
	for i, d := range drawings {
		fmt.Fprintf(b, "  subgraph cluster_%d {\n  graph [label=%s];\n", i, dotQuote(d.Options.Title))
		d.Graph.writeBody(b, fmt.Sprintf("a%d_", i), d.Options)
		b.WriteString("  }\n")
	}
}

// writeBody writes the nodes and edges, their IDs prefixed.
func (g *Graph) writeBody(b *strings.Builder, prefix string, opts DOTOptions) {
	for _, n := range g.Nodes {
		g.writeNode(b, prefix, n, opts)
	}
	for _, e := range g.Edges {
		writeEdge(b, prefix, e)
	}
}

func (g *Graph) writeNode(b *strings.Builder, prefix string, n GraphNode, opts DOTOptions) {
	lines := []string{string(n.Kind) + ": " + display(n.Name)}
	switch n.Kind {
	case NodeStep:
		lines = append(lines, fmt.Sprintf("threshold %d of %d key(s)", n.Threshold, len(n.KeyIDs)))
		lines = append(lines, "keys: "+keyList(n.KeyIDs))
	case NodeInspection:
		lines = append(lines, "run: "+display(strings.Join(n.Run, " ")))
	}
	attrs := ""
	if opts.States != nil {
		st, ok := opts.States[n.Name]
		if !ok {
			st = StateNotReached
		}
		lines = append(lines, "result: "+string(st))
		attrs = ", " + stateStyle[st]
	}
	if n.Kind == NodeInspection {
		attrs += `, shape="ellipse"`
	}
	fmt.Fprintf(b, "  %s%s [label=%s%s];\n", prefix, n.ID, dotLines(lines), attrs)
}

func writeEdge(b *strings.Builder, prefix string, e GraphEdge) {
	if e.Kind == EdgeOrder {
		fmt.Fprintf(b, "  %s%s -> %s%s [style=\"dashed\", color=\"gray60\", arrowhead=\"open\"];\n", prefix, e.From, prefix, e.To)
		return
	}
	label := fmt.Sprintf("%s\n%s → %s", display(e.Pattern), strings.ToLower(e.FromSide), strings.ToLower(e.ToSide))
	fmt.Fprintf(b, "  %s%s -> %s%s [label=%s];\n", prefix, e.From, prefix, e.To, dotLines(strings.Split(label, "\n")))
}

// dotLines is a quoted DOT label of centred lines.
func dotLines(lines []string) string {
	q := make([]string, len(lines))
	for i, l := range lines {
		q[i] = dotEscape(l)
	}
	return `"` + strings.Join(q, `\n`) + `"`
}

// dotQuote is s as one quoted DOT string.
func dotQuote(s string) string { return `"` + dotEscape(displayN(s, maxTitleRunes)) + `"` }

// dotEscape escapes a display string (no control characters) for the
// inside of a quoted DOT label: a backslash would start an escape sequence
// (\N, \G, \l ...), a quote would end the string, and Graphviz decodes
// character entities (&#x202e; would become a bidirectional override).
func dotEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, `&`, `&amp;`).Replace(s)
}

// display shortens s to maxLabelRunes and shows invalid UTF-8, control and
// format characters (newlines, bidirectional overrides) as Go escapes, so a
// name cannot break a label into lines that pose as other fields or reorder
// what the reader sees.
func display(s string) string { return displayN(s, maxLabelRunes) }

// displayN is display shortening to limit runes.
func displayN(s string, limit int) string {
	var b strings.Builder
	n := 0
	for i, r := range s {
		if n == limit {
			b.WriteString("…")
			break
		}
		n++
		switch {
		case r == utf8.RuneError && isInvalidAt(s, i):
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029':
			b.WriteString(strings.Trim(fmt.Sprintf("%+q", string(r)), `"`))
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func isInvalidAt(s string, i int) bool {
	_, size := utf8.DecodeRuneInString(s[i:])
	return size == 1
}
