package main

import (
	"strings"

	"github.com/urfave/cli/v2"
)

// normalizeArgs reorders a command line so that urfave/cli, which stops
// parsing flags at the first positional argument, accepts flags before or after
// positional arguments and global flags before or after the command name
// (docs/cli.md, "General"). The result is:
//
//	prog GLOBAL-FLAGS... COMMAND-PATH... COMMAND-FLAGS... -- POSITIONALS... [-- PASSTHROUGH...]
//
// Everything after the user's own "--" is passed through untouched.
func normalizeArgs(app *cli.App, args []string) []string {
	if len(args) == 0 {
		return args
	}
	n := &normalizer{globals: flagArity(app.Flags), subs: app.Commands, local: map[string]bool{}}
	rest := args[1:]
	for i := 0; i < len(rest); i++ {
		tok := rest[i]
		if tok == "--" {
			n.passthrough = rest[i+1:]
			n.sawPassthrough = true
			break
		}
		if isFlag(tok) {
			i = n.flag(rest, i)
			continue
		}
		n.word(tok)
	}
	return n.commandLine(args[0])
}

// normalizer sorts the arguments of a command line into its parts.
type normalizer struct {
	globals, local                                     map[string]bool
	subs                                               []*cli.Command
	cmd                                                *cli.Command
	globalOut, path, cmdFlags, positional, passthrough []string
	sawPassthrough                                     bool
}

// flag files the flag rest[i] (and its value, when it takes the next
// argument) with the command's flags, or with the global ones when it is
// global or comes before any command; it returns the index of the last
// argument used.
func (n *normalizer) flag(rest []string, i int) int {
	tok := rest[i]
	name, hasValue := flagName(tok)
	takes, isLocal := n.local[name]
	target := &n.cmdFlags
	if !isLocal {
		if g, ok := n.globals[name]; ok {
			takes, target = g, &n.globalOut
		} else if n.cmd == nil {
			target = &n.globalOut
		}
	}
	*target = append(*target, tok)
	if takes && !hasValue && i+1 < len(rest) {
		i++
		*target = append(*target, rest[i])
	}
	return i
}

// word files a word: a (sub)command name until the first positional
// argument, a positional argument after it.
func (n *normalizer) word(tok string) {
	if len(n.positional) == 0 {
		if c := findCommand(n.subs, tok); c != nil {
			n.cmd, n.subs = c, c.Subcommands
			n.path = append(n.path, tok)
			n.local = flagArity(c.Flags)
			return
		}
	}
	n.positional = append(n.positional, tok)
}

// commandLine assembles prog GLOBAL-FLAGS... COMMAND-PATH... COMMAND-FLAGS...
// -- POSITIONALS... [-- PASSTHROUGH...].
func (n *normalizer) commandLine(prog string) []string {
	out := append([]string{prog}, n.globalOut...)
	out = append(out, n.path...)
	out = append(out, n.cmdFlags...)
	if len(n.positional) > 0 || n.sawPassthrough {
		out = append(out, "--")
		out = append(out, n.positional...)
	}
	if n.sawPassthrough {
		out = append(out, "--")
		out = append(out, n.passthrough...)
	}
	return out
}

// splitPassthrough splits a command's arguments at the passthrough "--".
func splitPassthrough(c *cli.Context) (positional, passthrough []string) {
	all := c.Args().Slice()
	for i, a := range all {
		if a == "--" {
			return all[:i], all[i+1:]
		}
	}
	return all, nil
}

func isFlag(tok string) bool { return len(tok) > 1 && tok[0] == '-' }

func flagName(tok string) (name string, hasValue bool) {
	name = strings.TrimLeft(tok, "-")
	if i := strings.IndexByte(name, '='); i >= 0 {
		return name[:i], true
	}
	return name, false
}

// flagArity maps every name and alias of flags to whether it takes a value.
func flagArity(flags []cli.Flag) map[string]bool {
	m := map[string]bool{"help": false, "h": false}
	for _, f := range flags {
		takes := true
		if _, ok := f.(*cli.BoolFlag); ok {
			takes = false
		}
		for _, n := range f.Names() {
			m[n] = takes
		}
	}
	return m
}

func findCommand(cmds []*cli.Command, name string) *cli.Command {
	for _, c := range cmds {
		if c.HasName(name) {
			return c
		}
	}
	return nil
}
