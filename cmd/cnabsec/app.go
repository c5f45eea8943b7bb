package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/cnabsec/cnabsec"
	"github.com/cnabsec/cnabsec/internal/fault"
)

// commands lists every top-level command, in the order help shows them. Each
// is built afresh for every app, so no command's state outlives one run.
func commands() []*cli.Command {
	return []*cli.Command{
		bundleCommand(),
		completionCommand(),
		copyCommand(),
		demoCommand(),
		exportCommand(),
		gatewayCommand(),
		importCommand(),
		keyCommand(),
		layoutCommand(),
		linkCommand(),
		repoCommand(),
		revokeCommand(),
		serveCommand(),
		signCommand(),
		verifyCommand(),
		versionCommand(),
	}
}

func newApp(stdin io.Reader, stdout, stderr io.Writer) *cli.App {
	cmds := commands()
	quietUsageErrors(cmds)
	return &cli.App{
		Name:  "cnabsec",
		Usage: "sign and verify CNAB bundles and OCI images with TUF and in-toto",
		Description: `cnabsec implements the CNAB Security specification: publishers keep a TUF
metadata repository and sign bundles, images and in-toto provenance into it;
operators verify a bundle at a gradual security level (0, 1a, 1b, 2, 3a, 3b, 4)
before handing it to a runtime.

Exit codes: 0 success, 1 denied, 2 usage or local input error, 3 inconclusive.`,
		Flags:           globalFlags(),
		Commands:        cmds,
		Reader:          stdin,
		Writer:          stdout,
		ErrWriter:       stderr,
		HideHelpCommand: true,
		// -m a,b is one path named "a,b", not two: repeat the flag instead.
		DisableSliceFlagSeparator: true,
		EnableBashCompletion:      false,
		ExitErrHandler:            func(*cli.Context, error) {}, // report() decides exit codes
		Before: func(c *cli.Context) error {
			lvl, err := parseLogLevel(c.String("log-level"))
			if err != nil {
				return err
			}
			logger := slog.New(slog.NewTextHandler(c.App.ErrWriter, &slog.HandlerOptions{Level: lvl}))
			slog.SetDefault(logger)
			return nil
		},
	}
}

func globalFlags() []cli.Flag {
	return []cli.Flag{
		&cli.DurationFlag{Name: "timeout", Value: 30 * time.Second, Usage: "limit for each network operation"},
		&cli.StringFlag{Name: "log-level", Value: "warn", Usage: "error|warn|info|debug (logs go to stderr)"},
		&cli.BoolFlag{Name: "no-progress", Usage: "never draw progress bars"},
		&cli.StringSliceFlag{Name: "insecure-registry", Usage: "allow plain HTTP or untrusted TLS for this registry `HOST` (repeatable; loopback needs no flag)"},
		&cli.StringFlag{Name: "passphrase-env", Usage: "environment `VAR` holding the passphrase of encrypted private keys"},
		&cli.DurationFlag{Name: "signer-timeout", Value: defaultSignerTimeout, Usage: "limit for each call to a signer plugin or token (1s to 1h)"},
	}
}

func parseLogLevel(s string) (slog.Level, error) {
	switch strings.ToLower(s) {
	case "error":
		return slog.LevelError, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "info":
		return slog.LevelInfo, nil
	case "debug":
		return slog.LevelDebug, nil
	}
	return 0, fault.Inputf("--log-level %q: want error, warn, info or debug", s)
}

// passphrase returns the passphrase named by --passphrase-env, or nil.
func passphrase(c *cli.Context) ([]byte, error) {
	v := c.String("passphrase-env")
	if v == "" {
		return nil, nil
	}
	p, ok := os.LookupEnv(v)
	if !ok {
		return nil, fault.Inputf("--passphrase-env %s: the variable is not set", v)
	}
	return []byte(p), nil
}

// report prints err (if any) per docs/cli.md ("Exit codes") and returns the exit code.
func report(stderr io.Writer, err error) int {
	if err == nil {
		return 0
	}
	var exit cli.ExitCoder
	if errors.As(err, &exit) && cnabsec.KindOf(err) == cnabsec.Unknown {
		if msg := err.Error(); msg != "" {
			fmt.Fprintf(stderr, "cnabsec: error: %s\n", msg)
		}
		return exit.ExitCode()
	}
	var handoff *handoffExit
	if errors.As(err, &handoff) {
		return handoff.code
	}
	fmt.Fprintf(stderr, "cnabsec: error: %s\n", err)
	if h := hintFor(err); h != "" {
		fmt.Fprintf(stderr, "cnabsec: hint: %s\n", h)
	}
	return exitCode(cnabsec.KindOf(err))
}

// exitCode maps the libraries' error kinds to the exit codes of docs/cli.md.
func exitCode(k cnabsec.Kind) int {
	switch k {
	case cnabsec.Denied:
		return 1
	case cnabsec.Inconclusive:
		return 3
	}
	return 2 // bad input, and anything no library classified
}

// handoffExit carries the exit code of a command run after verification.
type handoffExit struct{ code int }

func (h *handoffExit) Error() string { return fmt.Sprintf("command exited with %d", h.code) }

// quietUsageErrors makes a bad flag value one error line (exit 2) instead of
// the error followed by the command's whole help page.
func quietUsageErrors(cmds []*cli.Command) {
	for _, c := range cmds {
		c.OnUsageError = usageError
		quietUsageErrors(c.Subcommands)
	}
}

func usageError(c *cli.Context, err error, _ bool) error {
	name := commandPath(c)
	msg := strings.Replace(err.Error(), " for flag -", " for flag --", 1)
	return fault.WithHint(fault.Inputf("%s: %s", name, msg), fmt.Sprintf("`%s --help` lists the flags", name))
}

// commandPath is "cnabsec repo status" for the running command (HelpName
// grows with each run of the shared command values in tests).
func commandPath(c *cli.Context) string {
	var parts []string
	for _, ctx := range c.Lineage() {
		if ctx.Command != nil && ctx.Command.Name != "" && ctx.Command.Name != c.App.Name {
			parts = append([]string{ctx.Command.Name}, parts...)
		}
	}
	return strings.Join(append([]string{"cnabsec"}, parts...), " ")
}
