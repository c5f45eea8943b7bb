package main

import (
	"encoding/hex"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/keys"
	"github.com/cnabsec/cnabsec/metadata"
)

func repoRotateCommand() *cli.Command {
	return &cli.Command{
		Name:      "rotate",
		Usage:     "change a role's keys or threshold",
		UsageText: "cnabsec repo rotate DIR --role ROLE [--add-key PUB]... [--remove-key PUB|KEYID]... [--threshold N] --key K... [--snapshot-key K --timestamp-key K]",
		Description: `Changes the keys of ROLE. K are keys of the delegating role: root keys for
root, targets, snapshot and timestamp; targets keys for releases. A new root
version is published only once signed by a threshold of the old root keys AND
of the new ones (add the missing ones with 'repo sign --role root'). A role
whose keys changed is re-signed in the same publication: pass its new key as
another --key (or as --snapshot-key/--timestamp-key), or sign it later.

Example:
   cnabsec repo rotate repo --role releases --add-key ci2.pub --remove-key ci1.pub \
       --key targets.key --key ci2.key --snapshot-key online.key --timestamp-key online.key
   cnabsec repo rotate repo --role root --add-key root2.pub --remove-key root1.pub \
       --key root1.key --key root2.key --snapshot-key online.key --timestamp-key online.key`,
		Flags: repoChangeFlags(
			&cli.StringFlag{Name: "role", Usage: "`ROLE` to change"},
			&cli.StringSliceFlag{Name: "add-key", Usage: "public key `FILE` to add (repeatable)"},
			&cli.StringSliceFlag{Name: "remove-key", Usage: "public key `FILE` or key ID to remove (repeatable)"},
			&cli.IntFlag{Name: "threshold", Usage: "new threshold (unique keys)"},
			&cli.StringSliceFlag{Name: "key", Usage: "private key `FILE` of the delegating role (repeatable)"},
		),
		Action: repoChangeAction(func(rc *repoCmd) (string, *metadata.Result, error) {
			c := rc.c
			if c.String("role") == "" {
				return "", nil, fault.Inputf("--role: required")
			}
			if err := checkThresholdFlag(c, "threshold"); err != nil {
				return "", nil, err
			}
			opts := metadata.RotateOptions{Role: c.String("role"), Threshold: c.Int("threshold")}
			for _, p := range c.StringSlice("add-key") {
				pk, err := keys.LoadPublic(p)
				if err != nil {
					return "", nil, fault.Inputf("--add-key: %w", err)
				}
				opts.Add = append(opts.Add, pk)
			}
			for _, p := range c.StringSlice("remove-key") {
				id, err := keyIDArg(p)
				if err != nil {
					return "", nil, err
				}
				opts.Remove = append(opts.Remove, id)
			}
			// Checked before any key is read: with no --key nothing could
			// fail to load first.
			if len(c.StringSlice("key")) == 0 {
				return "", nil, fault.Inputf("--key: required (keys of the role that delegates to %s)", opts.Role)
			}
			var err error
			if opts.Signers, opts.Snapshot, opts.Timestamp, err = rc.changeKeys("key"); err != nil {
				return "", nil, err
			}
			res, err := rc.repo.Rotate(c.Context, opts)
			return "rotated keys of " + opts.Role, res, err
		}),
	}
}

// keyIDArg accepts a key file or a 64-hex key ID.
func keyIDArg(arg string) (string, error) {
	if _, err := os.Stat(arg); err == nil {
		pk, err := keys.LoadPublic(arg)
		if err != nil {
			return "", fault.Inputf("--remove-key: %w", err)
		}
		return pk.ID(), nil
	}
	if b, err := hex.DecodeString(arg); err == nil && len(b) == 32 {
		return arg, nil
	}
	return "", fault.Inputf("--remove-key %q: neither a key file nor a 64-hex key ID", arg)
}
