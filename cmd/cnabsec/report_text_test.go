package main

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/cnabsec/cnabsec/verifier"
)

// levelFourReport verifies the provenance release at level 4 and returns its
// JSON report.
func levelFourReport(t *testing.T) *verifier.Report {
	t.Helper()
	s, flags := provenanceRelease(t)
	flags[len(flags)-1] = "4"
	code, stdout, stderr := runCLI(t, append([]string{"verify", s.BundleRef, "-o", "json"}, flags...)...)
	var r verifier.Report
	if code != 0 || json.Unmarshal([]byte(stdout), &r) != nil {
		t.Fatalf("level 4: exit %d: %s", code, stderr)
	}
	return &r
}

// withImages copies the report's image checks so that it names n images
// (the release has two): a bundle with many images, as its report looks.
func withImages(r *verifier.Report, n int) *verifier.Report {
	var bundle, images []verifier.Check
	for _, c := range r.Checks {
		if strings.HasPrefix(c.Subject, "images.web ") {
			images = append(images, c)
		} else if !strings.HasPrefix(c.Subject, "invocationImages") {
			bundle = append(bundle, c)
		}
	}
	out := *r
	out.Checks = append([]verifier.Check(nil), bundle...)
	for i := 0; i < n; i++ {
		name := "images.web" + strings.Repeat("x", i)
		for _, c := range images {
			c.Subject = name + strings.TrimPrefix(c.Subject, "images.web")
			out.Checks = append(out.Checks, c)
		}
	}
	return &out
}

// A person reads a level-4 verification of a bundle with four images at a
// glance: the verdict on line 1, a line for the bundle and one per image,
// at most 20 lines of at most 100 columns.
func TestFourImageLevelFourReportIsVerdictFirstInTwentyLinesOfHundredColumns(t *testing.T) {
	r := withImages(levelFourReport(t), 4)
	var b strings.Builder
	if err := writeReportText(&b, r, reportStyle{wrap: true}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if !strings.HasPrefix(lines[0], "VERIFIED "+r.Reference+" at level 4 (required 4)") {
		t.Errorf("line 1 is not the verdict: %q", lines[0])
	}
	if len(lines) > 20 {
		t.Errorf("%d lines, want at most 20:\n%s", len(lines), b.String())
	}
	for i, l := range lines {
		if len(l) > reportWidth {
			t.Errorf("line %d has %d columns: %q", i+1, len(l), l)
		}
	}
	imageLines := 0
	for _, l := range lines {
		if strings.HasPrefix(l, "PASS  image ") || strings.HasPrefix(l, "WARN  image ") {
			imageLines++
			if !strings.Contains(l, "TUF + in-toto") {
				t.Errorf("image line does not say what verified: %q", l)
			}
		}
	}
	if imageLines != 4 {
		t.Errorf("%d image lines, want 4:\n%s", imageLines, b.String())
	}
}

// With -v every check is printed with its detail, as before the grouped view.
func TestVerboseReportListsEveryCheck(t *testing.T) {
	r := levelFourReport(t)
	var b strings.Builder
	if err := writeReportText(&b, r, reportStyle{verbose: true}); err != nil {
		t.Fatal(err)
	}
	for _, c := range r.Checks {
		if !strings.Contains(b.String(), strings.ToUpper(string(c.Status))+"  "+c.Name+"  ") {
			t.Errorf("check %s (%s) missing from -v", c.Name, c.Subject)
		}
	}
	if !strings.Contains(b.String(), "KEYS  "+r.Reference+": layout ") {
		t.Errorf("-v does not name the keys provenance rests on:\n%s", b.String())
	}
}

// A verification that could not obtain remote data is INCONCLUSIVE on line
// 1 (exit 3), never DENIED; the JSON report says so in outcome.
func TestUnreachableMetadataIsInconclusiveOnLineOne(t *testing.T) {
	s, flags := provenanceRelease(t)
	flags[3] = "http://127.0.0.1:1"
	code, stdout, _ := runCLI(t, append([]string{"verify", s.BundleRef}, flags...)...)
	if code != 3 || !strings.HasPrefix(stdout, "INCONCLUSIVE "+s.BundleRef) {
		t.Fatalf("exit %d, stdout:\n%s", code, stdout)
	}
	code, stdout, _ = runCLI(t, append([]string{"verify", s.BundleRef, "-o", "json"}, flags...)...)
	var r verifier.Report
	if code != 3 || json.Unmarshal([]byte(stdout), &r) != nil || r.Outcome != verifier.OutcomeInconclusive {
		t.Fatalf("exit %d, outcome %q:\n%s", code, r.Outcome, stdout)
	}
}

func TestReportColourOnlyWhenAsked(t *testing.T) {
	r := &verifier.Report{Reference: "example.com/org/app:1.0", Outcome: verifier.OutcomeDenied, RequiredLevel: "2", AchievedLevel: "0"}
	if got := verdictLine(r, false); strings.Contains(got, "\x1b") || !strings.HasPrefix(got, "DENIED ") {
		t.Errorf("plain: %q", got)
	}
	if got := verdictLine(r, true); !strings.HasPrefix(got, "\x1b[1;31mDENIED\x1b[0m ") {
		t.Errorf("colour: %q", got)
	}
}

// A long word with multi-byte characters (a step name in a reason) is folded
// between characters, never inside one: every folded line is valid UTF-8.
func TestFoldedReportLineNeverSplitsACharacter(t *testing.T) {
	b := &reportWriter{wrap: true}
	b.line("FAIL  in-toto step links  x" + strings.Repeat("é", 120)) // "x": a cut at 100 bytes falls inside an "é"
	for i, l := range strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n") {
		if !utf8.ValidString(l) || len(l) > reportWidth {
			t.Errorf("line %d (%d bytes) is not valid UTF-8 within %d: %q", i+1, len(l), reportWidth, l)
		}
	}
}
