package main

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/cnabsec/cnabsec/bundle/oci"
	"github.com/cnabsec/cnabsec/internal/atomicfile"
	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/verifier"
)

func verifyCommand() *cli.Command {
	return &cli.Command{
		Name:  "verify",
		Usage: "verify a bundle (or --image) at a gradual security level, then optionally hand it to a runtime",
		UsageText: `cnabsec verify REF --trust-root ROOT.json --metadata LOCATION [--level 0|1a|1b|2|3a|3b|4]
    [--image] [--from SOURCE_REF] [--bundle FILE | --thick FILE] [--relocation-mapping FILE]
    [--cache DIR] [--kit DIR] [--map FILE] [--allow-inspections] [--supported-extension NAME]... [-o text|json] [-- CMD ARGS...]

REF is the TUF target name (REGISTRY/REPO:TAG or REGISTRY/REPO@sha256:HEX).
LOCATION is a repository directory, file://, http(s):// base URL or oci://REGISTRY/REPOSITORY.

Examples:
  cnabsec verify example.com/org/app:1.0 --trust-root root.json --metadata https://tuf.example.com --level 4
  cnabsec verify example.com/org/app:1.0 --trust-root root.json --metadata repo --bundle bundle.json -o json
  cnabsec verify example.com/org/app:1.0 --trust-root root.json --metadata repo -- sh -c 'porter install --cnab-file "$CNABSEC_BUNDLE"'

Exit codes: 0 verified, 1 denied, 2 bad input, 3 inconclusive; after a hand-off, the command's own.`,
		Flags:  append(verifyFlags(), outputFlag(), graphFlag()),
		Action: runVerify,
	}
}

func verifyFlags() []cli.Flag {
	return append([]cli.Flag{
		&cli.StringFlag{Name: "trust-root", Usage: "pinned root metadata `FILE` (obtained out of band)"},
		&cli.StringFlag{Name: "metadata", Usage: "TUF repository `LOCATION`"},
		&cli.StringFlag{Name: "level", Value: "2", Usage: "required security level: 0|1a|1b|2|3a|3b|4"},
		&cli.BoolFlag{Name: "image", Usage: "REF is an image: check the image properties of the level"},
		&cli.StringFlag{Name: "from", Usage: "read the bundle or image from `SOURCE_REF` (mirror, relocated copy)"},
		&cli.StringFlag{Name: "bundle", Usage: "thin bundle.json `FILE`"},
		&cli.StringFlag{Name: "thick", Usage: "thick bundle archive `FILE` (images are read from it)"},
		&cli.StringFlag{Name: "relocation-mapping", Usage: "relocation mapping `FILE`: check images at their relocated references"},
		&cli.StringFlag{Name: "cache", Usage: "keep trusted TUF metadata in `DIR` across runs (rollback protection)"},
		&cli.StringFlag{Name: "map", Usage: "TAP 4 map `FILE`: names served by several repositories, each with its pinned root (replaces --trust-root/--metadata)"},
		&cli.StringFlag{Name: "kit", Usage: "verify from an export kit `DIR` with no network (trust root still from --trust-root)"},
		&cli.BoolFlag{Name: "allow-inspections", Usage: "UNSAFE: run the layout's in-toto inspection commands (bounded)"},
		&cli.StringSliceFlag{Name: "supported-extension", Usage: "a requiredExtension `NAME` the runtime supports (repeatable)"},
		&cli.BoolFlag{Name: "verbose", Aliases: []string{"v"}, Usage: "text report: every check with its detail and the keys provenance rests on"},
	}, provenanceFlags()...)
}

// provenanceFlags bound the in-toto metadata one verification reads.
func provenanceFlags() []cli.Flag {
	return []cli.Flag{
		&cli.IntFlag{Name: "max-links", Value: verifier.DefaultMaxLinks, Usage: "deny an artifact listing more than `N` in-toto links"},
		&cli.IntFlag{Name: "max-links-per-step", Value: verifier.DefaultMaxLinksPerStep, Usage: "deny an artifact listing more than `N` links for one step"},
		&cli.Int64Flag{Name: "max-provenance-bytes", Value: verifier.DefaultMaxProvenance, Usage: "deny an artifact whose layout and links exceed `BYTES` (signed lengths, checked before download)"},
		&cli.IntFlag{Name: "max-json-values", Value: verifier.DefaultMaxValues, Usage: "deny an artifact whose layout and links hold more than `N` JSON values (counted before parsing)"},
	}
}

// provenanceLimits reads provenanceFlags (zero where a command lacks them:
// the defaults).
func provenanceLimits(c *cli.Context) (verifier.ProvenanceLimits, error) {
	l := verifier.ProvenanceLimits{MaxLinks: c.Int("max-links"), MaxLinksPerStep: c.Int("max-links-per-step"),
		MaxBytes: c.Int64("max-provenance-bytes"), MaxValues: c.Int("max-json-values")}
	if l.MaxLinks < 0 || l.MaxLinksPerStep < 0 || l.MaxBytes < 0 || l.MaxValues < 0 {
		return l, fault.Inputf("--max-links, --max-links-per-step, --max-provenance-bytes and --max-json-values take positive numbers")
	}
	return l, nil
}

// verifyConfig builds the verifier configuration from the flags.
func verifyConfig(c *cli.Context) (verifier.Config, error) {
	location := c.String("metadata")
	if c.String("kit") != "" {
		location = "(kit)"
	}
	cfg := verifier.Config{
		Location: location,
		CacheDir: c.String("cache"),
		Timeout:  c.Duration("timeout"),
		Registry: registryOptions(c),
	}
	lim, err := provenanceLimits(c)
	if err != nil {
		return cfg, err
	}
	cfg.Provenance = lim
	if p := c.String("map"); p != "" {
		if c.String("trust-root") != "" || c.String("metadata") != "" {
			return cfg, fault.Inputf("--map replaces --trust-root and --metadata: give one or the other")
		}
		m, roots, err := verifier.ParseMapFile(p)
		if err != nil {
			return cfg, err
		}
		cfg.Map, cfg.MapRoots, cfg.Location = m, roots, ""
		return cfg, nil
	}
	if p := c.String("trust-root"); p != "" {
		b, err := os.ReadFile(p)
		if err != nil {
			return cfg, fault.Inputf("--trust-root %s: %w", p, err)
		}
		cfg.TrustedRoot = b
		if cfg.Location == "" {
			return cfg, fault.Inputf("--trust-root needs --metadata LOCATION")
		}
	}
	return cfg, nil
}

// registryOptions are the registry settings from the global flags.
func registryOptions(c *cli.Context) oci.Options {
	o := oci.Options{Timeout: c.Duration("timeout"), Insecure: c.StringSlice("insecure-registry")}
	switch {
	case c.Bool("no-progress"):
	case isTerminal(c.App.ErrWriter):
		o.Progress = newTerminalProgress(c.App.ErrWriter).report
	default:
		o.Progress = logProgress
	}
	return o
}

func runVerify(c *cli.Context) error {
	pos, cmdArgs := splitPassthrough(c)
	if len(pos) != 1 {
		return fault.Inputf("verify: want exactly one REF argument, got %d", len(pos))
	}
	asJSON, err := wantJSON(c)
	if err != nil {
		return err
	}
	graphFormat, err := verifyGraphFormat(c)
	if err != nil {
		return err
	}
	cfg, req, err := verifyRequest(c, pos[0])
	if err != nil {
		return err
	}
	req.KeepLayouts = graphFormat != ""
	ctx := c.Context
	if ctx == nil {
		ctx = context.Background()
	}
	var report *verifier.Report
	v, err := verifier.New(cfg)
	if err == nil {
		defer v.Close()
		report, err = v.Verify(ctx, req)
	}
	out := c.App.Writer
	if len(cmdArgs) > 0 {
		out = c.App.ErrWriter // stdout belongs to CMD
	}
	tty := isTerminal(out)
	st := reportStyle{verbose: c.Bool("verbose"), colour: tty && os.Getenv("NO_COLOR") == "", wrap: tty}
	if werr := writeReport(out, report, asJSON, st); werr != nil {
		return werr
	}
	if gerr := verifyGraph(c, report, graphFormat, err); gerr != nil {
		return gerr
	}
	if err != nil || len(cmdArgs) == 0 {
		return err
	}
	return handoff(c, report, req, cmdArgs)
}

// verifyRequest builds the verifier configuration and the request from the
// flags (a kit replaces the sources).
func verifyRequest(c *cli.Context, ref string) (verifier.Config, verifier.Request, error) {
	lvl, err := verifier.ParseLevel(c.String("level"))
	if err != nil {
		return verifier.Config{}, verifier.Request{}, err
	}
	if c.String("bundle") != "" && c.String("thick") != "" {
		return verifier.Config{}, verifier.Request{}, fault.Inputf("--bundle and --thick exclude each other")
	}
	cfg, err := verifyConfig(c)
	if err != nil {
		return cfg, verifier.Request{}, err
	}
	req := verifier.Request{
		Reference:              ref,
		Level:                  lvl,
		Image:                  c.Bool("image"),
		From:                   c.String("from"),
		BundleFile:             c.String("bundle"),
		ThickFile:              c.String("thick"),
		RelocationMappingFile:  c.String("relocation-mapping"),
		SupportedExtensions:    c.StringSlice("supported-extension"),
		AllowInspectionsUnsafe: c.Bool("allow-inspections"),
	}
	if kit := c.String("kit"); kit != "" {
		if req.BundleFile != "" || req.ThickFile != "" || req.From != "" {
			return cfg, req, fault.Inputf("--kit replaces --bundle, --thick and --from")
		}
		if req.RelocationMappingFile != "" {
			return cfg, req, fault.Inputf("--relocation-mapping does not apply to --kit (its images are the kit's own); " +
				"after cnabsec import, verify the relocated copy with --relocation-mapping and without --kit")
		}
		verifier.KitRequest(kit, &cfg, &req)
	}
	return cfg, req, nil
}

// writeReport renders the report (when there is one) as JSON or text.
func writeReport(out io.Writer, report *verifier.Report, asJSON bool, st reportStyle) error {
	switch {
	case report == nil:
		return nil
	case asJSON:
		return writeJSON(out, report)
	}
	return writeReportText(out, report, st)
}

// handoff runs CMD after a pass with private copies of exactly the bytes
// that verified (never re-read from the user's files, never re-fetched), in a
// directory only this process can read, removed when CMD exits.
func handoff(c *cli.Context, report *verifier.Report, req verifier.Request, cmdArgs []string) error {
	dir, err := os.MkdirTemp("", "cnabsec-handoff-") // mode 0700
	if err != nil {
		return fault.Inputf("hand-off: %w", err)
	}
	defer os.RemoveAll(dir)
	env, err := handoffEnv(c, report, req.Image, dir)
	if err != nil {
		return err
	}
	return runHandoff(c, env, cmdArgs)
}

// Signals while CMD runs. SIGINT and SIGQUIT from a terminal reach CMD
// directly (it is in the same process group): cnabsec only outlives them.
// SIGTERM and SIGHUP, often sent to cnabsec alone, are passed on to CMD.
// Either way cnabsec waits for CMD and then removes the private copies
// (SIGKILL cannot be caught: the directory then stays in the temporary
// directory).
var (
	handoffSurvived  = []os.Signal{os.Interrupt, syscall.SIGQUIT}
	handoffForwarded = []os.Signal{syscall.SIGTERM, syscall.SIGHUP}
)

// runHandoff runs CMD with env and returns its exit status (128+N when a
// signal N ended it).
func runHandoff(c *cli.Context, env []string, cmdArgs []string) error {
	cmd := exec.CommandContext(c.Context, cmdArgs[0], cmdArgs[1:]...)
	cmd.Env = env
	cmd.Stdin, cmd.Stdout, cmd.Stderr = c.App.Reader, c.App.Writer, c.App.ErrWriter
	if cmd.Stdin == nil {
		cmd.Stdin = io.LimitReader(nil, 0)
	}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, append(handoffSurvived, handoffForwarded...)...)
	defer signal.Stop(sigs)
	if err := cmd.Start(); err != nil {
		return fault.Inputf("hand-off command %q: %w", cmdArgs[0], err)
	}
	done := make(chan struct{})
	go forwardSignals(cmd.Process, sigs, done)
	err := cmd.Wait()
	close(done)
	if err == nil {
		return nil
	}
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		return fault.Inputf("hand-off command %q: %w", cmdArgs[0], err)
	}
	if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return &handoffExit{code: 128 + int(ws.Signal())}
	}
	return &handoffExit{code: exit.ExitCode()}
}

// forwardSignals passes SIGTERM and SIGHUP on to p until done.
func forwardSignals(p *os.Process, sigs <-chan os.Signal, done <-chan struct{}) {
	for {
		select {
		case sig := <-sigs:
			if slices.Contains(handoffForwarded, sig) {
				p.Signal(sig)
			}
		case <-done:
			return
		}
	}
}

// handoffEnv is the runtime's environment: the inherited one without any
// CNABSEC_* variable (a stale CNABSEC_BUNDLE must never reach it) nor the
// passphrase variable, plus exactly the variables this run defines: for a
// bundle CNABSEC_BUNDLE, CNABSEC_BUNDLE_DIGEST and, with a mapping,
// CNABSEC_RELOCATION_MAPPING; for an image (no bundle) CNABSEC_IMAGE_DIGEST.
func handoffEnv(c *cli.Context, report *verifier.Report, image bool, dir string) ([]string, error) {
	env := inheritedEnv(c.String("passphrase-env"))
	if image {
		return append(env, "CNABSEC_IMAGE_DIGEST="+report.BundleDigest), nil
	}
	env = append(env, "CNABSEC_BUNDLE_DIGEST="+report.BundleDigest)
	for _, f := range []struct {
		name, file string
		data       []byte
	}{
		{"CNABSEC_BUNDLE", "bundle.json", report.VerifiedBundle()},
		{"CNABSEC_RELOCATION_MAPPING", "relocation-mapping.json", report.VerifiedRelocationMapping()},
	} {
		if f.data == nil {
			continue
		}
		p := filepath.Join(dir, f.file)
		if err := atomicfile.WriteFile(p, f.data, 0o600); err != nil {
			return nil, fault.Inputf("hand-off: %w", err)
		}
		env = append(env, f.name+"="+p)
	}
	return env, nil
}

// inheritedEnv is this process's environment without any CNABSEC_* variable
// and without the variable holding the key passphrase.
func inheritedEnv(secret string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "CNABSEC_") || (secret != "" && k == secret) {
			continue
		}
		env = append(env, kv)
	}
	return env
}
