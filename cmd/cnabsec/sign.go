package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"
	"go.yaml.in/yaml/v3"

	"github.com/cnabsec/cnabsec/internal/decodeerr"
	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/metadata"
	"github.com/cnabsec/cnabsec/signer"
)

func signCommand() *cli.Command {
	return &cli.Command{
		Name:  "sign",
		Usage: "sign bundle and image versions into a metadata repository (release pipelines)",
		Subcommands: []*cli.Command{
			signBundleCommand(),
			signImageCommand(),
			signBatchCommand(),
		},
	}
}

// signingFlags are the flags every signing command shares: a signing
// command changes the repository --repo names, so it takes the flags of a
// repository change.
func signingFlags() []cli.Flag {
	return repoChangeFlags(
		&cli.StringFlag{Name: "repo", Usage: "metadata repository `DIR`", Required: true},
		&cli.StringSliceFlag{Name: "key", Usage: "signing key `FILE`: the releases (CI) key for delegated names, else a targets key (repeatable)", Required: true},
	)
}

// signingSetup opens the repository and loads the keys of a signing command.
func signingSetup(c *cli.Context) (*metadata.Repository, signer.Options, error) {
	var opts signer.Options
	repo, err := metadata.Open(c.String("repo"))
	if err != nil {
		return nil, opts, err
	}
	if opts.Keys, opts.Snapshot, opts.Timestamp, err = loadChangeKeys(c, "key"); err != nil {
		return nil, opts, err
	}
	opts.Registry = registryOptions(c)
	return repo, opts, nil
}

// runSigning is the Action of a signing command after its arguments are
// read: it checks -o, opens --repo with the command's keys (signingSetup),
// makes the change and renders its result: as it is with -o json; else the
// lines text writes, then whether the change (the *metadata.Result text
// returns) is published or staged.
func runSigning[R any](c *cli.Context, change func(*metadata.Repository, signer.Options) (R, error), text func(w io.Writer, res R) *metadata.Result) error {
	asJSON, err := wantJSON(c)
	if err != nil {
		return err
	}
	repo, opts, err := signingSetup(c)
	if err != nil {
		return err
	}
	res, err := change(repo, opts)
	if err != nil {
		return err
	}
	if asJSON {
		return writeJSON(c.App.Writer, res)
	}
	printPublication(c, text(c.App.Writer, res))
	return nil
}

func signBundleCommand() *cli.Command {
	return &cli.Command{
		Name:  "bundle",
		Usage: "sign a bundle version (thin bundle.json, or --thick archive) as target REF",
		UsageText: `cnabsec sign bundle FILE --ref REF --repo DIR --key K [--push] [--thick] [--links DIR]
    [--layout-name TARGET] [--snapshot-key K --timestamp-key K]

FILE must be canonical JSON (RFC 8785); 'cnabsec bundle canonicalize' writes that form.
Without --push, FILE is compared with the bundle REF holds in the registry (when it is
reachable and REF exists): verifiers pull those bytes, so a FILE that differs is refused
(exit 2) with the differing members named. Sign what 'cnabsec bundle pull REF' returns.
Without --snapshot-key/--timestamp-key the change is staged in DIR/staged.

Example:
  cnabsec sign bundle bundle.json --ref example.com/org/app:1.0 --repo repo --key keys/ci.key \
      --push --links links/ --snapshot-key keys/snapshot.key --timestamp-key keys/timestamp.key`,
		Flags: append(append(signingFlags(),
			&cli.StringFlag{Name: "ref", Usage: "the version `REF` (REGISTRY/REPO:TAG)", Required: true},
			&cli.BoolFlag{Name: "push", Usage: "also push the thin bundle to REF in the CNAB-in-OCI format"},
			&cli.BoolFlag{Name: "thick", Usage: "FILE is a thick bundle archive"},
			&cli.StringFlag{Name: "links", Usage: "`DIR` of in-toto link files for this version"},
			&cli.StringFlag{Name: "layout-name", Usage: "root layout `TARGET` the links follow (default NAME/in-toto-metadata/root.layout)"},
		), registryCheckFlags()...),
		Action: func(c *cli.Context) error {
			file, err := onePositional(c, "FILE")
			if err != nil {
				return err
			}
			item := signer.Item{Kind: "bundle", Ref: c.String("ref"), File: file, Thick: c.Bool("thick"),
				Push: c.Bool("push"), Links: c.String("links"), Layout: c.String("layout-name")}
			return runComparedSign(c, item)
		},
	}
}

// registryCheckFlags say whether thin bundle files are compared with what
// their REF holds in the registry (sign bundle, sign batch).
func registryCheckFlags() []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: "allow-registry-mismatch", Usage: "sign a bundle FILE even if its REF holds other bytes in the registry (verifiers will refuse it)"},
		&cli.BoolFlag{Name: "no-registry-check", Usage: "do not contact the registry to compare bundle FILEs with what their REF holds"},
	}
}

// runComparedSign signs items, comparing each thin bundle.json signed
// without push with the bundle its REF holds in the registry (unless
// --no-registry-check); a mismatch is refused naming the item's REF.
func runComparedSign(c *cli.Context, items ...signer.Item) error {
	return runSigning(c, func(repo *metadata.Repository, opts signer.Options) (*signer.Result, error) {
		opts.CompareWithRegistry = !c.Bool("no-registry-check")
		opts.AllowRegistryMismatch = c.Bool("allow-registry-mismatch")
		res, err := signer.Sign(c.Context, repo, opts, items...)
		if errors.Is(err, signer.ErrRegistryMismatch) {
			hint := "sign what `cnabsec bundle pull REF` returns for that item's REF, or pass --allow-registry-mismatch"
			if len(items) == 1 {
				hint = fmt.Sprintf("sign what `cnabsec bundle pull %s` returns, or pass --allow-registry-mismatch", items[0].Ref)
			}
			err = fault.WithHint(err, hint)
		}
		return res, err
	}, writeSigned)
}

func signImageCommand() *cli.Command {
	return &cli.Command{
		Name:  "image",
		Usage: "sign an image version: its registry manifest (digest and length) as target REF",
		UsageText: `cnabsec sign image REF --repo DIR --key K [--links DIR] [--layout-name TARGET] [--snapshot-key K --timestamp-key K]

Example:
  cnabsec sign image example.com/org/web:1.0 --repo repo --key keys/ci.key \
      --snapshot-key keys/snapshot.key --timestamp-key keys/timestamp.key`,
		Flags: append(signingFlags(),
			&cli.StringFlag{Name: "links", Usage: "`DIR` of in-toto link files for this image (bound to its manifest)"},
			&cli.StringFlag{Name: "layout-name", Usage: "root layout `TARGET` the links follow"},
		),
		Action: func(c *cli.Context) error {
			ref, err := onePositional(c, "REF")
			if err != nil {
				return err
			}
			return runSign(c, signer.Item{Kind: "image", Ref: ref, Links: c.String("links"), Layout: c.String("layout-name")})
		},
	}
}

func signBatchCommand() *cli.Command {
	return &cli.Command{
		Name:  "batch",
		Usage: "sign many versions in one transaction (one lock, each role re-signed once)",
		UsageText: `cnabsec sign batch FILE --repo DIR --key K [--snapshot-key K --timestamp-key K]

FILE is a JSON or YAML list of {"kind": "bundle"|"image", "ref": REF, "file": PATH,
"thick": BOOL, "links": DIR, "push": BOOL}; relative paths are relative to FILE.
Each thin bundle file signed without push is compared with the bundle its REF holds in
the registry, as sign bundle does: one that differs refuses the whole batch (exit 2).

Example:
  cnabsec sign batch release.yaml --repo repo --key keys/ci.key --snapshot-key keys/snapshot.key --timestamp-key keys/timestamp.key`,
		Flags: append(signingFlags(), registryCheckFlags()...),
		Action: func(c *cli.Context) error {
			file, err := onePositional(c, "FILE")
			if err != nil {
				return err
			}
			items, err := readBatch(file)
			if err != nil {
				return err
			}
			return runComparedSign(c, items...)
		},
	}
}

// readBatch reads a batch file (JSON is YAML too).
func readBatch(file string) ([]signer.Item, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fault.Inputf("batch file: %w", err)
	}
	var items []signer.Item
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&items); err != nil {
		return nil, fault.Inputf("batch file %s: want a list of {kind, ref, file, thick, links, push}: %s", file, decodeerr.Describe(err))
	}
	base := filepath.Dir(file)
	for i := range items {
		for _, p := range []*string{&items[i].File, &items[i].Links} {
			if *p != "" && !filepath.IsAbs(*p) {
				*p = filepath.Join(base, *p)
			}
		}
	}
	return items, nil
}

// runSign signs items (signer.Sign) and renders what was signed.
func runSign(c *cli.Context, items ...signer.Item) error {
	return runSigning(c, func(repo *metadata.Repository, opts signer.Options) (*signer.Result, error) {
		return signer.Sign(c.Context, repo, opts, items...)
	}, writeSigned)
}

// writeSigned writes a line per signed version.
func writeSigned(w io.Writer, res *signer.Result) *metadata.Result {
	for _, s := range res.Signed {
		fmt.Fprintf(w, "signed %s (role %s, %d bytes, sha256:%s", s.Target, s.Role, s.Length, s.SHA256)
		if len(s.Links) > 0 {
			fmt.Fprintf(w, ", %d link files", len(s.Links))
		}
		if s.Pushed != "" {
			fmt.Fprintf(w, ", pushed as %s", s.Pushed)
		}
		fmt.Fprintln(w, ")")
		if s.Registry != "" {
			fmt.Fprintf(w, "  registry copy: %s\n", s.Registry)
		}
	}
	return res.Result
}

// printPublication says whether a change is live or staged, and why.
func printPublication(c *cli.Context, r *metadata.Result) {
	if r == nil {
		return
	}
	if r.Published {
		fmt.Fprintln(c.App.Writer, "published")
		return
	}
	dir := c.String("repo")
	fmt.Fprintf(c.App.Writer, "staged in %s, not yet visible to clients; to publish it:\n", filepath.Join(dir, "staged"))
	for _, p := range r.Waiting {
		fmt.Fprintf(c.App.Writer, "  %s\n", pendingLine(p, dir))
	}
}

func revokeCommand() *cli.Command {
	return &cli.Command{
		Name:  "revoke",
		Usage: "remove a version or image target (yank): verifiers deny it from the next timestamp on",
		UsageText: `cnabsec revoke REF [REF]... --repo DIR --key K [--snapshot-key K --timestamp-key K]

Example:
  cnabsec revoke example.com/org/app:1.0 --repo repo --key keys/ci.key --snapshot-key keys/snapshot.key --timestamp-key keys/timestamp.key`,
		Flags: signingFlags(),
		Action: func(c *cli.Context) error {
			refs, _ := splitPassthrough(c)
			if len(refs) == 0 {
				return fault.Inputf("revoke: want at least one REF")
			}
			return runSigning(c, func(repo *metadata.Repository, opts signer.Options) (*metadata.Result, error) {
				return signer.Revoke(c.Context, repo, opts, refs...)
			}, func(w io.Writer, res *metadata.Result) *metadata.Result {
				for _, r := range refs {
					fmt.Fprintf(w, "revoked %s\n", r)
				}
				return res
			})
		},
	}
}
