package main

import (
	"io"
	"reflect"
	"strings"
	"testing"
)

// TestNormalizeArgs pins the reordering urfave/cli needs to accept flags
// before or after positional arguments (docs/cli.md, "General").
func TestNormalizeArgs(t *testing.T) {
	app := newApp(strings.NewReader(""), io.Discard, io.Discard)
	for _, c := range []struct{ in, want string }{
		{"verify REF --level 4", "verify --level 4 -- REF"},
		{"verify --level 4 REF", "verify --level 4 -- REF"},
		{"verify --level=4 REF", "verify --level=4 -- REF"},
		{"--timeout 5s verify REF", "--timeout 5s verify -- REF"},
		{"verify REF --timeout 5s", "--timeout 5s verify -- REF"},
		{"verify REF --image --level 1a", "verify --image --level 1a -- REF"},
		{"repo status DIR -o json", "repo status -o json -- DIR"},
		{"key generate keys/ci --type ecdsa-p256", "key generate --type ecdsa-p256 -- keys/ci"},
		{"verify REF -- sh -c 'x --level 9'", "verify -- REF -- sh -c 'x --level 9'"},
		{"link run build --key k -- make --jobs 2", "link run --key k -- build -- make --jobs 2"},
		{"verify", "verify"},
		{"repo", "repo"},
		{"", ""},
	} {
		in := append([]string{"cnabsec"}, strings.Fields(c.in)...)
		want := append([]string{"cnabsec"}, strings.Fields(c.want)...)
		if got := normalizeArgs(app, in); !reflect.DeepEqual(got, want) {
			t.Errorf("normalizeArgs(%q)\n got %q\nwant %q", c.in, got[1:], want[1:])
		}
	}
}

// TestNormalizeArgsKeepsAPositionalThatLooksLikeACommand: once a positional
// argument is seen, a later word naming a command is an argument.
func TestNormalizeArgsKeepsAPositionalThatLooksLikeACommand(t *testing.T) {
	app := newApp(strings.NewReader(""), io.Discard, io.Discard)
	got := normalizeArgs(app, []string{"cnabsec", "bundle", "canonicalize", "verify", "--out", "x"})
	want := []string{"cnabsec", "bundle", "canonicalize", "--out", "x", "--", "verify"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestSplitPassthroughAndFlagHelpers(t *testing.T) {
	if n, v := flagName("--level=4"); n != "level" || !v {
		t.Errorf("flagName(--level=4) = %q, %v", n, v)
	}
	if n, v := flagName("-o"); n != "o" || v {
		t.Errorf("flagName(-o) = %q, %v", n, v)
	}
	if isFlag("-") || !isFlag("-o") || isFlag("REF") {
		t.Error("isFlag: '-' (stdin) and words are not flags, -o is")
	}
}
