package layouts

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/in-toto/in-toto-golang/in_toto"
)

// PartyWarnings tells when a layout lets one party's keys reach the top of
// the supply chain alone, so that a single stolen key set vouches for content
// nobody else saw:
//
//   - every step has the same functionary keys (one party signs the whole
//     chain);
//   - a step that the CI keys alone can perform may create or change an
//     artifact (a CREATE, MODIFY or ALLOW product rule) instead of only
//     passing on what an earlier step produced (MATCH ... WITH PRODUCTS
//     FROM): a CI key can then replay the other parties' old links next to
//     a fresh one of its own.
//
// ciKeyIDs are the CI role's keys (empty: only the first rule applies).
func PartyWarnings(l *in_toto.Layout, ciKeyIDs []string) []string {
	var out []string
	if w := oneParty(l); w != "" {
		out = append(out, w)
	}
	for _, step := range l.Steps {
		if len(ciKeyIDs) > 0 && subset(step.PubKeys, ciKeyIDs) && createsContent(step.ExpectedProducts) {
			out = append(out, fmt.Sprintf("step %q is performed by the CI keys alone (%s) and may create or change artifacts (%s): "+
				"bind its products to an earlier step's (MATCH ... WITH PRODUCTS FROM) so a CI key cannot vouch for new content",
				step.Name, shortIDs(step.PubKeys), ruleSummary(step.ExpectedProducts)))
		}
	}
	return out
}

func oneParty(l *in_toto.Layout) string {
	if len(l.Steps) < 2 {
		if len(l.Steps) == 1 {
			return fmt.Sprintf("the layout has one step: its functionaries (%s) vouch for the artifact alone", shortIDs(l.Steps[0].PubKeys))
		}
		return ""
	}
	first := sorted(l.Steps[0].PubKeys)
	for _, s := range l.Steps[1:] {
		if !slices.Equal(sorted(s.PubKeys), first) {
			return ""
		}
	}
	return fmt.Sprintf("every step has the same functionaries (%s): one party's keys satisfy the whole layout", shortIDs(first))
}

// createsContent reports whether product rules let a step introduce bytes.
func createsContent(rules [][]string) bool {
	for _, r := range rules {
		if len(r) > 0 {
			switch strings.ToUpper(r[0]) {
			case "CREATE", "MODIFY", "ALLOW":
				return true
			}
		}
	}
	return false
}

func ruleSummary(rules [][]string) string {
	var parts []string
	for _, r := range rules {
		if len(r) >= 2 && createsContent([][]string{r}) {
			parts = append(parts, strings.ToUpper(r[0])+" "+r[1])
		}
	}
	return strings.Join(parts, ", ")
}

func subset(ids, of []string) bool {
	if len(ids) == 0 {
		return false
	}
	for _, id := range ids {
		if !slices.Contains(of, id) {
			return false
		}
	}
	return true
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
