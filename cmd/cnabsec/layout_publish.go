package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/cnabsec/cnabsec/internal/capped"
	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/keys"
	"github.com/cnabsec/cnabsec/signer"
)

func init() {
	addLayoutSubcommand(&cli.Command{
		Name:  "publish",
		Usage: "sign a root layout and its keys into the top-level targets role (CNAB-Sec 301)",
		UsageText: `cnabsec layout publish root.layout --repo DIR --name REG/REPO --layout-key PUB [--layout-key PUB]...
    --key TARGETS_KEY [--layout-name TARGET] [--snapshot-key K --timestamp-key K]

The layout becomes target NAME/in-toto-metadata/root.layout (or --layout-name), listing
NAME/in-toto-pubkeys/<keyid>.pub for each layout key; the releases role is allowed to sign
versions of NAME. Only the offline targets keys can do this: layouts never come from CI.

Example:
  cnabsec layout publish root.layout --repo repo --name example.com/org/app \
      --layout-key keys/owner.pub --key keys/targets.key \
      --snapshot-key keys/snapshot.key --timestamp-key keys/timestamp.key`,
		Flags: append(signingFlags(),
			&cli.StringFlag{Name: "name", Usage: "the `REG/REPO` the layout governs", Required: true},
			&cli.StringSliceFlag{Name: "layout-key", Usage: "public key `FILE` of a layout owner (repeatable)", Required: true},
			&cli.StringFlag{Name: "layout-name", Usage: "layout `TARGET` name (keeps older layouts for the versions that name them)"},
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
	})
}
