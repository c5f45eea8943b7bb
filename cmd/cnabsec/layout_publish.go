package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/cnabsec/cnabsec/internal/capped"
	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/keys"
	"github.com/cnabsec/cnabsec/signer"
)

func layoutPublishCommand() *cli.Command {
	return &cli.Command{
		Name:  "publish",
		Usage: "sign a root layout and its keys into the top-level targets role (CNAB-Sec 301)",
		UsageText: `cnabsec layout publish root.layout --repo DIR --name REG/REPO --layout-key PUB [--layout-key PUB]...
    --key TARGETS_KEY [--layout-name TARGET] [--keep-previous-for PATTERN]... [--covers PATTERN]...
    [--snapshot-key K --timestamp-key K]

The layout becomes target NAME/in-toto-metadata/root.layout (or --layout-name), listing
NAME/in-toto-pubkeys/<keyid>.pub for each layout key; the releases role is allowed to sign
versions of NAME. Only the offline targets keys can do this: layouts never come from CI.

Which layout governs which versions is decided here, offline, never by CI: the new layout
becomes NAME's current layout and the previous one is retired, unless --keep-previous-for
keeps it for the versions a PATTERN matches (NAME:TAG-GLOB or NAME@sha256:HEX). --covers
publishes a layout for some versions only, leaving the current layout in place. A version
naming any other layout is denied.

Examples:
  cnabsec layout publish root.layout --repo repo --name example.com/org/app \
      --layout-key keys/owner.pub --key keys/targets.key \
      --snapshot-key keys/snapshot.key --timestamp-key keys/timestamp.key
  # a stricter layout from 2.0 on; 1.x releases keep verifying against the old one
  cnabsec layout publish v2.layout --layout-name example.com/org/app/in-toto-metadata/v2.layout \
      --keep-previous-for 'example.com/org/app:1.*' --repo repo --name example.com/org/app \
      --layout-key keys/owner.pub --key keys/targets.key \
      --snapshot-key keys/snapshot.key --timestamp-key keys/timestamp.key`,
		Flags: append(signingFlags(),
			&cli.StringFlag{Name: "name", Usage: "the `REG/REPO` the layout governs", Required: true},
			&cli.StringSliceFlag{Name: "layout-key", Usage: "public key `FILE` of a layout owner (repeatable)", Required: true},
			&cli.StringFlag{Name: "layout-name", Usage: "layout `TARGET` name (default NAME/in-toto-metadata/root.layout)"},
			&cli.StringSliceFlag{Name: "keep-previous-for", Usage: "keep the previous layout for the versions `PATTERN` matches (NAME:TAG-GLOB; repeatable) instead of retiring it"},
			&cli.StringSliceFlag{Name: "covers", Usage: "publish this layout only for the versions `PATTERN` matches (repeatable); the current layout stays"},
		),
		Action: func(c *cli.Context) error {
			file, err := onePositional(c, "root.layout")
			if err != nil {
				return err
			}
			asJSON, err := wantJSON(c)
			if err != nil {
				return err
			}
			layout, err := capped.ReadFile(file, 64<<20)
			if err != nil {
				return err
			}
			var lkeys []*keys.PublicKey
			for _, p := range c.StringSlice("layout-key") {
				k, err := keys.LoadPublic(p)
				if err != nil {
					return fault.Inputf("--layout-key: %w", err)
				}
				lkeys = append(lkeys, k)
			}
			repo, opts, err := signingSetup(c)
			if err != nil {
				return err
			}
			target, res, err := signer.PublishLayout(c.Context, repo, opts, signer.LayoutRelease{
				Layout: layout, Name: c.String("name"), Keys: lkeys, Target: c.String("layout-name"),
				Covers: c.StringSlice("covers"), KeepPreviousFor: c.StringSlice("keep-previous-for"),
			})
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(c.App.Writer, map[string]any{"layout": target, "result": res})
			}
			fmt.Fprintf(c.App.Writer, "layout %s with %d key(s) signed by the targets role\n", target, len(lkeys))
			printPublication(c, res)
			return nil
		},
	}
}
