package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// bashComplete runs the generated bash completion on the typed words and
// returns what it offers for the last one.
func bashComplete(t *testing.T, script string, words ...string) string {
	t.Helper()
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	quoted := make([]string, len(words))
	for i, w := range words {
		quoted[i] = "'" + w + "'"
	}
	prog := "source " + script + "\nCOMP_WORDS=(cnabsec " + strings.Join(quoted, " ") + ")\nCOMP_CWORD=" +
		strings.Repeat("1+", len(words)-1) + "1\n_cnabsec\necho \"${COMPREPLY[*]}\"\n"
	out, err := exec.Command("bash", "-c", prog).CombinedOutput()
	if err != nil {
		t.Fatalf("bash: %v\n%s", err, out)
	}
	return strings.TrimSpace(string(out))
}

func TestBashCompletionOffersCommandsSubcommandsAndFlags(t *testing.T) {
	code, stdout, stderr := runCLI(t, "completion", "bash")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	script := filepath.Join(t.TempDir(), "cnabsec.bash")
	if err := os.WriteFile(script, []byte(stdout), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		words []string
		want  string
	}{
		{[]string{"ver"}, "verify version"},
		{[]string{"repo", "in"}, "init"},
		{[]string{"repo", "init", "dir", "--root"}, "--root-key --root-threshold"},
		{[]string{"--timeout", "5s", "verify", "ref", "--trust"}, "--trust-root"},
		{[]string{"sign", "b"}, "bundle batch"},
	} {
		if got := bashComplete(t, script, tc.words...); got != tc.want {
			t.Errorf("cnabsec %s<TAB>: %q, want %q", strings.Join(tc.words, " "), got, tc.want)
		}
	}
}

func TestZshAndFishCompletionCoverEveryCommand(t *testing.T) {
	_, zsh, _ := runCLI(t, "completion", "zsh")
	if !strings.HasPrefix(zsh, "autoload -U +X bashcompinit && bashcompinit\n") || !strings.Contains(zsh, "complete -o filenames -F _cnabsec cnabsec") {
		t.Errorf("zsh script:\n%.300s", zsh)
	}
	_, fish, _ := runCLI(t, "completion", "fish")
	for _, c := range commands() {
		if !strings.Contains(fish, "-n '__fish_use_subcommand' -a "+c.Name+" ") {
			t.Errorf("fish does not offer %s", c.Name)
		}
	}
	if !strings.Contains(fish, "-n '__fish_seen_subcommand_from repo; and __fish_seen_subcommand_from init' -l root-key") {
		t.Errorf("fish does not offer repo init --root-key")
	}
	if code, _, stderr := runCLI(t, "completion", "powershell"); code != 2 || !strings.Contains(stderr, `unknown shell "powershell"`) {
		t.Errorf("unknown shell: exit %d: %s", code, stderr)
	}
}
