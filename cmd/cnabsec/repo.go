package main

import (
	"github.com/urfave/cli/v2"
)

// repoCommand is `cnabsec repo`; its subcommands are listed here, in the order
// help shows them.
func repoCommand() *cli.Command {
	return &cli.Command{
		Name:  "repo",
		Usage: "keep a TUF metadata repository (publisher side)",
		Description: `A repository is a directory: DIR/metadata and DIR/targets are served to
clients (never keys); DIR/staged holds metadata waiting for more signatures.
Every command that changes it accepts --snapshot-key and --timestamp-key: with
them the change is published, without them it is staged.

Example:
   cnabsec repo init repo --root-key root.key --targets-key targets.key \
       --snapshot-key online.key --timestamp-key online.key --releases-key ci.key
   cnabsec repo delegate repo --name example.com/org/app --key targets.key \
       --snapshot-key online.key --timestamp-key online.key
   cnabsec repo status repo`,
		Subcommands: []*cli.Command{
			repoDelegateCommand(),
			repoInitCommand(),
			repoListCommand(),
			repoPushCommand(),
			repoRefreshCommand(),
			repoRotateCommand(),
			repoServeCommand(),
			repoSignCommand(),
			repoStatusCommand(),
		},
	}
}
