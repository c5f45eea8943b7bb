package main

import (
	"io"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/cnabsec/cnabsec/bundle"
	"github.com/cnabsec/cnabsec/internal/atomicfile"
	"github.com/cnabsec/cnabsec/internal/fault"
)

// bundleCommand is `cnabsec bundle`; its subcommands are listed here, in the order
// help shows them.
func bundleCommand() *cli.Command {
	return &cli.Command{
		Name:  "bundle",
		Usage: "work with CNAB bundles (canonical form, pull)",
		Description: `Subcommands read and write CNAB bundle files.

Example:
   cnabsec bundle canonicalize bundle.json --out bundle.json`,
		Subcommands: []*cli.Command{
			bundleCanonicalizeCommand(),
			bundlePullCommand(),
		},
	}
}

func bundleCanonicalizeCommand() *cli.Command {
	return &cli.Command{
		Name:      "canonicalize",
		Usage:     "write the RFC 8785 (JCS) canonical form of a bundle.json",
		UsageText: "cnabsec bundle canonicalize FILE [--out PATH]",
		Description: `Writes the canonical JSON (RFC 8785, JCS) form of the same JSON value:
members sorted, no insignificant whitespace, minimal string escapes, numbers in
ECMAScript form. Nothing is dropped or added (null members stay), unlike a
round trip through cnab-go. A thin bundle is signed as these exact bytes.

The output goes to stdout, or atomically to PATH with --out (PATH may be FILE).
Refused with exit 2: a file that is not JSON (the error names the position),
duplicate member names, lone surrogate escapes, invalid UTF-8, and numbers an
IEEE 754 double cannot carry exactly.

Examples:
   cnabsec bundle canonicalize bundle.json > bundle.canonical.json
   cnabsec bundle canonicalize bundle.json --out bundle.json`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "out", Usage: "write to `PATH` (atomically) instead of stdout"},
		},
		Action: func(c *cli.Context) error {
			file, err := onePositional(c, "FILE")
			if err != nil {
				return err
			}
			raw, err := readCapped(file, bundle.MaxBundleSize)
			if err != nil {
				return err
			}
			out, err := bundle.Canonicalize(raw)
			if err != nil {
				return fault.Inputf("%s: %w", file, err)
			}
			if p := c.String("out"); p != "" {
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					return fault.Inputf("--out %s: %w", p, err)
				}
				if err := atomicfile.WriteFile(p, out, 0o644); err != nil {
					return fault.Inputf("--out %s: %w", p, err)
				}
				return nil
			}
			_, err = c.App.Writer.Write(out)
			return err
		},
	}
}

// readCapped reads a local file the user named, refusing more than limit bytes.
func readCapped(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fault.Inputf("%w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, fault.Inputf("%w", err)
	}
	if !info.Mode().IsRegular() {
		return nil, fault.Inputf("%s: not a regular file", path)
	}
	if info.Size() > limit {
		return nil, fault.Inputf("%s: %d bytes, more than the %d allowed", path, info.Size(), limit)
	}
	raw, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fault.Inputf("%s: %w", path, err)
	}
	if int64(len(raw)) > limit {
		return nil, fault.Inputf("%s: more than %d bytes", path, limit)
	}
	return raw, nil
}
