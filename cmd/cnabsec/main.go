// Command cnabsec signs and verifies cloud-native application bundles (CNAB)
// and the OCI images they reference, with TUF and in-toto, as the CNAB Security
// specification describes.
package main

import (
	"io"
	"os"
)

func main() {
	os.Exit(run(os.Args, os.Stdin, os.Stdout, os.Stderr))
}

// run executes the command line args (args[0] is the program name) and returns
// the process exit code. Tests call it with buffers.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	app := newApp(stdin, stdout, stderr)
	if h, ok := helpArgs(app, args); ok {
		args = h
	}
	if err := checkCommandLine(app, args); err != nil {
		return report(stderr, err)
	}
	err := app.Run(normalizeArgs(app, args))
	return report(stderr, err)
}
