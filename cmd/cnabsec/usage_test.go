package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestUnknownCommandOrFlagIsOneErrorWithASuggestion: a typo is exit 2, one
// error line and a hint on stderr, nothing on stdout (no help page dump).
func TestUnknownCommandOrFlagIsOneErrorWithASuggestion(t *testing.T) {
	for _, c := range []struct {
		args      []string
		err, hint string
	}{
		{[]string{"verfy"}, `unknown command "verfy"`, `did you mean "verify"?`},
		{[]string{"repo", "stauts", "repo"}, `unknown command "repo stauts"`, `did you mean "repo status"?`},
		{[]string{"help", "verfy"}, `unknown command "verfy"`, `did you mean "verify"?`},
		{[]string{"verify", "x", "--levle", "4"}, "cnabsec verify: unknown flag --levle", "did you mean --level?"},
		{[]string{"--log-level", "info", "verify", "x", "--bogus"}, "cnabsec verify: unknown flag --bogus", "`cnabsec verify --help` lists the flags"},
		{[]string{"repo", "status", "d", "--warn-expiry", "abc"}, `cnabsec repo status: invalid value "abc" for flag --warn-expiry`, "`cnabsec repo status --help` lists the flags"},
	} {
		code, out, errs := runCLI(t, c.args...)
		lines := strings.Split(strings.TrimSpace(errs), "\n")
		if code != 2 || out != "" || len(lines) != 2 || !strings.Contains(lines[0], "cnabsec: error: "+c.err) || lines[1] != "cnabsec: hint: "+c.hint {
			t.Errorf("%q: exit %d, stdout %d bytes, stderr %q; want exit 2, no stdout, error %q and hint %q", c.args, code, len(out), errs, c.err, c.hint)
		}
	}
}

func TestHelpWorksWithArgumentsAndAsACommand(t *testing.T) {
	for _, args := range [][]string{{"help", "repo", "sign"}, {"repo", "sign", "DIR", "--role", "x", "--help"}, {"--log-level", "info", "repo", "sign", "-h"}} {
		code, out, errs := runCLI(t, args...)
		if code != 0 || !strings.Contains(out, "cnabsec repo sign - ") || errs != "" {
			t.Errorf("%q: exit %d, stderr %q, stdout starts %.80q", args, code, errs, out)
		}
	}
}

func TestClosestSuggestsOnlyNearWords(t *testing.T) {
	cands := []string{"verify", "version", "sign", "serve"}
	for word, want := range map[string]string{"verfy": "verify", "vresion": "version", "sing": "sign", "ver": "verify", "deploy": ""} {
		if got := closest(word, cands); got != want {
			t.Errorf("closest(%q) = %q, want %q", word, got, want)
		}
	}
}

func TestVersionPrintsOneJSONDocument(t *testing.T) {
	code, out, errs := runCLI(t, "version", "-o", "json")
	var v struct {
		Version string `json:"version"`
	}
	if code != 0 || errs != "" || json.Unmarshal([]byte(out), &v) != nil || v.Version == "" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errs)
	}
}
