package layouts

import (
	"strings"
	"testing"

	"github.com/in-toto/in-toto-golang/in_toto"
)

func TestExpectedCommandMismatchIsReportedAsAWarning(t *testing.T) {
	res := mustVerify(t, vectorInput(t))
	for _, c := range res.Checks {
		if c.Name == CheckStepCommand {
			if c.Status != Warn || !strings.Contains(c.Detail, "not enforced") {
				t.Fatalf("command mismatch reported as %+v, want a warning", c)
			}
			return
		}
	}
	t.Fatal("the command mismatch of the python vector's write-bundle step is not reported")
}

func TestVerificationRecordsTheFunctionaryKeysCounted(t *testing.T) {
	res := mustVerify(t, vectorInput(t))
	got := map[string][]string{}
	for _, f := range res.Functionaries {
		got[f.Step] = f.KeyIDs
	}
	if len(got["write-bundle"]) != 1 || !strings.HasPrefix(got["write-bundle"][0], "68a12d64") ||
		len(got["package"]) != 1 || !strings.HasPrefix(got["package"][0], "cbc48efe") {
		t.Fatalf("functionaries %+v, want write-bundle 68a12d64… and package cbc48efe…", res.Functionaries)
	}
}

func step(name string, keys []string, products ...[]string) in_toto.Step {
	s := in_toto.Step{PubKeys: keys, Threshold: 1}
	s.Name, s.ExpectedProducts = name, products
	return s
}

func warningText(ws []PartyWarning) string {
	var out []string
	for _, w := range ws {
		out = append(out, w.String())
	}
	return strings.Join(out, "\n")
}

// TestLayoutOnePartyCanSatisfyAloneIsWarned: layouts that let one key set,
// or the CI (releases) keys, reach the top alone are warned about, each
// naming the rule, the step and the keys; layouts that bind every step to
// the developer's product are not.
func TestLayoutOnePartyCanSatisfyAloneIsWarned(t *testing.T) {
	dev, ci := strings.Repeat("d", 64), strings.Repeat("c", 64)
	bound := []string{"MATCH", "bundle.json", "WITH", "PRODUCTS", "FROM", "write"}
	closed := []string{"DISALLOW", "*"}
	for _, c := range []struct {
		name  string
		steps []in_toto.Step
		want  string
	}{
		{"same keys everywhere", []in_toto.Step{step("write", []string{ci}, []string{"CREATE", "x"}), step("package", []string{ci}, bound)},
			"one key set (cccccccccccc) meets the threshold of every step"},
		{"one step", []in_toto.Step{step("package", []string{dev}, []string{"CREATE", "x"})},
			"one key set (dddddddddddd) meets the threshold of every step"},
		{"a key listed in every step, threshold 1", []in_toto.Step{step("write", []string{dev, ci}, []string{"CREATE", "bundle.json"}, closed), step("package", []string{ci}, bound, closed)},
			"one key set (cccccccccccc) meets the threshold of every step"},
		{"CI step creating content", []in_toto.Step{step("write", []string{dev}, []string{"CREATE", "bundle.src.json"}), step("package", []string{ci}, []string{"CREATE", "bundle.json"}, closed)},
			`step "package" can be performed by the CI keys alone (cccccccccccc) and its products may hold new bytes (CREATE bundle.json)`},
		{"CI among a step's functionaries, threshold 1", []in_toto.Step{step("write", []string{dev, ci}, []string{"CREATE", "bundle.json"}, closed), step("package", []string{dev}, bound, closed)},
			`step "write" can be performed by the CI keys alone (cccccccccccc) and its products may hold new bytes (CREATE bundle.json)`},
		{"CI step without a closing DISALLOW", []in_toto.Step{step("write", []string{dev}, []string{"CREATE", "bundle.json"}, closed), step("package", []string{ci}, bound)},
			`step "package" can be performed by the CI keys alone (cccccccccccc) and its products may hold new bytes (no closing DISALLOW "*"`},
		{"CI step matching what another CI step may create", []in_toto.Step{
			step("write", []string{dev}, []string{"CREATE", "bundle.src.json"}, closed),
			step("build", []string{ci}, []string{"CREATE", "bundle.json"}, closed),
			step("package", []string{ci}, []string{"MATCH", "bundle.json", "WITH", "PRODUCTS", "FROM", "build"}, closed)},
			`step "package" can be performed by the CI keys alone (cccccccccccc) and its products may hold new bytes (MATCH bundle.json WITH PRODUCTS FROM build (which the CI keys control))`},
		{"CI step matching, under a prefix, what another CI step may create", []in_toto.Step{
			step("write", []string{dev}, []string{"CREATE", "bundle.src.json"}, closed),
			step("build", []string{ci}, []string{"CREATE", "out/bundle.json"}, closed),
			step("package", []string{ci}, []string{"MATCH", "bundle.json", "WITH", "PRODUCTS", "IN", "out", "FROM", "build"}, closed)},
			`step "package" can be performed by the CI keys alone (cccccccccccc) and its products may hold new bytes (MATCH bundle.json WITH PRODUCTS IN out FROM build (which the CI keys control))`},
	} {
		l := in_toto.Layout{Steps: c.steps}
		if got := warningText(PartyWarnings(&l, []string{ci})); !strings.Contains(got, c.want) {
			t.Errorf("%s: warnings %q, want %q", c.name, got, c.want)
		}
	}
	for name, steps := range map[string][]in_toto.Step{
		"bound to the developer's product": {step("write", []string{dev}, []string{"CREATE", "bundle.json"}, closed), step("package", []string{ci}, bound, closed)},
		"CI needs the developer's signature too": {func() in_toto.Step {
			s := step("write", []string{dev, ci}, []string{"CREATE", "bundle.json"}, closed)
			s.Threshold = 2
			return s
		}(), step("package", []string{ci}, bound, closed)},
	} {
		l := in_toto.Layout{Steps: steps}
		if ws := PartyWarnings(&l, []string{ci}); len(ws) != 0 {
			t.Errorf("%s: warned %q", name, warningText(ws))
		}
	}
}
