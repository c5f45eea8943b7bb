package main

import (
	"github.com/urfave/cli/v2"

	"github.com/cnabsec/cnabsec/metadata"
)

func repoRefreshCommand() *cli.Command {
	return &cli.Command{
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
		Flags: repoChangeFlags(
			&cli.StringSliceFlag{Name: "role", Usage: "`ROLE` to renew besides snapshot and timestamp (repeatable)"},
			&cli.StringSliceFlag{Name: "key", Usage: "private key `FILE` of a --role (repeatable)"},
		),
		Action: repoChangeAction(func(rc *repoCmd) (string, *metadata.Result, error) {
			opts := metadata.RefreshOptions{Roles: rc.c.StringSlice("role")}
			var err error
			if opts.Signers, opts.Snapshot, opts.Timestamp, err = rc.changeKeys("key"); err != nil {
				return "", nil, err
			}
			res, err := rc.repo.Refresh(rc.c.Context, opts)
			return "refreshed", res, err
		}),
	}
}
