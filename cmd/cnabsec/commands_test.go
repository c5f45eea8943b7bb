package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

// A command built by a fooCommand function but listed nowhere would silently
// not exist: every such constructor in this package must be called by a
// non-test file (commands() or a parent's Subcommands list).
func TestEveryCommandConstructorIsListed(t *testing.T) {
	defined, called := map[string]bool{}, map[string]bool{}
	fset := token.NewFileSet()
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, e.Name(), nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		collectCommandConstructors(f, defined, called)
	}
	if len(defined) < 20 {
		t.Fatalf("found only %d command constructors: %v", len(defined), defined)
	}
	for name := range defined {
		if !called[name] {
			t.Errorf("%s() builds a command that no command list includes: add it to commands() or its parent's Subcommands", name)
		}
	}
}

// collectCommandConstructors records the functions of f that return
// *cli.Command and take no arguments (defined) and every call of a function with no arguments
// (called).
func collectCommandConstructors(f *ast.File, defined, called map[string]bool) {
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.FuncDecl:
			if n.Recv == nil && n.Type.Params.NumFields() == 0 && returnsCommand(n.Type) {
				defined[n.Name.Name] = true
			}
		case *ast.CallExpr:
			if id, ok := n.Fun.(*ast.Ident); ok && len(n.Args) == 0 {
				called[id.Name] = true
			}
		}
		return true
	})
}

func returnsCommand(ft *ast.FuncType) bool {
	if ft.Results == nil || len(ft.Results.List) != 1 {
		return false
	}
	star, ok := ft.Results.List[0].Type.(*ast.StarExpr)
	if !ok {
		return false
	}
	sel, ok := star.X.(*ast.SelectorExpr)
	return ok && sel.Sel.Name == "Command"
}

// Help lists the top-level commands in name order (subcommands keep the order
// of their workflow), and no two commands of one level share a name (the
// second would be unreachable).
func TestCommandsAreSortedAndUnique(t *testing.T) {
	var walk func(path string, cmds []*cli.Command)
	walk = func(path string, cmds []*cli.Command) {
		names := make([]string, len(cmds))
		for i, c := range cmds {
			names[i] = c.Name
			walk(path+" "+c.Name, c.Subcommands)
		}
		if path == "cnabsec" && !sort.StringsAreSorted(names) {
			t.Errorf("%s: commands not in name order: %v", path, names)
		}
		for i := 1; i < len(names); i++ {
			if names[i] == names[i-1] {
				t.Errorf("%s: two commands named %q", path, names[i])
			}
		}
	}
	walk("cnabsec", commands())
}
