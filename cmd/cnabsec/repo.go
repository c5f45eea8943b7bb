package main

import (
	"sort"

	"github.com/urfave/cli/v2"
)

// repoParent is `cnabsec repo`. It is a package-level variable so that it
// exists before any init function runs.
var repoParent = &cli.Command{
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
}

// repoSubcommands lists the subcommands of `cnabsec repo`. Add one from an
// init function with addRepoSubcommand (appending to the slice directly is
// not seen once repo.go's init has run; TestRepoSubcommandsAreWired catches
// that).
var repoSubcommands []*cli.Command

// addRepoSubcommand adds c to `cnabsec repo`; call it from init().
func addRepoSubcommand(c *cli.Command) {
	repoSubcommands = append(repoSubcommands, c)
	sort.Slice(repoSubcommands, func(i, j int) bool { return repoSubcommands[i].Name < repoSubcommands[j].Name })
	repoParent.Subcommands = repoSubcommands
}

func init() { register(repoParent) }
