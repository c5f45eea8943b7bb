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
	s := in_toto.Step{PubKeys: keys}
	s.Name, s.ExpectedProducts = name, products
	return s
}

func TestLayoutOnePartyCanSatisfyAloneIsWarned(t *testing.T) {
	dev, ci := strings.Repeat("d", 64), strings.Repeat("c", 64)
	for _, c := range []struct {
		name string
		l    in_toto.Layout
		want string
	}{
		{"same keys everywhere", in_toto.Layout{Steps: []in_toto.Step{
			step("write", []string{ci}, []string{"CREATE", "x"}), step("package", []string{ci}, []string{"MATCH", "x", "WITH", "PRODUCTS", "FROM", "write"})}},
			"every step has the same functionaries"},
		{"CI step creating content", in_toto.Layout{Steps: []in_toto.Step{
			step("write", []string{dev}, []string{"CREATE", "bundle.src.json"}), step("package", []string{ci}, []string{"CREATE", "bundle.json"})}},
			`step "package" is performed by the CI keys alone`},
	} {
		ws := PartyWarnings(&c.l, []string{ci})
		if !strings.Contains(strings.Join(ws, "\n"), c.want) {
			t.Errorf("%s: warnings %q, want %q", c.name, ws, c.want)
		}
	}
	bound := in_toto.Layout{Steps: []in_toto.Step{
		step("write", []string{dev}, []string{"CREATE", "bundle.json"}, []string{"DISALLOW", "*"}),
		step("package", []string{ci}, []string{"MATCH", "bundle.json", "WITH", "PRODUCTS", "FROM", "write"}, []string{"DISALLOW", "*"})}}
	if ws := PartyWarnings(&bound, []string{ci}); len(ws) != 0 {
		t.Fatalf("a layout binding CI's products to the developer's is warned: %q", ws)
	}
}
