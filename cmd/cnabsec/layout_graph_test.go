package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/cnabsec/cnabsec/layouts"
	"github.com/cnabsec/cnabsec/signer"
	"github.com/cnabsec/cnabsec/verifier"
)

// walkthroughLayoutFile signs examples/layout.yaml with `layout create`,
// with keys generated where it names them, and returns root.layout's path.
func walkthroughLayoutFile(t *testing.T) string {
	t.Helper()
	tpl, err := os.ReadFile("../../examples/layout.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	t.Chdir(dir)
	if err := os.Mkdir("keys", 0o755); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"keys/owner", "keys/dev", "keys/ci"} {
		if code, _, errs := runCLI(t, "key", "generate", "--unencrypted", k); code != 0 {
			t.Fatalf("key generate %s: %s", k, errs)
		}
	}
	if err := os.WriteFile("layout.yaml", tpl, 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, errs := runCLI(t, "layout", "create", "layout.yaml", "--key", "keys/owner.key", "--out", "root.layout"); code != 0 {
		t.Fatalf("layout create: %s", errs)
	}
	return filepath.Join(dir, "root.layout")
}

// `layout graph` writes the walkthrough layout's DOT: both steps with their
// key and threshold and the bundle.json flows; --out writes it to a file.
func TestLayoutGraphCommandDrawsTheWalkthroughLayout(t *testing.T) {
	path := walkthroughLayoutFile(t)
	code, out, errs := runCLI(t, "layout", "graph", path)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{
		`digraph layout {`, `label="root.layout"`,
		`step0 [label="step: write-bundle\nthreshold 1 of 1 key(s)\nkeys: `,
		`step1 [label="step: package\nthreshold 1 of 1 key(s)\nkeys: `,
		`step0 -> step1 [label="bundle.json\nproducts → materials"];`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("DOT lacks %q:\n%s", want, out)
		}
	}
	if code, _, errs := runCLI(t, "layout", "graph", path, "--out", "graph.dot"); code != 0 {
		t.Fatalf("--out: exit %d: %s", code, errs)
	}
	if b, _ := os.ReadFile("graph.dot"); string(b) != out {
		t.Errorf("graph.dot differs from standard output:\n%s", b)
	}
}

// Without Graphviz, --format svg (and verify --graph FILE.svg, before
// verifying) is a usage error that says what to install, and nothing is
// written; so are an unknown format and a file that is not a
// layout.
func TestLayoutGraphSVGWithoutGraphvizExitsTwoSayingSo(t *testing.T) {
	path := walkthroughLayoutFile(t)
	t.Setenv("PATH", t.TempDir())
	code, _, errs := runCLI(t, "layout", "graph", path, "--format", "svg", "--out", "graph.svg")
	if code != 2 || !strings.Contains(errs, "SVG needs Graphviz's dot, which is not installed (apt-get install graphviz)") {
		t.Fatalf("exit %d: %s", code, errs)
	}
	code, _, errs = runCLI(t, "verify", "example.com/org/app:1.0", "--trust-root", "root.json", "--metadata", "repo", "--graph", "chain.svg")
	if code != 2 || !strings.Contains(errs, "--graph chain.svg: SVG needs Graphviz's dot") {
		t.Fatalf("verify --graph: exit %d: %s", code, errs)
	}
	if _, err := os.Stat("graph.svg"); !os.IsNotExist(err) {
		t.Errorf("graph.svg written: %v", err)
	}
	code, _, errs = runCLI(t, "layout", "graph", path, "--format", "png")
	if code != 2 || !strings.Contains(errs, `--format "png": want dot or svg`) {
		t.Fatalf("png: exit %d: %s", code, errs)
	}
	code, _, errs = runCLI(t, "layout", "graph", "layout.yaml")
	if code != 2 || !strings.Contains(errs, "layout.yaml: layout: ") {
		t.Fatalf("template: exit %d: %s", code, errs)
	}
}

// nodeLine is the DOT statement of the node labelled "step: NAME".
func nodeLine(t *testing.T, dot, name string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^  \w+ \[label="step: ` + regexp.QuoteMeta(name) + `\\n.*$`).FindString(dot)
	if m == "" {
		t.Fatalf("no node for step %s:\n%s", name, dot)
	}
	return m
}

// A release whose package link is signed by the developer, not by a
// functionary of the step, is denied; verify --graph draws the layout with
// the package step red (failed) and write-bundle green (passed).
func TestVerifyGraphColoursTheFailingStepRed(t *testing.T) {
	s, flags := provenanceRelease(t)
	ctx := context.Background()
	chain, links := t.TempDir(), t.TempDir()
	bundle := filepath.Join(chain, "bundle.json")
	if err := os.WriteFile(bundle, s.BundleJSON, 0o644); err != nil {
		t.Fatal(err)
	}
	for name, key := range map[string]string{"write-bundle": "developer", "package": "developer"} {
		o := layouts.StepOptions{Name: name, Key: s.Keys[key], Products: []string{"bundle.json"}, Dir: chain, OutDir: links}
		if _, _, err := layouts.RunStep(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := signer.Sign(ctx, s.Repo, s.Signing("releases"), signer.Item{Kind: "bundle", Ref: s.BundleRef, File: bundle, Links: links}); err != nil {
		t.Fatal(err)
	}
	graph := filepath.Join(t.TempDir(), "verify.dot")
	code, _, errs := runCLI(t, append([]string{"verify", s.BundleRef, "--graph", graph}, flags...)...)
	if code != 1 {
		t.Fatalf("exit %d, want 1 (denied): %s", code, errs)
	}
	b, err := os.ReadFile(graph)
	if err != nil {
		t.Fatal(err)
	}
	dot := string(b)
	if l := nodeLine(t, dot, "package"); !strings.Contains(l, `result: fail", color="red"`) {
		t.Errorf("package step not red: %s", l)
	}
	if l := nodeLine(t, dot, "write-bundle"); !strings.Contains(l, `result: pass", color="darkgreen"`) {
		t.Errorf("write-bundle step not green: %s", l)
	}
}

// Each check counts for the step or inspection it names, read exactly
// after the artifact's subject: a step named "a products" is not step
// "a", checks of another artifact or inside a sublayout count for none,
// and inspections refused together all fail.
func TestVerifyGraphStatesFollowTheChecksOfEachStep(t *testing.T) {
	g := &layouts.Graph{Nodes: []layouts.GraphNode{
		{Name: "a", Kind: layouts.NodeStep}, {Name: "a products", Kind: layouts.NodeStep}, {Name: "b", Kind: layouts.NodeStep},
		{Name: "i1", Kind: layouts.NodeInspection}, {Name: "i2", Kind: layouts.NodeInspection},
	}}
	checks := []verifier.Check{
		{Name: layouts.CheckStepLinks, Subject: "app:1.0: a", Status: verifier.Pass},
		{Name: layouts.CheckStepLinks, Subject: "app:1.0: a products", Status: verifier.Pass},
		{Name: layouts.CheckArtifactRules, Subject: "app:1.0: a products materials", Status: verifier.Fail},
		{Name: layouts.CheckArtifactRules, Subject: "app:1.0: a products", Status: verifier.Pass},
		{Name: layouts.CheckStepLinks, Subject: "web:1.0: b", Status: verifier.Fail},
		{Name: layouts.CheckStepLinks, Subject: "app:1.0: a.12345678/b", Status: verifier.Fail},
		{Name: layouts.CheckArtifactRules, Subject: "app:1.0: all steps", Status: verifier.Skip},
		{Name: layouts.CheckInspection, Subject: "app:1.0: i1, i2", Status: verifier.Fail},
	}
	got := stepStates(checks, "app:1.0", g)
	want := map[string]layouts.NodeState{"a": layouts.StatePass, "a products": layouts.StateFail, "i1": layouts.StateFail, "i2": layouts.StateFail}
	if len(got) != len(want) {
		t.Fatalf("states %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %s, want %s", k, got[k], v)
		}
	}
}
