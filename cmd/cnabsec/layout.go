package main

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/in-toto/in-toto-golang/in_toto"
	"github.com/urfave/cli/v2"

	"github.com/cnabsec/cnabsec/internal/atomicfile"
	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/keys"
	"github.com/cnabsec/cnabsec/layouts"
)

// layoutCommand is `cnabsec layout`; its subcommands are listed here, in the order
// help shows them.
func layoutCommand() *cli.Command {
	return &cli.Command{
		Name:  "layout",
		Usage: "author in-toto root layouts (the supply chain a release must follow)",
		Description: `An in-toto root layout lists the steps of the supply chain, who may perform
each (functionary keys) and which files each step may consume and produce. It
is signed by its owners, whose keys verifiers get from the TUF targets role.

Example:
   cnabsec layout create layout.yaml --key keys/owner.key --out root.layout`,
		Subcommands: []*cli.Command{
			layoutCreateCommand(),
			layoutPublishCommand(),
			layoutGraphCommand(),
		},
	}
}

// layoutCreateReport is the -o json output of `layout create`.
type layoutCreateReport struct {
	Out      string   `json:"out"`
	Steps    []string `json:"steps"`
	Inspect  []string `json:"inspect"`
	Expires  string   `json:"expires"`
	SignedBy []string `json:"signedBy"`
	// Warnings say when one party's keys can satisfy the layout alone.
	Warnings []layouts.PartyWarning `json:"warnings,omitempty"`
}

func layoutCreateCommand() *cli.Command {
	return &cli.Command{
		Name:      "create",
		Usage:     "author and sign an in-toto root layout from a YAML or JSON template",
		UsageText: "cnabsec layout create TEMPLATE --key OWNER_KEY [--key OWNER_KEY2]... [--expires DURATION|RFC3339] --out root.layout [-o text|json]",
		Description: `The template uses in-toto's own layout field names, except that functionaries
are named by key file (PEM or securesystemslib JSON, relative to the template's
directory) instead of the "keys" object; their key IDs go into the layout.
Omitted fields take in-toto's defaults: threshold 1, empty command and rule
lists, no inspections; expires defaults to one year (8760h). Unknown fields are
refused (a misspelt rule list must not leave a step unconstrained), and so is a
layout without steps. Every --key signs the layout; verifiers need each
owner's public key.

Template:
   expires: 8760h
   readme: the developer writes bundle.json; CI packages exactly those bytes
   steps:
     - name: write-bundle
       functionaries: [keys/dev.pub]
       expected_products: [[CREATE, bundle.json], [DISALLOW, "*"]]
     - name: package
       functionaries: [keys/ci.pub]
       expected_materials: [[MATCH, bundle.json, WITH, PRODUCTS, FROM, write-bundle], [DISALLOW, "*"]]
       expected_products: [[MATCH, bundle.json, WITH, PRODUCTS, FROM, write-bundle], [DISALLOW, "*"]]

Bind each step to the one before it (MATCH ... WITH PRODUCTS FROM) and end
each rule list with DISALLOW "*": the artifact must then be the bytes the
developer's step produced, and a CI key holder who replays an old developer
link next to a fresh CI link cannot vouch for new content. A layout one party's
keys can satisfy alone is warned about on stderr (with --ci-key-id, also a
step the CI keys can perform alone whose products may hold new bytes).

Example:
   cnabsec layout create layout.yaml --key keys/owner.key --out root.layout`,
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "key", Usage: "owner private key `FILE` that signs the layout (repeatable)"},
			&cli.StringFlag{Name: "expires", Usage: "override the template's expiry: a `DURATION` from now (8760h) or an RFC 3339 time"},
			&cli.StringFlag{Name: "out", Usage: "write the signed layout to `PATH`"},
			&cli.StringSliceFlag{Name: "ci-key-id", Usage: "key `ID` of the CI (releases) role, to warn when a step it can perform alone may hold new bytes (repeatable; cnabsec key id keys/ci.pub)"},
			outputFlag(),
		},
		Action: runLayoutCreate,
	}
}

// runLayoutCreate signs the layout a template describes, writes it and
// reports its steps, inspections, expiry and signers.
func runLayoutCreate(c *cli.Context) error {
	tplPath, err := onePositional(c, "TEMPLATE")
	if err != nil {
		return err
	}
	asJSON, err := wantJSON(c)
	if err != nil {
		return err
	}
	out := c.String("out")
	if out == "" {
		return fault.Inputf("layout create: --out PATH is required (where to write the signed layout)")
	}
	if len(c.StringSlice("key")) == 0 {
		return fault.Inputf("layout create: at least one --key OWNER_KEY is required")
	}
	mb, err := createLayout(c, tplPath)
	if err != nil {
		return err
	}
	if err := writeLayout(out, mb); err != nil {
		return err
	}
	rep := layoutCreateReportOf(mb, out, c.StringSlice("ci-key-id"))
	for _, w := range rep.Warnings {
		fmt.Fprintf(c.App.ErrWriter, "cnabsec: warning: %s\n", w.String())
	}
	if asJSON {
		return writeJSON(c.App.Writer, rep)
	}
	fmt.Fprintf(c.App.Writer, "wrote %s: %d step(s) %v, %d inspection(s), expires %s\n", out, len(rep.Steps), rep.Steps, len(rep.Inspect), rep.Expires)
	for _, id := range rep.SignedBy {
		fmt.Fprintf(c.App.Writer, "signed by %s\n", id)
	}
	return nil
}

// createLayout builds the layout of the template at tplPath and signs it
// with every --key.
func createLayout(c *cli.Context, tplPath string) (*in_toto.Metablock, error) {
	owners, err := intotoSigners(c, c.StringSlice("key"))
	if err != nil {
		return nil, err
	}
	tpl, err := intotoReadFile(tplPath, "layout template")
	if err != nil {
		return nil, err
	}
	mb, err := layouts.CreateLayout(c.Context, tpl, layouts.CreateOptions{
		Owners:  owners,
		BaseDir: filepath.Dir(tplPath),
		Now:     time.Now().UTC().Truncate(time.Second),
		Expires: c.String("expires"),
	})
	if err != nil {
		return nil, fault.Inputf("%s: %w", tplPath, err)
	}
	return mb, nil
}

// writeLayout writes the signed layout to out atomically, creating its
// directory if need be.
func writeLayout(out string, mb *in_toto.Metablock) error {
	b, err := layouts.Marshal(mb)
	if err != nil {
		return err
	}
	if dir := filepath.Dir(out); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fault.Inputf("layout create: %w", err)
		}
	}
	if err := atomicfile.WriteFile(out, b, 0o644); err != nil {
		return fault.Inputf("layout create: writing %s: %w", out, err)
	}
	return nil
}

// layoutCreateReportOf describes the layout written to out, with the
// warnings about parties (ciKeyIDs: the CI role's keys) that can satisfy it
// alone.
func layoutCreateReportOf(mb *in_toto.Metablock, out string, ciKeyIDs []string) layoutCreateReport {
	l := mb.Signed.(in_toto.Layout)
	rep := layoutCreateReport{Out: out, Expires: l.Expires, Steps: []string{}, Inspect: []string{}}
	for _, s := range l.Steps {
		rep.Steps = append(rep.Steps, s.Name)
	}
	for _, in := range l.Inspect {
		rep.Inspect = append(rep.Inspect, in.Name)
	}
	for _, s := range mb.Signatures {
		rep.SignedBy = append(rep.SignedBy, s.KeyID)
	}
	rep.Warnings = layouts.PartyWarnings(&l, ciKeyIDs)
	return rep
}

// intotoSigners loads private key files (decrypted with --passphrase-env).
func intotoSigners(c *cli.Context, paths []string) ([]keys.Signer, error) {
	var out []keys.Signer
	for _, p := range paths {
		k, err := loadSigner(c, "key", p)
		if err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, nil
}

// intotoReadFile reads a file the user named, capped, as an Input error when it fails.
func intotoReadFile(path, what string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fault.Inputf("%s: %w", what, err)
	}
	if st.IsDir() {
		return nil, fault.Inputf("%s %s: is a directory", what, path)
	}
	if st.Size() > layouts.MaxMetadataSize {
		return nil, fault.Inputf("%s %s: %d bytes is too large", what, path, st.Size())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fault.Inputf("%s: %w", what, err)
	}
	return b, nil
}
