package layouts

import (
	"io"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/in-toto/in-toto-golang/in_toto"
)

var (
	ruleNames    = []string{"a", "b", "a.txt", "dir/a", "dir/b", "dir/sub/a.txt", "src/a", "src/dir/b", "x[1]"}
	rulePatterns = []string{"*", "a", "*.txt", "dir/*", "?", "[ab]", "[!a]", "dir/?", "*/a", `x\[1]`, "nomatch", "src/*", "dir/sub/*"}
	ruleKinds    = []string{"ALLOW", "CREATE", "DELETE", "MODIFY", "DISALLOW", "REQUIRE"}
)

func randomArtifacts(r *rand.Rand) map[string]in_toto.HashObj {
	m := map[string]in_toto.HashObj{}
	for _, n := range ruleNames {
		if r.IntN(2) == 0 {
			m[n] = in_toto.HashObj{"sha256": []string{"11", "22"}[r.IntN(2)]}
		}
	}
	return m
}

func randomRules(r *rand.Rand) [][]string {
	var rules [][]string
	for i := r.IntN(4); i >= 0; i-- {
		pat := rulePatterns[r.IntN(len(rulePatterns))]
		dstType := []string{"MATERIALS", "PRODUCTS"}[r.IntN(2)]
		switch r.IntN(4) {
		case 0:
			rules = append(rules, []string{"MATCH", pat, "WITH", dstType, "FROM", "A"})
		case 1:
			src := []string{"dir", "src", "src/"}[r.IntN(3)]
			dst := []string{"dir", "src", "."}[r.IntN(3)]
			rules = append(rules, []string{"MATCH", pat, "IN", src, "WITH", dstType, "IN", dst, "FROM", "A"})
		default:
			rules = append(rules, []string{ruleKinds[r.IntN(len(ruleKinds))], pat})
		}
	}
	return rules
}

// TestRuleEngineAgreesWithInTotoGolang compares itemRules with
// in_toto.VerifyArtifacts on generated links and rules.
func TestRuleEngineAgreesWithInTotoGolang(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	disagreements, failures := 0, 0
	for i := 0; i < 4000; i++ {
		a := in_toto.Link{Type: "link", Name: "A", Materials: randomArtifacts(r), Products: randomArtifacts(r)}
		b := in_toto.Link{Type: "link", Name: "B", Materials: randomArtifacts(r), Products: randomArtifacts(r)}
		mats, prods := randomRules(r), randomRules(r)
		matErr, prodErr := itemRules(mats, prods, b, map[string]in_toto.Link{"A": a, "B": b})
		md := map[string]in_toto.Metadata{"A": &in_toto.Metablock{Signed: a}, "B": &in_toto.Metablock{Signed: b}}
		for _, c := range []struct {
			kind string
			m, p [][]string
			ours error
		}{{"materials", mats, nil, matErr}, {"products", nil, prods, prodErr}} {
			step := in_toto.Step{Type: "step", SupplyChainItem: in_toto.SupplyChainItem{Name: "B", ExpectedMaterials: c.m, ExpectedProducts: c.p}}
			theirs := in_toto.VerifyArtifacts([]any{step}, md)
			if (theirs == nil) != (c.ours == nil) {
				disagreements++
				if disagreements < 5 {
					t.Errorf("case %d %s: rules %q\nA %v\nB %v\nin-toto-golang: %v\nours: %v", i, c.kind, append(c.m, c.p...), a, b, theirs, c.ours)
				}
			}
			if c.ours != nil {
				failures++
			}
		}
	}
	if disagreements > 0 {
		t.Fatalf("%d disagreements", disagreements)
	}
	if failures < 1000 || failures > 7000 {
		t.Fatalf("%d of 8000 rule sets failed: the generator does not exercise both outcomes", failures)
	}
}

// TestMalformedRulePatternIsRefusedBeforeInTotoPrintsToStdout checks that
// every pattern checkPattern accepts is one in-toto-golang's matcher takes
// without its stdout warning, and that known malformed ones are refused.
func TestMalformedRulePatternIsRefusedBeforeInTotoPrintsToStdout(t *testing.T) {
	for _, p := range []string{`a\`, "[", "[]", "[a", "[-a]", "[a-", "[!]", "x[\xff]"} {
		if checkPattern(p) == nil {
			t.Errorf("pattern %q accepted", p)
		}
	}
	r := rand.New(rand.NewPCG(3, 4))
	alphabet := []string{"a", "*", "?", "[", "]", "!", "-", `\`, "/"}
	names := in_toto.NewSet("", "a", "ab", "a/b", "-", "]", "[", `\`, "!", "*")
	old := os.Stdout
	rd, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	os.Stdout = w
	accepted := 0
	for i := 0; i < 20000; i++ {
		var b strings.Builder
		for j := r.IntN(7); j >= 0; j-- {
			b.WriteString(alphabet[r.IntN(len(alphabet))])
		}
		if checkPattern(b.String()) == nil {
			accepted++
			names.Filter(b.String())
		}
	}
	os.Stdout = old
	w.Close()
	printed, _ := io.ReadAll(rd)
	if len(printed) > 0 {
		t.Fatalf("in-toto-golang printed for patterns checkPattern accepted:\n%.2000s", printed)
	}
	if accepted < 2000 {
		t.Fatalf("only %d of 20000 generated patterns accepted: the test exercises too little", accepted)
	}
}

func TestLayoutWithMalformedPatternIsRefused(t *testing.T) {
	c := newChain(t, "ed25519")
	l := parsedLayout(t, c.layout)
	l.Steps[0].ExpectedProducts = append([][]string{{"ALLOW", "[a-"}}, l.Steps[0].ExpectedProducts...)
	in := c.input()
	in.Layout = signLayout(t, l, c.owner)
	res, err := Verify(t.Context(), in)
	wantDenied(t, res, err, CheckLayoutFormat, `malformed pattern "[a-"`)
}

// TestGlobMatchAgreesWithInTotoGolang compares globMatch with in-toto-golang's
// matcher (through in_toto.Set.Filter) on generated valid patterns and names.
func TestGlobMatchAgreesWithInTotoGolang(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	alphabet := []string{"a", "b", "*", "?", "[", "]", "!", "-", `\`, "/", ".", "é"}
	nameAlphabet := []string{"a", "b", "/", ".", "-", "]", "[", "!", "*", "é", "\xff"}
	names := in_toto.NewSet("")
	for i := 0; i < 300; i++ {
		var b strings.Builder
		for j := r.IntN(7); j > 0; j-- {
			b.WriteString(nameAlphabet[r.IntN(len(nameAlphabet))])
		}
		names.Add(b.String())
	}
	checked, matched := 0, 0
	for i := 0; i < 20000; i++ {
		var b strings.Builder
		for j := r.IntN(7); j >= 0; j-- {
			b.WriteString(alphabet[r.IntN(len(alphabet))])
		}
		p := b.String()
		if checkPattern(p) != nil {
			continue
		}
		checked++
		theirs := names.Filter(p)
		for n := range names {
			if got := globMatch(p, n); got != theirs.Has(n) {
				t.Fatalf("pattern %q, name %q: globMatch %v, in-toto-golang %v", p, n, got, theirs.Has(n))
			} else if got {
				matched++
			}
		}
	}
	if checked < 2000 || matched < 10000 {
		t.Fatalf("%d patterns checked, %d matches: the generator exercises too little", checked, matched)
	}
}
