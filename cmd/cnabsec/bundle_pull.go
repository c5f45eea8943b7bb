package main

import (
	"encoding/json"
	"os"
	"path/filepath"

	"github.com/google/go-containerregistry/pkg/name"
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
			outputFlag(),
		},
		Action: runBundlePull,
	}
}

// bundlePullReport is the -o json output of `bundle pull`: what was pulled
// and where it went (the thin bundle itself when no --out was given).
type bundlePullReport struct {
	Reference string          `json:"reference"`
	Index     string          `json:"index,omitempty"`
	Thick     bool            `json:"thick"`
	Out       string          `json:"out,omitempty"`
	Bytes     int64           `json:"bytes"`
	Bundle    json.RawMessage `json:"bundle,omitempty"`
}

func runBundlePull(c *cli.Context) error {
	arg, err := onePositional(c, "REF")
	if err != nil {
		return err
	}
	asJSON, err := wantJSON(c)
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
		return pullThick(c, ref, out, asJSON)
	}
	raw, desc, err := oci.PullBundle(c.Context, ref, opts)
	if err != nil {
		return err
	}
	rep := bundlePullReport{Reference: ref.Name(), Index: desc.Digest, Out: out, Bytes: int64(len(raw))}
	if out == "" {
		if asJSON {
			rep.Bundle = raw
			return writeJSON(c.App.Writer, rep)
		}
		_, err := c.App.Writer.Write(raw)
		return err
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return fault.Inputf("--out %s: %w", out, err)
	}
	if err := atomicfile.WriteFile(out, raw, 0o644); err != nil {
		return fault.Inputf("--out %s: %w", out, err)
	}
	return writePullReport(c, rep, asJSON)
}

// pullThick writes REF's thick archive to out.
func pullThick(c *cli.Context, ref name.Reference, out string, asJSON bool) error {
	if err := writeStreamed(out, func(f *os.File) error { return oci.PullThick(c.Context, ref, f, registryOptions(c)) }); err != nil {
		return err
	}
	rep := bundlePullReport{Reference: ref.Name(), Thick: true, Out: out}
	if fi, err := os.Stat(out); err == nil {
		rep.Bytes = fi.Size()
	}
	return writePullReport(c, rep, asJSON)
}

// writePullReport prints nothing in text (the file is the output) and the
// report with -o json.
func writePullReport(c *cli.Context, rep bundlePullReport, asJSON bool) error {
	if !asJSON {
		return nil
	}
	return writeJSON(c.App.Writer, rep)
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
