package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/cnabsec/cnabsec/internal/testing/testrepo"
)

const (
	walkthroughBegin = "# >>> README walkthrough\n"
	walkthroughEnd   = "# <<< README walkthrough\n"
)

// walkthroughBlock returns the lines of examples/walkthrough.sh between its
// README markers.
func walkthroughBlock(t *testing.T) string {
	t.Helper()
	script, err := os.ReadFile("../../examples/walkthrough.sh")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(script), walkthroughBegin)
	block, _, ok2 := strings.Cut(rest, walkthroughEnd)
	if !ok || !ok2 || strings.TrimSpace(block) == "" {
		t.Fatalf("examples/walkthrough.sh has no README block between %q and %q", walkthroughBegin, walkthroughEnd)
	}
	return block
}

// The README's walkthrough is the script make interop runs
// (TestInteropWalkthrough), byte for byte: a command changed in one and not
// the other fails here.
func TestREADMEWalkthroughIsTheScript(t *testing.T) {
	block := walkthroughBlock(t)
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), "```sh\n"+block+"```\n") {
		t.Fatal("README.md's walkthrough is not examples/walkthrough.sh's README block: copy the lines between the script's markers into the README's walkthrough block")
	}
	for _, want := range []string{"go build -o bin/cnabsec ./cmd/cnabsec", `export PATH="$PWD/bin:$PATH"`, "--passphrase-env CNABSEC_PASS", "--level 4", "trap "} {
		if !strings.Contains(block, want) {
			t.Errorf("the walkthrough lost %q", want)
		}
	}
}

// Every file the walkthrough copies from examples/ exists, and the layout it
// uses is docs/in-toto.md's template, byte for byte.
func TestWalkthroughFilesExistAndLayoutIsTheDocumented(t *testing.T) {
	block := walkthroughBlock(t)
	for _, m := range regexp.MustCompile(`examples/[A-Za-z0-9._/-]+`).FindAllString(block, -1) {
		if _, err := os.Stat(filepath.Join("../..", m)); err != nil {
			t.Errorf("the walkthrough uses %s: %v", m, err)
		}
	}
	layout, err := os.ReadFile("../../examples/layout.yaml")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile("../../docs/in-toto.md")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(doc, []byte("```yaml\n"+string(layout)+"```\n")) {
		t.Fatal("docs/in-toto.md's layout template is not examples/layout.yaml: keep them identical")
	}
}

// docFiles returns README.md and docs/*.md.
func docFiles(t *testing.T) map[string]string {
	t.Helper()
	paths, err := filepath.Glob("../../docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, p := range append(paths, "../../README.md") {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out[strings.TrimPrefix(p, "../../")] = string(b)
	}
	return out
}

// helpText renders `cnabsec ARGS... --help`.
func helpText(t *testing.T, args ...string) string {
	t.Helper()
	code, out, errs := runCLI(t, append(args, "--help")...)
	if code != 0 {
		t.Fatalf("%v --help: exit %d %s", args, code, errs)
	}
	return out
}

// freshRepo runs repo init with the default expiries and returns its directory.
func freshRepo(t *testing.T) string {
	t.Helper()
	k := genKeyFiles(t, "root", "targets", "online", "ci")
	kf := func(n string) string { return filepath.Join(k, n) }
	dir := filepath.Join(t.TempDir(), "repo")
	if code, out, errs := runCLI(t, "repo", "init", dir, "--root-key", kf("root.key"), "--targets-key", kf("targets.key"),
		"--snapshot-key", kf("online.key"), "--timestamp-key", kf("online.key"), "--releases-key", kf("ci.key")); code != 0 {
		t.Fatalf("repo init: exit %d\n%s%s", code, out, errs)
	}
	return dir
}

// Every --warn-expiry example in the help texts and the docs passes on a
// freshly initialised repository: an example window longer than the one-day
// snapshot and timestamp would fire on every repository, always.
func TestEveryWarnExpiryExamplePassesOnAFreshRepository(t *testing.T) {
	sources := docFiles(t)
	sources["repo status --help"] = helpText(t, "repo", "status")
	sources["repo refresh --help"] = helpText(t, "repo", "refresh")
	dir := freshRepo(t)
	re := regexp.MustCompile(`--warn-expiry[ =]([0-9][0-9a-z.]*)`)
	seen := 0
	for src, text := range sources {
		for _, m := range re.FindAllStringSubmatch(text, -1) {
			seen++
			if code, _, errs := runCLI(t, "repo", "status", dir, "--warn-expiry", m[1]); code != 0 {
				t.Errorf("%s: `repo status --warn-expiry %s` exits %d on a fresh repository: %s", src, m[1], code, errs)
			}
		}
	}
	if seen < 2 {
		t.Fatalf("found %d --warn-expiry examples; the help text and docs/operations.md each have one", seen)
	}
}

// The metadata URL `repo serve --help` tells clients to use is one a TUF
// client refreshes from (and so is docs/cli.md's): the help text once named
// http://ADDR/metadata, where no client finds anything.
func TestRepoServeHelpNamesTheURLClientsUse(t *testing.T) {
	help := helpText(t, "repo", "serve")
	m := regexp.MustCompile(`(http://ADDR\S*)`).FindStringSubmatch(help)
	if m == nil {
		t.Fatalf("repo serve --help names no `http://ADDR...` URL:\n%s", help)
	}
	cli := docFiles(t)["docs/cli.md"]
	d := regexp.MustCompile("`repo serve [^|]*\\|[^|]*--metadata (http://127\\.0\\.0\\.1:PORT[^` ]*)").FindStringSubmatch(cli)
	if d == nil {
		t.Fatal("docs/cli.md's repo serve row names no `--metadata http://127.0.0.1:PORT...` URL")
	}
	r := testrepo.New(t)
	base := startRepoServe(t, r.Dir)
	root, err := os.ReadFile(filepath.Join(r.Dir, "metadata", "1.root.json"))
	if err != nil {
		t.Fatal(err)
	}
	for src, url := range map[string]string{"repo serve --help": strings.Replace(m[1], "ADDR", base, 1), "docs/cli.md": strings.Replace(d[1], "127.0.0.1:PORT", base, 1)} {
		if _, err := testrepo.Refresh(t, strings.TrimRight(url, ".,)/"), root); err != nil {
			t.Errorf("%s says clients use %s; a TUF client cannot refresh from it: %v", src, url, err)
		}
	}
}

// startRepoServe runs `cnabsec repo serve DIR` on a free loopback port until
// the test ends and returns its HOST:PORT.
func startRepoServe(t *testing.T, dir string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	old := repoServeContext
	repoServeContext = func() (context.Context, context.CancelFunc) { return ctx, cancel }
	var out, errb syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run([]string{"cnabsec", "repo", "serve", dir, "--addr", "127.0.0.1:0"}, strings.NewReader(""), &out, &errb)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		repoServeContext = old
	})
	for i := 0; i < 1000; i++ {
		if s := out.String(); strings.Contains(s, "http://") {
			return strings.TrimPrefix(strings.Fields(s[strings.Index(s, "http://"):])[0], "http://")
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("repo serve printed no address: %q %q", out.String(), errb.String())
	return ""
}

// exampleLines returns the command lines of text that start with "cnabsec ",
// continuation lines (ending in a backslash) joined.
func exampleLines(text string) []string {
	var out []string
	lines := strings.Split(text, "\n")
	for i := 0; i < len(lines); i++ {
		l := strings.TrimSpace(lines[i])
		if !strings.HasPrefix(l, "cnabsec ") {
			continue
		}
		for strings.HasSuffix(l, `\`) && i+1 < len(lines) {
			i++
			l = strings.TrimSuffix(l, `\`) + " " + strings.TrimSpace(lines[i])
		}
		out = append(out, l)
	}
	return out
}

// flagNames returns every name and alias of flags, with a leading "--".
func flagNames(flags []cli.Flag) map[string]bool {
	m := map[string]bool{"--help": true}
	for _, f := range flags {
		for _, n := range f.Names() {
			m["--"+n] = true
		}
	}
	return m
}

// definesFlag reports whether cmd, or for a command group (`cnabsec sign
// --links`) one of its subcommands, defines the long flag name.
func definesFlag(cmd *cli.Command, name string) bool {
	if cmd == nil {
		return false
	}
	if flagNames(cmd.Flags)[name] {
		return true
	}
	for _, sub := range cmd.Subcommands {
		if definesFlag(sub, name) {
			return true
		}
	}
	return false
}

// unknownFlags resolves the command an example line runs and returns the
// long flags it names that neither that command nor the global options
// define (up to a "--" that starts a hand-off command).
func unknownFlags(line string, global map[string]bool) (string, []string) {
	cmds, path := commands(), "cnabsec"
	var cmd *cli.Command
	var bad []string
	for _, tok := range strings.Fields(line)[1:] {
		tok = strings.Trim(tok, "[]()`'\",;")
		if tok == "--" {
			break
		}
		if sub := findCommand(cmds, tok); sub != nil && !strings.HasPrefix(tok, "-") {
			cmd, cmds, path = sub, sub.Subcommands, path+" "+tok
			continue
		}
		if !strings.HasPrefix(tok, "--") || strings.HasPrefix(tok, "--...") {
			continue
		}
		name, _, _ := strings.Cut(tok, "=")
		if !global[name] && !definesFlag(cmd, name) {
			bad = append(bad, name)
		}
	}
	return path, bad
}

// Every example in every command's help names only flags that command (or
// the global options) defines: a renamed or removed flag left in an example
// fails here.
func TestEveryHelpExampleNamesOnlyRealFlags(t *testing.T) {
	global := flagNames(globalFlags())
	if _, bad := unknownFlags("cnabsec --timeout 1s repo serve repo --adr 127.0.0.1:0 --help -- sh -c --x", global); len(bad) != 1 || bad[0] != "--adr" {
		t.Fatalf("the checker misses a misspelt flag: %v", bad)
	}
	checked := 0
	var walk func(prefix string, cmds []*cli.Command)
	walk = func(prefix string, cmds []*cli.Command) {
		for _, c := range cmds {
			for _, l := range exampleLines(c.UsageText + "\n" + c.Description) {
				checked++
				if path, bad := unknownFlags(l, global); len(bad) > 0 {
					t.Errorf("%s%s --help: the example %q names %v, which %s does not define", prefix, c.Name, l, bad, path)
				}
			}
			walk(prefix+c.Name+" ", c.Subcommands)
		}
	}
	walk("", commands())
	if checked < 30 {
		t.Fatalf("checked only %d examples", checked)
	}
}

// Every cnabsec command line in README.md and docs/*.md (code blocks, inline
// code, and docs/cli.md's command table) names only flags its command
// defines.
func TestEveryDocExampleNamesOnlyRealFlags(t *testing.T) {
	global := flagNames(globalFlags())
	inline := regexp.MustCompile("`(cnabsec [^`]+)`")
	table := regexp.MustCompile("(?m)^\\| `([a-z][^`]*)`")
	checked := 0
	for src, text := range docFiles(t) {
		lines := exampleLines(text)
		for _, m := range inline.FindAllStringSubmatch(text, -1) {
			lines = append(lines, m[1])
		}
		if src == "docs/cli.md" {
			for _, m := range table.FindAllStringSubmatch(text, -1) {
				lines = append(lines, "cnabsec "+strings.TrimPrefix(m[1], "cnabsec "))
			}
		}
		for _, l := range lines {
			checked++
			if path, bad := unknownFlags(l, global); len(bad) > 0 {
				t.Errorf("%s: %q names %v, which %s does not define", src, l, bad, path)
			}
		}
	}
	t.Logf("checked %d command lines", checked)
	if checked < 100 {
		t.Fatalf("checked only %d command lines", checked)
	}
}
