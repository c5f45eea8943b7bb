package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/cnabsec/cnabsec/internal/atomicfile"
	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/layouts"
	"github.com/cnabsec/cnabsec/verifier"
)

// Bounds of a Graphviz run: its time and the SVG it may write.
const (
	dotTimeout     = 30 * time.Second
	maxSVGBytes    = 32 << 20
	maxDotStderr   = 4 << 10
	graphFormatDOT = "dot"
	graphFormatSVG = "svg"
)

func layoutGraphCommand() *cli.Command {
	return &cli.Command{
		Name:      "graph",
		Usage:     "draw a root layout's supply chain as Graphviz DOT or SVG",
		UsageText: "cnabsec layout graph LAYOUT [--format dot|svg] [--out FILE]",
		Description: `Draws the steps and inspections of a root layout: each step with its
functionary key IDs (the 8 hex digits link file names use) and threshold,
each inspection with its command, the material/product flows of MATCH rules
(MATCH PATTERN WITH PRODUCTS FROM STEP) as labelled arrows and the layout
order as dashed arrows. The signatures are not checked: this only reads the
layout's structure.

--format dot (the default) writes the DOT text; --format svg runs Graphviz's
dot (apt-get install graphviz; exit 2 when it is not installed), bounded to
30 seconds and 32 MiB of SVG. Names and patterns from the layout are shown
as text, escaped: a hostile name cannot add nodes, attributes or markup.
Layouts of more than 200 steps and inspections are refused (exit 2).

Example:
   cnabsec layout graph root.layout --format svg --out supply-chain.svg
   cnabsec layout graph root.layout | dot -Tpng > supply-chain.png`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "format", Value: graphFormatDOT, Usage: "dot (the DOT text) or svg (rendered by Graphviz's dot)"},
			&cli.StringFlag{Name: "out", Usage: "write the graph to `FILE` (default standard output)"},
		},
		Action: func(c *cli.Context) error {
			path, err := onePositional(c, "LAYOUT")
			if err != nil {
				return err
			}
			format := c.String("format")
			if err := checkGraphFormat(format); err != nil {
				return err
			}
			b, err := intotoReadFile(path, "layout")
			if err != nil {
				return err
			}
			g, err := readGraph(path, b)
			if err != nil {
				return err
			}
			return writeGraph(c, g, layouts.DOTOptions{Title: filepath.Base(path)}, format, c.String("out"))
		},
	}
}

// checkGraphFormat refuses an unknown format, and svg without Graphviz.
func checkGraphFormat(format string) error {
	switch format {
	case graphFormatDOT:
		return nil
	case graphFormatSVG:
		if _, err := exec.LookPath("dot"); err != nil {
			return fault.Inputf("SVG needs Graphviz's dot, which is not installed (apt-get install graphviz); DOT needs nothing (layout graph --format dot, verify --graph FILE.dot)")
		}
		return nil
	}
	return fault.Inputf("--format %q: want dot or svg", format)
}

// readGraph parses a layout file and builds its graph (fault.Input naming
// the file when it is not a layout or too large to draw).
func readGraph(path string, b []byte) (*layouts.Graph, error) {
	info, err := layouts.ReadLayout(b, nil)
	if err != nil {
		return nil, fault.Inputf("%s: %w", path, err)
	}
	g, err := layouts.BuildGraph(&info.Layout)
	if err != nil {
		return nil, fault.Inputf("%s: %w", path, err)
	}
	return g, nil
}

// writeGraph renders the graph in format and writes it to out (atomically)
// or, without out, to standard output.
func writeGraph(c *cli.Context, g *layouts.Graph, opts layouts.DOTOptions, format, out string) error {
	return writeDrawings(c, []layouts.Drawing{{Graph: g, Options: opts}}, format, out)
}

// writeDrawings is writeGraph for several layouts' graphs.
func writeDrawings(c *cli.Context, drawings []layouts.Drawing, format, out string) error {
	var dot bytes.Buffer
	if err := layouts.WriteDOTs(&dot, drawings); err != nil {
		return err
	}
	data := dot.Bytes()
	if format == graphFormatSVG {
		var err error
		if data, err = renderSVG(c.Context, data); err != nil {
			return err
		}
	}
	if out == "" {
		_, err := c.App.Writer.Write(data)
		return err
	}
	if err := atomicfile.WriteFile(out, data, 0o644); err != nil {
		return fault.Inputf("writing graph %s: %w", out, err)
	}
	return nil
}

// renderSVG runs dot -Tsvg on a DOT text, bounded in time and output.
func renderSVG(ctx context.Context, dot []byte) ([]byte, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	bin, err := exec.LookPath("dot")
	if err != nil {
		return nil, fault.Inputf("Graphviz's dot is not installed (apt-get install graphviz): %v", err)
	}
	ctx, cancel := context.WithTimeout(ctx, dotTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-Tsvg")
	cmd.Stdin = bytes.NewReader(dot)
	stdout, stderr := &boundedBuffer{max: maxSVGBytes}, &boundedBuffer{max: maxDotStderr, truncate: true}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.WaitDelay = 2 * time.Second
	err = cmd.Run()
	switch {
	case stdout.over:
		return nil, fault.Inputf("dot -Tsvg wrote more than %d bytes of SVG: the graph is too large to render", maxSVGBytes)
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return nil, fault.Inputf("dot -Tsvg did not finish within %s: the graph is too large to render", dotTimeout)
	case err != nil:
		return nil, fault.Inputf("dot -Tsvg: %v: %s", err, strings.TrimSpace(stderr.String()))
	}
	return stdout.Bytes(), nil
}

// boundedBuffer keeps at most max bytes; past it, it fails the write (so
// the writer stops) or, with truncate, drops the rest.
type boundedBuffer struct {
	bytes.Buffer
	max      int
	over     bool
	truncate bool
}

func (b *boundedBuffer) Write(p []byte) (int, error) {
	if b.Len()+len(p) > b.max {
		b.over = true
		if !b.truncate {
			return 0, fmt.Errorf("output past %d bytes", b.max)
		}
		b.Buffer.Write(p[:b.max-b.Len()])
		return len(p), nil
	}
	return b.Buffer.Write(p)
}

// graphFlag is verify's --graph.
func graphFlag() cli.Flag {
	return &cli.StringFlag{Name: "graph", Usage: "draw the artifact's in-toto layout to `FILE` with each step coloured by its result (FILE.svg: SVG by Graphviz's dot; else DOT)"}
}

// graphFileFormat is the format of a --graph FILE: svg by its extension,
// else dot; svg is refused up front when dot is not installed.
func graphFileFormat(file string) (string, error) {
	format := graphFormatDOT
	if strings.EqualFold(filepath.Ext(file), ".svg") {
		format = graphFormatSVG
	}
	if err := checkGraphFormat(format); err != nil {
		return "", fault.Inputf("--graph %s: %w", file, err)
	}
	return format, nil
}

// writeVerifyGraph is verify --graph: every layout the verification read
// (one per artifact with in-toto metadata: each image's, the bundle's), each
// step and inspection coloured by the result of its checks. Without a
// layout read it says so on stderr and writes nothing.
func writeVerifyGraph(c *cli.Context, report *verifier.Report, file, format string) error {
	var read []verifier.LayoutRead
	if report != nil {
		read = report.LayoutsRead()
	}
	if len(read) == 0 {
		fmt.Fprintf(c.App.ErrWriter, "cnabsec: warning: --graph %s: no in-toto layout was read, so there is nothing to draw\n", file)
		return nil
	}
	var drawings []layouts.Drawing
	for _, lr := range read {
		g, err := readGraph(lr.Name, lr.Layout)
		if err != nil {
			return err
		}
		opts := layouts.DOTOptions{Title: lr.Subject + ": " + lr.Name, States: stepStates(report.Checks, lr.Subject, g)}
		drawings = append(drawings, layouts.Drawing{Graph: g, Options: opts})
	}
	return writeDrawings(c, drawings, format, file)
}

// stepStates is the result of each step and inspection of g from the
// in-toto checks of one artifact (subjects "SUBJECT: STEP", "SUBJECT: STEP
// materials|products"): fail when one of its checks failed, pass when one
// passed and none failed; the others were not reached.
func stepStates(checks []verifier.Check, subject string, g *layouts.Graph) map[string]layouts.NodeState {
	states := map[string]layouts.NodeState{}
	names := map[string]bool{}
	var inspections []string
	for _, n := range g.Nodes {
		names[n.Name] = true
		if n.Kind == layouts.NodeInspection {
			inspections = append(inspections, n.Name)
		}
	}
	for _, ch := range checks {
		rest, ok := strings.CutPrefix(ch.Subject, subject+": ")
		if !ok {
			continue
		}
		for _, item := range checkedItems(ch.Name, rest, names, inspections) {
			mergeState(states, item, ch.Status)
		}
	}
	return states
}

// checkedItems are the steps or inspections an in-toto check is about.
func checkedItems(check, rest string, names map[string]bool, inspections []string) []string {
	switch check {
	case layouts.CheckArtifactRules:
		if r, ok := strings.CutSuffix(rest, " materials"); ok {
			rest = r
		} else {
			rest = strings.TrimSuffix(rest, " products")
		}
	case layouts.CheckInspection:
		if len(inspections) > 1 && rest == strings.Join(inspections, ", ") {
			return inspections // all refused at once
		}
	case layouts.CheckStepLinks, layouts.CheckStepCommand, layouts.CheckSublayout:
	default:
		return nil
	}
	if names[rest] {
		return []string{rest}
	}
	return nil
}

func mergeState(states map[string]layouts.NodeState, item string, st verifier.Status) {
	switch {
	case st == verifier.Fail:
		states[item] = layouts.StateFail
	case st == verifier.Skip:
	case states[item] != layouts.StateFail:
		states[item] = layouts.StatePass
	}
}

// verifyGraphFormat is the format of verify --graph FILE ("" without it).
func verifyGraphFormat(c *cli.Context) (string, error) {
	if !c.IsSet("graph") {
		return "", nil
	}
	return graphFileFormat(c.String("graph"))
}

// verifyGraph writes verify --graph after the report. A graph that cannot
// be written fails the command only when the verification succeeded;
// otherwise the verdict's error stands and the graph's is a warning.
func verifyGraph(c *cli.Context, report *verifier.Report, format string, verifyErr error) error {
	if format == "" {
		return nil
	}
	err := writeVerifyGraph(c, report, c.String("graph"), format)
	if err != nil && verifyErr != nil {
		fmt.Fprintf(c.App.ErrWriter, "cnabsec: warning: --graph: %v\n", err)
		return nil
	}
	return err
}
