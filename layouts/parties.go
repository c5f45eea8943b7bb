package layouts

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/in-toto/in-toto-golang/in_toto"
)

// PartyRule names why a layout lets one party reach the top alone.
type PartyRule string

// The party rules (PartyWarnings).
const (
	// RuleOneParty: one key set meets every step's threshold, so one party
	// signs the whole chain.
	RuleOneParty PartyRule = "one-party"
	// RuleCIAlone: the CI (releases) keys alone meet a step's threshold and
	// its products may hold bytes no other party's link vouches for.
	RuleCIAlone PartyRule = "ci-alone"
)

// PartyWarning is a layout one party's keys can satisfy alone: a single
// stolen key set then vouches for content nobody else saw. It is a warning,
// not a denial: the layout owner decides whom to trust.
type PartyWarning struct {
	Rule PartyRule `json:"rule"`
	// Step is the step the CI keys can perform alone (RuleCIAlone).
	Step string `json:"step,omitempty"`
	// KeyIDs are the keys that suffice.
	KeyIDs []string `json:"keyIDs"`
	// Openings are the step's product rules that let new bytes in
	// (RuleCIAlone), e.g. "CREATE bundle.json".
	Openings []string `json:"openings,omitempty"`
}

// String says what the warning means and how to fix it.
func (w PartyWarning) String() string {
	if w.Rule == RuleOneParty {
		return fmt.Sprintf("one key set (%s) meets the threshold of every step: one party's keys satisfy the whole layout alone", shortIDs(w.KeyIDs))
	}
	return fmt.Sprintf("step %q can be performed by the CI keys alone (%s) and its products may hold new bytes (%s): "+
		"a CI key holder can replay the other parties' old links next to a fresh one of their own; "+
		"bind its products to an earlier step's (MATCH ... WITH PRODUCTS FROM) and end them with DISALLOW \"*\"",
		w.Step, shortIDs(w.KeyIDs), strings.Join(w.Openings, "; "))
}

// PartyWarnings tells when a layout lets one party's keys reach the top of
// the supply chain alone:
//
//   - RuleOneParty: the keys every step lists meet every step's threshold
//     (in particular: every step has the same functionaries, or there is
//     one step);
//   - RuleCIAlone: the CI keys (ciKeyIDs, the releases delegation) meet a
//     step's threshold and its products may hold bytes that no other
//     party's link vouches for: a CREATE, MODIFY or ALLOW product rule, no
//     closing DISALLOW "*", or a MATCH against a step the CI keys control
//     in the same way. A replayed link of another party records the old
//     release's hashes, so it cannot vouch for new bytes only when every
//     step on the way to the artifact is bound to it.
//
// ciKeyIDs empty: only RuleOneParty applies.
func PartyWarnings(l *in_toto.Layout, ciKeyIDs []string) []PartyWarning {
	var out []PartyWarning
	if ids := oneParty(l); ids != nil {
		out = append(out, PartyWarning{Rule: RuleOneParty, KeyIDs: ids})
	}
	if len(ciKeyIDs) == 0 {
		return out
	}
	a := ciAnalysis{l: l, ci: ciKeyIDs, memo: map[sideOf]bool{}, busy: map[sideOf]bool{}}
	for _, s := range l.Steps {
		if open := a.openings(s, products); len(open) > 0 {
			out = append(out, PartyWarning{Rule: RuleCIAlone, Step: s.Name, KeyIDs: a.ciKeysOf(s), Openings: open})
		}
	}
	return out
}

// oneParty returns the keys every step lists when they meet every step's
// threshold, else nil.
func oneParty(l *in_toto.Layout) []string {
	if len(l.Steps) == 0 {
		return nil
	}
	common := sorted(l.Steps[0].PubKeys)
	for _, s := range l.Steps[1:] {
		common = slices.DeleteFunc(common, func(id string) bool { return !slices.Contains(s.PubKeys, id) })
	}
	for _, s := range l.Steps {
		if len(common) == 0 || len(common) < threshold(s) {
			return nil
		}
	}
	return common
}

func threshold(s in_toto.Step) int { return max(1, s.Threshold) }

// side is a step's materials or its products.
type side bool

const (
	materials side = false
	products  side = true
)

type sideOf struct {
	step string
	side side
}

// ciAnalysis finds the steps whose materials or products the CI keys alone
// can fill with bytes of their choosing.
type ciAnalysis struct {
	l    *in_toto.Layout
	ci   []string
	memo map[sideOf]bool
	busy map[sideOf]bool
}

func (a *ciAnalysis) ciKeysOf(s in_toto.Step) []string {
	var out []string
	for _, id := range s.PubKeys {
		if slices.Contains(a.ci, id) {
			out = append(out, id)
		}
	}
	return sorted(out)
}

// openings lists the rules of one side of s that let CI-chosen bytes in, or
// nil when the CI keys cannot meet s's threshold or the side is bound.
func (a *ciAnalysis) openings(s in_toto.Step, sd side) []string {
	if len(a.ciKeysOf(s)) < threshold(s) {
		return nil
	}
	rules := s.ExpectedMaterials
	if sd == products {
		rules = s.ExpectedProducts
	}
	var open []string
	for _, r := range rules {
		opening, closes := a.opening(r)
		if closes {
			return open
		}
		if opening != "" {
			open = append(open, opening)
		}
	}
	return append(open, `no closing DISALLOW "*" (artifacts no rule names are allowed)`)
}

// opening says whether one rule lets CI-chosen bytes in (and which), or
// closes the list (DISALLOW "*": nothing after it applies).
func (a *ciAnalysis) opening(r []string) (opening string, closes bool) {
	if len(r) < 2 {
		return "", false
	}
	switch op := strings.ToUpper(r[0]); {
	case op == "DISALLOW" && r[1] == "*":
		return "", true
	case op == "CREATE" || op == "MODIFY" || op == "ALLOW":
		return op + " " + r[1], false
	case op == "MATCH" && a.matchOpen(r):
		return strings.Join(r, " ") + " (which the CI keys control)", false
	}
	return "", false
}

// matchOpen reports whether a MATCH rule's source (... WITH PRODUCTS|MATERIALS
// FROM STEP) is itself open to the CI keys.
func (a *ciAnalysis) matchOpen(r []string) bool {
	// MATCH pattern [IN prefix] WITH MATERIALS|PRODUCTS [IN prefix] FROM step
	with := slices.IndexFunc(r, func(w string) bool { return strings.EqualFold(w, "WITH") })
	from := slices.IndexFunc(r, func(w string) bool { return strings.EqualFold(w, "FROM") })
	if with < 1 || from < with || from+1 >= len(r) {
		return false
	}
	key := sideOf{step: r[from+1], side: side(strings.EqualFold(r[with+1], "PRODUCTS"))}
	if v, ok := a.memo[key]; ok {
		return v
	}
	if a.busy[key] {
		return false // a cycle adds no bytes of its own
	}
	a.busy[key] = true
	v := false
	if j := slices.IndexFunc(a.l.Steps, func(s in_toto.Step) bool { return s.Name == key.step }); j >= 0 {
		v = len(a.openings(a.l.Steps[j], key.side)) > 0
	}
	delete(a.busy, key)
	a.memo[key] = v
	return v
}

func sorted(ids []string) []string {
	out := append([]string(nil), ids...)
	sort.Strings(out)
	return out
}

func shortIDs(ids []string) string {
	var out []string
	for _, id := range sorted(ids) {
		out = append(out, id[:min(len(id), 12)])
	}
	return strings.Join(out, ", ")
}
