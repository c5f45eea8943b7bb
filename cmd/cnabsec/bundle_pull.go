package main

import (
	"os"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/cnabsec/cnabsec/bundle/oci"
	"github.com/cnabsec/cnabsec/internal/atomicfile"
	"github.com/cnabsec/cnabsec/internal/fault"
)

func bundlePullCommand() *cli.Command {
	return &cli.Command{
		Name:      "pull",
		Usage:     "fetch a thin bundle's bundle.json, or build a thick bundle, from a registry",
		UsageText: "cnabsec bundle pull REF [--thick] [--out FILE]",
		Description: `Reads the thin bundle REF (CNAB-in-OCI, by tag or digest) from its registry.

Without --thick: writes bundle.json exactly as stored (never re-encoded, so its
sha256 is the digest a signature covers) to FILE, or to stdout.

With --thick: writes a thick bundle (CNAB 104) to FILE: a gzip tar holding
bundle.json and every invocation and component image in artifacts/layout (an
OCI image layout). Images are read from REF's repository by their
contentDigest; every blob is digest- and size-checked as it is copied. The
archive is reproducible: pulling the same bundle twice gives identical bytes.
FILE only appears once the archive is complete.

This does not verify signatures: run 'cnabsec verify' for that.

Examples:
   cnabsec bundle pull registry.example.com/org/app:1.0 --out bundle.json
   cnabsec bundle pull registry.example.com/org/app:1.0 --thick --out app-1.0.tgz`,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "thick", Usage: "write a thick bundle archive (needs --out)"},
			&cli.StringFlag{Name: "out", Usage: "write to `FILE` (atomically); thin bundles default to stdout"},
		},
		Action: runBundlePull,
	}
}

func runBundlePull(c *cli.Context) error {
	arg, err := onePositional(c, "REF")
	if err != nil {
		return err
	}
	opts := registryOptions(c)
	ref, err := oci.ParseRef(arg, opts)
	if err != nil {
		return err
	}
	out := c.String("out")
	if c.Bool("thick") {
		if out == "" {
			return fault.Inputf("bundle pull --thick: --out FILE is required (the archive is binary)")
		}
		return writeStreamed(out, func(f *os.File) error { return oci.PullThick(c.Context, ref, f, opts) })
	}
	raw, _, err := oci.PullBundle(c.Context, ref, opts)
	if err != nil {
		return err
	}
	if out == "" {
		_, err := c.App.Writer.Write(raw)
		return err
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return fault.Inputf("--out %s: %w", out, err)
	}
	if err := atomicfile.WriteFile(out, raw, 0o644); err != nil {
		return fault.Inputf("--out %s: %w", out, err)
	}
	return nil
}

// writeStreamed is atomicfile.WriteFile for content too large to hold in
// memory: write writes into a temporary file beside path, which is synced and
// renamed over path only when write succeeded, and removed otherwise.
func writeStreamed(path string, write func(*os.File) error) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fault.Inputf("--out %s: %w", path, err)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fault.Inputf("--out %s: %w", path, err)
	}
	tmp := f.Name()
	done := false
	defer func() {
		if !done {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err := f.Chmod(0o644); err != nil {
		return fault.Inputf("--out %s: %w", path, err)
	}
	if err := write(f); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return fault.Inputf("--out %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fault.Inputf("--out %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fault.Inputf("--out %s: %w", path, err)
	}
	done = true
	if err := atomicfile.SyncDir(dir); err != nil {
		return fault.Inputf("--out %s: %w", path, err)
	}
	return nil
}
