package main

import (
	"github.com/urfave/cli/v2"

	"github.com/cnabsec/cnabsec/metadata"
)

func init() {
	addRepoSubcommand(&cli.Command{
		Name:      "refresh",
		Usage:     "renew expiry dates (snapshot and timestamp, and any role whose keys are given)",
		UsageText: "cnabsec repo refresh DIR [--role ROLE --key K]... --snapshot-key K --timestamp-key K",
		Description: `Re-signs snapshot and timestamp with a new version and expiry, and also each
--role given (root, targets, releases) with its --key. It also publishes
changes that were staged and are fully signed. Run it from cron well before
the timestamp expires (see 'repo status --warn-expiry').

Example:
   cnabsec repo refresh repo --snapshot-key online.key --timestamp-key online.key
   cnabsec repo refresh repo --role releases --key ci.key --snapshot-key online.key --timestamp-key online.key`,
		Flags: append([]cli.Flag{
			&cli.StringSliceFlag{Name: "role", Usage: "`ROLE` to renew besides snapshot and timestamp (repeatable)"},
			&cli.StringSliceFlag{Name: "key", Usage: "private key `FILE` of a --role (repeatable)"},
			outputFlag(),
		}, onlineKeyFlags()...),
		Action: func(c *cli.Context) error {
			repo, err := openRepo(c)
			if err != nil {
				return err
			}
			if _, err := wantJSON(c); err != nil {
				return err
			}
			opts := metadata.RefreshOptions{Roles: c.StringSlice("role")}
			if opts.Signers, err = loadSigners(c, "key"); err != nil {
				return err
			}
			if opts.Snapshot, opts.Timestamp, err = onlineSigners(c); err != nil {
				return err
			}
			res, err := repo.Refresh(c.Context, opts)
			if err != nil {
				return err
			}
			return renderResult(c, "refreshed", res)
		},
	})
}
