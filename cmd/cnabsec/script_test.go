package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/cnabsec/cnabsec/internal/testing/testsigner"
)

// TestMain lets testscript run this binary as the `cnabsec` command.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"cnabsec":     func() { os.Exit(run(os.Args, os.Stdin, os.Stdout, os.Stderr)) },
		"expect-exit": expectExit,
		// The test signer plugin (never part of a release): PATH holds it
		// for the scripts and for tests that run cnabsec with plugin keys.
		"cnabsec-signer-test": func() { os.Exit(testsigner.Main(os.Stdin, os.Stdout)) },
	})
}

// TestScripts runs the CLI scripts in testdata/script: each is a sequence of
// cnabsec commands with their expected output and exit status (age's style).
func TestScripts(t *testing.T) {
	files, _ := filepath.Glob("testdata/script/*.txtar")
	if len(files) == 0 {
		t.Fatal("no scripts in testdata/script: the glob matched nothing")
	}
	vectors, err := filepath.Abs("../../../shared/vectors")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(vectors); err != nil {
		t.Fatalf("test vectors: %v", err)
	}
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		Cmds:                scriptCmds,
		Setup: func(env *testscript.Env) error {
			env.Setenv("VECTORS", vectors)
			return nil
		},
	})
}

// expectExit implements `exec expect-exit N cnabsec ARGS...` in scripts: it runs
// cnabsec and succeeds only when the exit code is exactly N.
func expectExit() {
	if len(os.Args) < 3 || os.Args[2] != "cnabsec" {
		fmt.Fprintln(os.Stderr, "usage: expect-exit N cnabsec ARGS...")
		os.Exit(2)
	}
	want, err := strconv.Atoi(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "expect-exit: bad exit code", os.Args[1])
		os.Exit(2)
	}
	if got := run(os.Args[2:], os.Stdin, os.Stdout, os.Stderr); got != want {
		fmt.Fprintf(os.Stderr, "expect-exit: cnabsec exited %d, want %d\n", got, want)
		os.Exit(1)
	}
	os.Exit(0)
}
