package main

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/cnabsec/cnabsec/internal/fault"
)

// checkCommandLine refuses an unknown command or flag before urfave/cli
// would print a help page: one error line, a "did you mean" hint, exit 2.
func checkCommandLine(app *cli.App, args []string) error {
	cmds, flags, path := app.Commands, flagArity(app.Flags), []string{"cnabsec"}
	globals := flagArity(app.Flags)
	positional := false
	for i := 1; i < len(args); i++ {
		tok := args[i]
		if tok == "--" {
			return nil
		}
		if isFlag(tok) {
			skip, err := checkFlag(path, tok, flags, globals)
			if err != nil {
				return err
			}
			if skip {
				i++
			}
			continue
		}
		if positional || len(cmds) == 0 {
			positional = true
			continue
		}
		c := findCommand(cmds, tok)
		if c == nil {
			return unknownOrHelp(path, tok, cmds)
		}
		path = append(path, tok)
		cmds, flags = subcommands(c), flagArity(c.Flags)
	}
	return nil
}

// checkFlag refuses a flag that is neither the command's nor global; skip
// reports that its value is the next argument.
func checkFlag(path []string, tok string, flags, globals map[string]bool) (skip bool, err error) {
	name, hasValue := flagName(tok)
	takes, ok := flags[name]
	if !ok {
		takes, ok = globals[name]
	}
	if !ok {
		return false, unknownFlag(path, tok, flags, globals)
	}
	return takes && !hasValue, nil
}

// unknownOrHelp refuses tok, which names no command of cmds, unless it is
// the help command.
func unknownOrHelp(path []string, tok string, cmds []*cli.Command) error {
	if tok == "help" || tok == "h" {
		return nil
	}
	return unknownCommand(path, tok, cmds)
}

// subcommands are c's own subcommands: urfave/cli adds a "help" one to every
// command it has run, which does not make c a command group.
func subcommands(c *cli.Command) []*cli.Command {
	var out []*cli.Command
	for _, s := range c.Subcommands {
		if s.Name != "help" {
			out = append(out, s)
		}
	}
	return out
}

func unknownCommand(path []string, tok string, cmds []*cli.Command) error {
	var names []string
	for _, c := range cmds {
		names = append(names, c.Names()...)
	}
	err := fault.Inputf("unknown command %q", strings.Join(append(path[1:], tok), " "))
	if s := closest(tok, names); s != "" {
		return fault.WithHint(err, fmt.Sprintf("did you mean %q?", strings.Join(append(path[1:], s), " ")))
	}
	return fault.WithHint(err, fmt.Sprintf("`%s --help` lists the commands", strings.Join(path, " ")))
}

func unknownFlag(path []string, tok string, sets ...map[string]bool) error {
	name, _ := flagName(tok)
	var names []string
	for _, set := range sets {
		for n := range set {
			names = append(names, n)
		}
	}
	err := fault.Inputf("%s: unknown flag %s", strings.Join(path, " "), strings.SplitN(tok, "=", 2)[0])
	if s := closest(name, names); s != "" {
		return fault.WithHint(err, "did you mean "+dashes(s)+"?")
	}
	return fault.WithHint(err, fmt.Sprintf("`%s --help` lists the flags", strings.Join(path, " ")))
}

func dashes(name string) string {
	if len(name) == 1 {
		return "-" + name
	}
	return "--" + name
}

// closest is the candidate within edit distance 2 (or a prefix match) of
// word, the nearest first; "" when none is close.
func closest(word string, candidates []string) string {
	best, bestD := "", 3
	for _, c := range candidates {
		d := editDistance(word, c)
		if len(word) >= 3 && strings.HasPrefix(c, word) {
			d = min(d, 1)
		}
		if d < bestD || d == bestD && c < best {
			best, bestD = c, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance with adjacent transpositions
// counted as one edit (optimal string alignment).
func editDistance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}

// helpArgs rewrites a request for help into the form urfave/cli answers:
// "cnabsec help repo sign" and "cnabsec repo sign DIR --role x --help" both
// become "cnabsec repo sign --help" (arguments and other flags dropped). A
// help request naming an unknown command becomes that command line without
// --help, for checkCommandLine to name. ok is false when args ask for no help.
func helpArgs(app *cli.App, args []string) (out []string, ok bool) {
	path, unknown, wantHelp := []string{}, "", false
	cmds, flags, globals := app.Commands, map[string]bool{}, flagArity(app.Flags)
	for i := 1; i < len(args); i++ {
		tok := args[i]
		switch {
		case tok == "--":
			i = len(args)
		case isHelpRequest(tok, i):
			wantHelp = true
		case isFlag(tok):
			if takesNextArg(tok, flags, globals) {
				i++
			}
		case len(cmds) > 0 && unknown == "":
			c := findCommand(cmds, tok)
			if c == nil {
				unknown = tok
				continue
			}
			path = append(path, tok)
			cmds, flags = subcommands(c), flagArity(c.Flags)
		}
	}
	if !wantHelp {
		return nil, false
	}
	return helpCommandLine(args[0], path, unknown), true
}

// helpCommandLine is the command line that answers a help request for path:
// with --help, or naming the unknown command for checkCommandLine.
func helpCommandLine(prog string, path []string, unknown string) []string {
	if unknown != "" {
		return append(append([]string{prog}, path...), unknown)
	}
	return append(append([]string{prog}, path...), "--help")
}

// isHelpRequest reports whether the i-th argument tok asks for help: --help,
// -h, or help as the first argument.
func isHelpRequest(tok string, i int) bool {
	return tok == "--help" || tok == "-h" || (i == 1 && tok == "help")
}

// takesNextArg reports whether the flag tok, known to the command or global,
// takes its value from the next argument.
func takesNextArg(tok string, flags, globals map[string]bool) bool {
	name, hasValue := flagName(tok)
	return (flags[name] || globals[name]) && !hasValue
}
