package main

import (
	"github.com/urfave/cli/v2"

	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/internal/names"
	"github.com/cnabsec/cnabsec/metadata"
)

func repoDelegateCommand() *cli.Command {
	return &cli.Command{
		Name:      "delegate",
		Usage:     "let the releases role (CI) sign versions of a bundle or image repository",
		UsageText: "cnabsec repo delegate DIR --name REG/REPO [--name ...] --key TARGETS_KEY [--snapshot-key K --timestamp-key K]",
		Description: `Adds the paths NAME:*, NAME@* and NAME/in-toto-metadata/*/*.link to the
delegation from targets to releases, so the releases key can sign tags, digests
and in-toto links of NAME. Names are normalized as references are (nginx
becomes index.docker.io/library/nginx). A name may end in a glob segment
(example.com/org/*). A name with a path segment in-toto-metadata or
in-toto-pubkeys is refused: those segments hold in-toto files, and such a
name's versions would fall under another name's link pattern.
Only the targets keys can do this.

Example:
   cnabsec repo delegate repo --name example.com/org/app --key targets.key \
       --snapshot-key online.key --timestamp-key online.key`,
		Flags: repoChangeFlags(
			&cli.StringSliceFlag{Name: "name", Usage: "`REG/REPO` to delegate (repeatable)"},
			&cli.StringSliceFlag{Name: "key", Usage: "targets private key `FILE` (repeatable)"},
		),
		Action: repoChangeAction(func(rc *repoCmd) (string, *metadata.Result, error) {
			if len(rc.c.StringSlice("name")) == 0 {
				return "", nil, fault.Inputf("--name: required")
			}
			// Targets are named by normalized references (docs/cli.md, "Names").
			var repos []string
			for _, n := range rc.c.StringSlice("name") {
				r, err := names.ParseRepository(n)
				if err != nil {
					return "", nil, fault.Inputf("--name: %w", err)
				}
				repos = append(repos, r)
			}
			signers, snap, ts, err := rc.changeKeys("key")
			if err != nil {
				return "", nil, err
			}
			res, err := rc.repo.Update(rc.c.Context, metadata.UpdateOptions{Signers: signers, Snapshot: snap, Timestamp: ts}, func(tx *metadata.Tx) error {
				return tx.Delegate(repos...)
			})
			return "delegated to releases", res, err
		}),
	}
}
