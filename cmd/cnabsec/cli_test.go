package main

import (
	"bytes"
	"strings"
	"testing"
)

// runCLI runs cnabsec with args and returns the exit code, stdout and stderr.
func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(append([]string{"cnabsec"}, args...), strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func TestFlagsBeforeOrAfterPositionalsAndGlobalsAnywhere(t *testing.T) {
	app := newApp(nil, nil, nil)
	got := normalizeArgs(app, []string{"cnabsec", "key", "generate", "p", "--type", "rsa-3072", "--timeout", "5s", "--", "x", "-y"})
	want := []string{"cnabsec", "--timeout", "5s", "key", "generate", "--type", "rsa-3072", "--", "p", "--", "x", "-y"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("normalizeArgs:\n got %q\nwant %q", got, want)
	}
}
