package main

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/cnabsec/cnabsec/verifier"
)

// reportWidth is the widest line the grouped report prints; longer reasons
// wrap onto indented lines.
const reportWidth = 100

// reportStyle is how a verification report is printed as text.
type reportStyle struct {
	verbose bool // every check and the keys provenance rests on
	colour  bool // the verdict word in colour (a terminal, NO_COLOR unset)
	// wrap folds lines longer than reportWidth (on a terminal; piped
	// output keeps one line per check for grep).
	wrap bool
}

// writeReportText prints the verdict first (outcome, subject, levels), then
// one line for the bundle and one per image, then every failed or warned
// check with its reason; with verbose, every check and the provenance keys.
func writeReportText(w io.Writer, r *verifier.Report, st reportStyle) error {
	b := &reportWriter{wrap: st.wrap}
	b.line(verdictLine(r, st.colour))
	if st.verbose {
		writeAllChecks(b, r)
	} else {
		writeGroups(b, r)
	}
	for _, u := range r.Unsafe {
		b.line("WARN  unsafe option in effect: " + u)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// verdictLine is line 1: VERIFIED, DENIED, INCONCLUSIVE or INVALID, the
// subject and the levels.
func verdictLine(r *verifier.Report, colour bool) string {
	word, code := "DENIED", "31"
	switch r.Outcome {
	case verifier.OutcomeVerified:
		word, code = "VERIFIED", "32"
	case verifier.OutcomeInconclusive:
		word, code = "INCONCLUSIVE", "33"
	case verifier.OutcomeInvalid:
		word = "INVALID"
	}
	if colour {
		word = "\x1b[1;" + code + "m" + word + "\x1b[0m"
	}
	if r.Verified {
		return fmt.Sprintf("%s %s at level %s (required %s)", word, r.Reference, r.AchievedLevel, r.RequiredLevel)
	}
	return fmt.Sprintf("%s %s at level %s (required %s): %s", word, r.Reference, r.AchievedLevel, r.RequiredLevel, firstFailureName(r))
}

// firstFailureName says in a few words what decided a failed verdict.
func firstFailureName(r *verifier.Report) string {
	if c := r.FirstFailure(); c != nil {
		return c.Name + " failed"
	}
	return "not verified"
}

// writeAllChecks is the verbose report: every check with its detail, and the
// keys each verified provenance rests on.
func writeAllChecks(b *reportWriter, r *verifier.Report) {
	for _, c := range r.Checks {
		b.line(checkLine(c))
	}
	for _, p := range r.Provenance {
		line := fmt.Sprintf("KEYS  %s: layout %s signed by %s", p.Subject, p.Layout, strings.Join(p.LayoutKeys, ", "))
		for _, s := range p.Steps {
			line += fmt.Sprintf("; step %s by %s", s.Step, strings.Join(s.KeyIDs, ", "))
		}
		b.line(line)
	}
}

func checkLine(c verifier.Check) string {
	line := fmt.Sprintf("%-4s  %s  %s", strings.ToUpper(string(c.Status)), c.Name, c.Subject)
	if c.Detail != "" {
		line += ": " + c.Detail
	}
	return line
}

// writeGroups is the default report: a line for the bundle and one per image
// saying what verified, then each failed or warned check in full.
func writeGroups(b *reportWriter, r *verifier.Report) {
	for _, g := range groupChecks(r) {
		b.line(g.line())
	}
	writeWarnings(b, r)
	for _, c := range r.Checks {
		if c.Status == verifier.Fail {
			b.line(checkLine(c))
		}
	}
}

// writeWarnings prints each warning once, naming every artifact it was
// raised for (the same layout warning on many images is one entry).
func writeWarnings(b *reportWriter, r *verifier.Report) {
	type warning struct{ name, detail string }
	var order []warning
	on := map[warning][]string{}
	for _, c := range r.Checks {
		if c.Status != verifier.Warn {
			continue
		}
		w := warning{c.Name, c.Detail}
		if on[w] == nil {
			order = append(order, w)
		}
		on[w] = append(on[w], artifactOf(c))
	}
	for _, w := range order {
		b.line(fmt.Sprintf("WARN  %s  %s: %s", w.name, strings.Join(on[w], ", "), w.detail))
	}
}

// checkGroup is the checks of one subject: the bundle, one image, or the
// metadata repository.
type checkGroup struct {
	kind, subject string
	digest        string
	checks        []verifier.Check
}

// groupChecks splits the report's checks by subject, in the order the
// subjects first appear; the verdict's own check is left out (line 1 says it).
func groupChecks(r *verifier.Report) []*checkGroup {
	var out []*checkGroup
	by := map[string]*checkGroup{}
	for _, c := range r.Checks {
		if c.Name == verifier.CheckSecurityLevel || c.Name == verifier.CheckVerification {
			continue
		}
		subject := artifactOf(c)
		g := by[subject]
		if g == nil {
			g = &checkGroup{kind: subjectKind(r, c.Name, subject), subject: subject}
			if g.kind == "bundle" {
				g.digest = r.BundleDigest
			}
			by[subject] = g
			out = append(out, g)
		}
		g.checks = append(g.checks, c)
	}
	return out
}

// artifactOf is the artifact a check is about: its subject, without what an
// in-toto check adds after ": " (the layout or the file within it).
func artifactOf(c verifier.Check) string {
	if i := strings.Index(c.Subject, ": "); i >= 0 {
		return c.Subject[:i]
	}
	return c.Subject
}

func subjectKind(r *verifier.Report, check, subject string) string {
	switch {
	case subject == r.Reference && !strings.HasPrefix(check, "image"):
		return "bundle"
	case check == verifier.CheckTUFRefresh:
		return "metadata"
	case strings.HasPrefix(check, "image") || strings.HasPrefix(check, "in-toto"):
		return "image"
	}
	return "other"
}

// line is the group's one line: its worst status, its subject, and what
// verified about it.
func (g *checkGroup) line() string {
	status, counts := g.summary()
	line := fmt.Sprintf("%-4s  %-8s %s", strings.ToUpper(string(status)), g.kind, g.subject)
	if g.digest != "" {
		line += " " + shortDigest(g.digest)
	}
	if props := g.properties(); props != "" {
		line += ": " + props
	}
	return line + " (" + counts + ")"
}

// summary is the group's worst status and its checks counted by status.
func (g *checkGroup) summary() (verifier.Status, string) {
	n := map[verifier.Status]int{}
	for _, c := range g.checks {
		n[c.Status]++
	}
	worst := verifier.Skip
	for _, s := range []verifier.Status{verifier.Fail, verifier.Warn, verifier.Pass} {
		if n[s] > 0 {
			worst = s
			break
		}
	}
	var parts []string
	for _, s := range []verifier.Status{verifier.Pass, verifier.Warn, verifier.Fail, verifier.Skip} {
		if n[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n[s], s))
		}
	}
	return worst, strings.Join(parts, ", ")
}

// properties says which protections verified for the group's subject: its
// own TUF target, its in-toto provenance, and (for an image) the digest the
// bundle pins.
func (g *checkGroup) properties() string {
	passed := map[string]bool{}
	for _, c := range g.checks {
		if c.Status == verifier.Pass || c.Status == verifier.Warn {
			passed[c.Name] = true
		}
	}
	var have []string
	switch g.kind {
	case "bundle":
		have = propList(passed[verifier.CheckBundleTarget], passed[verifier.CheckBundleProvenance])
	case "image":
		have = propList(passed[verifier.CheckImageTarget], passed[verifier.CheckImageProvenance])
		if len(have) == 0 && passed[verifier.CheckImageDigest] {
			have = []string{"manifest digest checked"}
		}
	case "metadata":
		if passed[verifier.CheckTUFRefresh] {
			have = []string{"refreshed from the pinned root"}
		}
	}
	return strings.Join(have, " + ")
}

func propList(tuf, intoto bool) []string {
	var have []string
	if tuf {
		have = append(have, "TUF")
	}
	if intoto {
		have = append(have, "in-toto")
	}
	return have
}

func shortDigest(d string) string {
	if len(d) > len("sha256:")+12 {
		return d[:len("sha256:")+12]
	}
	return d
}

// reportWriter collects the report's lines.
type reportWriter struct {
	strings.Builder
	wrap bool
}

// line writes s, wrapped at reportWidth columns (continuation lines
// indented by six spaces) when wrapping.
func (b *reportWriter) line(s string) {
	const indent = "      "
	width := reportWidth
	for b.wrap && len(s) > width {
		cut := strings.LastIndexByte(s[:width], ' ')
		if cut <= len(indent) {
			cut = width
			for cut > len(indent) && !utf8.RuneStart(s[cut]) {
				cut-- // never split a character a layout or reference holds
			}
		}
		b.WriteString(strings.TrimRight(s[:cut], " "))
		b.WriteByte('\n')
		s = indent + strings.TrimLeft(s[cut:], " ")
	}
	b.WriteString(s)
	b.WriteByte('\n')
}
