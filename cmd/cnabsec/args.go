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
	globals := flagArity(app.Flags)
	var (
		globalOut, path, cmdFlags, positional, passthrough []string
		cmd                                                *cli.Command
		subs                                               = app.Commands
		local                                              = map[string]bool{}
		sawPassthrough                                     bool
	)
	rest := args[1:]
	for i := 0; i < len(rest); i++ {
		tok := rest[i]
		if tok == "--" {
			passthrough = rest[i+1:]
			sawPassthrough = true
			break
		}
		if isFlag(tok) {
			name, hasValue := flagName(tok)
			takes, isLocal := local[name]
			target := &cmdFlags
			if !isLocal {
				if g, ok := globals[name]; ok {
					takes, target = g, &globalOut
				} else if cmd == nil {
					target = &globalOut
				}
			}
			*target = append(*target, tok)
			if takes && !hasValue && i+1 < len(rest) {
				i++
				*target = append(*target, rest[i])
			}
			continue
		}
		if len(positional) == 0 {
			if c := findCommand(subs, tok); c != nil {
				cmd, subs = c, c.Subcommands
				path = append(path, tok)
				local = flagArity(c.Flags)
				continue
			}
		}
		positional = append(positional, tok)
	}
	out := append([]string{args[0]}, globalOut...)
	out = append(out, path...)
	out = append(out, cmdFlags...)
	if len(positional) > 0 || sawPassthrough {
		out = append(out, "--")
		out = append(out, positional...)
	}
	if sawPassthrough {
		out = append(out, "--")
		out = append(out, passthrough...)
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
