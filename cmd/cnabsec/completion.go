package main

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/cnabsec/cnabsec/internal/fault"
)

func completionCommand() *cli.Command {
	return &cli.Command{
		Name:      "completion",
		Usage:     "print a shell completion script (bash, zsh or fish)",
		UsageText: "cnabsec completion bash|zsh|fish",
		Description: `Prints a script that completes cnabsec's commands, subcommands and flags
(and file names where a flag takes a value).

Examples:
   source <(cnabsec completion bash)                  # in ~/.bashrc
   source <(cnabsec completion zsh)                   # in ~/.zshrc
   cnabsec completion fish > ~/.config/fish/completions/cnabsec.fish`,
		Action: runCompletion,
	}
}

func runCompletion(c *cli.Context) error {
	shell, err := onePositional(c, "SHELL")
	if err != nil {
		return err
	}
	tree := completionTree(commands(), globalFlags())
	switch shell {
	case "bash":
		return writeBashCompletion(c.App.Writer, tree)
	case "zsh":
		fmt.Fprintln(c.App.Writer, "autoload -U +X bashcompinit && bashcompinit")
		return writeBashCompletion(c.App.Writer, tree)
	case "fish":
		return writeFishCompletion(c.App.Writer, tree)
	}
	return fault.Inputf("completion: unknown shell %q: want bash, zsh or fish", shell)
}

// completionNode is one command path ("" for cnabsec itself, "repo init"),
// the words that may follow it and its commands' usage for fish.
type completionNode struct {
	path  string
	subs  []*cli.Command
	flags []string
}

// completionTree lists every command path with its subcommands and flags;
// the global flags complete everywhere.
func completionTree(cmds []*cli.Command, global []cli.Flag) []completionNode {
	globals := flagWords(global)
	out := []completionNode{{path: "", subs: cmds, flags: globals}}
	var walk func(prefix string, cmds []*cli.Command)
	walk = func(prefix string, cmds []*cli.Command) {
		for _, c := range cmds {
			path := strings.TrimSpace(prefix + " " + c.Name)
			out = append(out, completionNode{path: path, subs: c.Subcommands, flags: append(flagWords(c.Flags), globals...)})
			walk(path, c.Subcommands)
		}
	}
	walk("", cmds)
	return out
}

// flagWords is --name for each flag name (and -x for one-letter aliases).
func flagWords(flags []cli.Flag) []string {
	var out []string
	for _, f := range flags {
		for _, n := range f.Names() {
			if len(n) == 1 {
				out = append(out, "-"+n)
			} else {
				out = append(out, "--"+n)
			}
		}
	}
	sort.Strings(out)
	return out
}

func (n completionNode) words() string {
	var w []string
	for _, c := range n.subs {
		w = append(w, c.Name)
	}
	return strings.Join(append(w, n.flags...), " ")
}

// writeBashCompletion writes a bash function that finds the command path
// among the words typed so far and offers what may follow it; a word that
// matches nothing completes as a file name.
func writeBashCompletion(w io.Writer, tree []completionNode) error {
	var b strings.Builder
	b.WriteString("# cnabsec completion for bash (zsh: through bashcompinit)\n_cnabsec_words() {\n  case \"$1\" in\n")
	for _, n := range tree {
		fmt.Fprintf(&b, "    %q) echo %q ;;\n", n.path, n.words())
	}
	b.WriteString(`  esac
}
_cnabsec() {
  local cur="${COMP_WORDS[COMP_CWORD]}" path="" w i
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="${COMP_WORDS[i]}"
    [[ "$w" == -* ]] && continue
    if [[ " $(_cnabsec_words "$path") " == *" $w "* ]]; then path="${path:+$path }$w"; fi
  done
  COMPREPLY=($(compgen -W "$(_cnabsec_words "$path")" -- "$cur"))
  if [[ ${#COMPREPLY[@]} -eq 0 ]]; then COMPREPLY=($(compgen -f -- "$cur")); fi
}
complete -o filenames -F _cnabsec cnabsec
`)
	_, err := io.WriteString(w, b.String())
	return err
}

// writeFishCompletion writes fish complete lines: each command offered once
// its parents are on the line, each flag once its command is.
func writeFishCompletion(w io.Writer, tree []completionNode) error {
	var b strings.Builder
	b.WriteString("# cnabsec completion for fish\ncomplete -c cnabsec -f\n")
	for _, n := range tree {
		cond := fishCondition(n.path)
		for _, c := range n.subs {
			fmt.Fprintf(&b, "complete -c cnabsec -n %s -a %s -d %s\n", fishQuote(cond), c.Name, fishQuote(c.Usage))
		}
		for _, f := range n.flags {
			if strings.HasPrefix(f, "--") {
				fmt.Fprintf(&b, "complete -c cnabsec -n %s -l %s -r -F\n", fishQuote(cond), strings.TrimPrefix(f, "--"))
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// fishCondition holds when exactly the words of path were typed as commands.
func fishCondition(path string) string {
	if path == "" {
		return "__fish_use_subcommand"
	}
	var parts []string
	for _, word := range strings.Fields(path) {
		parts = append(parts, "__fish_seen_subcommand_from "+word)
	}
	return strings.Join(parts, "; and ")
}

func fishQuote(s string) string {
	return "'" + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), "'", `\'`) + "'"
}
