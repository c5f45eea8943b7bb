package main

import (
	"github.com/urfave/cli/v2"

	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/metadata"
)

func repoSignCommand() *cli.Command {
	return &cli.Command{
		Name:      "sign",
		Usage:     "add one signature to staged metadata",
		UsageText: "cnabsec repo sign DIR --role ROLE --key K [--snapshot-key K --timestamp-key K]",
		Description: `Adds the signature of K to ROLE's metadata waiting in DIR/staged. Once every
staged role meets its threshold (unique keys) and snapshot and timestamp are
signed, everything staged is published. A new root needs a threshold of the
previous root keys and of its own. 'repo status' shows what is missing.

Example:
   cnabsec repo sign repo --role root --key root2.key
   cnabsec repo sign repo --role targets --key targets2.key --snapshot-key online.key --timestamp-key online.key`,
		Flags: repoChangeFlags(
			&cli.StringFlag{Name: "role", Usage: "`ROLE` whose staged metadata to sign (root, targets, releases, snapshot, timestamp)"},
			&cli.StringFlag{Name: "key", Usage: "private key `FILE` of ROLE"},
		),
		Action: repoChangeAction(func(rc *repoCmd) (string, *metadata.Result, error) {
			c := rc.c
			role := c.String("role")
			if role == "" || c.String("key") == "" {
				return "", nil, fault.Inputf("--role and --key are required")
			}
			key, err := loadRepoSigner(c, "key", c.String("key"))
			if err != nil {
				return "", nil, err
			}
			snap, ts, err := onlineSigners(c)
			if err != nil {
				return "", nil, err
			}
			res, err := rc.repo.Sign(c.Context, metadata.SignOptions{Role: role, Key: key, Snapshot: snap, Timestamp: ts})
			return "signed " + role, res, err
		}),
	}
}
