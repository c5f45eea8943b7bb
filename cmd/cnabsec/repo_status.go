package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/keys"
	"github.com/cnabsec/cnabsec/metadata"
)

func repoStatusCommand() *cli.Command {
	return &cli.Command{
		Name:      "status",
		Usage:     "show each role's version, expiry, threshold, keys and signatures",
		UsageText: "cnabsec repo status DIR [-o text|json] [--warn-expiry DURATION] [--key REF ...]",
		Description: `Shows every published role and every staged one: version, expiry, threshold,
key IDs with their type and scheme and their signatures present or missing
(thresholds count unique keys), and the number of targets of targets-like
roles. Then the delegation tree: targets, the roles it delegates to
(releases) and theirs (hash bins, 4 or more on one line with their count and
earliest expiry), each with version, threshold and expiry (-o json:
delegations).

The metadata holds public keys only; with --key REF (repeatable: a key file,
public or private, a pkcs11: URI or plugin:NAME?...), each listed key with
that key ID is shown with where it lives (the reference, PINs and secrets
redacted). A --key no role lists is reported on stderr.

Exit 0; with --warn-expiry, exit 1 when a published role expires within that
duration (for monitoring).

Example:
   cnabsec repo status repo
   cnabsec repo status repo --key 'pkcs11:token=ceremony;object=root?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:pin' --key keys/ci.pub
   cnabsec repo status repo -o json --warn-expiry 12h`,
		Flags: []cli.Flag{
			outputFlag(),
			&cli.DurationFlag{Name: "warn-expiry", Usage: "exit 1 when a role expires within `DURATION`"},
			&cli.StringSliceFlag{Name: "key", Usage: "a key `REF` whose role(s) to show with where it lives (repeatable)"},
		},
		Action: repoAction(func(rc *repoCmd) error {
			c := rc.c
			if c.IsSet("warn-expiry") && c.Duration("warn-expiry") <= 0 {
				return fault.Inputf("--warn-expiry %s: want a positive duration like 12h", c.Duration("warn-expiry"))
			}
			held, err := heldKeys(c)
			if err != nil {
				return err
			}
			st, err := rc.repo.Status(c.Context)
			if err != nil {
				return err
			}
			placeKeys(c, st, held)
			if rc.asJSON {
				if err := writeJSON(c.App.Writer, repoStatusJSON{Status: st, Delegations: delegationTree(st)}); err != nil {
					return err
				}
			} else {
				printStatus(c.App.Writer, st)
				printDelegationTree(c.App.Writer, delegationTree(st))
			}
			return warnExpiry(c, st)
		}),
	}
}

// heldKey is a key given to repo status --key: its ID and reference.
type heldKey struct {
	id  string
	ref *keys.Ref
}

// heldKeys opens the public key of each --key reference.
func heldKeys(c *cli.Context) ([]heldKey, error) {
	var out []heldKey
	for _, s := range c.StringSlice("key") {
		ref, err := parseKeyRef("key", s)
		if err != nil {
			return nil, err
		}
		pub, err := refPublicKey(c, ref)
		if err != nil {
			return nil, err
		}
		out = append(out, heldKey{id: pub.ID(), ref: ref})
	}
	return out, nil
}

// placeKeys fills in where each listed key lives, for the keys given with
// --key, and reports on stderr a --key that no role lists.
func placeKeys(c *cli.Context, st *metadata.Status, held []heldKey) {
	used := make([]bool, len(held))
	for i := range st.Roles {
		for j := range st.Roles[i].Keys {
			k := &st.Roles[i].Keys[j]
			for h, hk := range held {
				if hk.id == k.KeyID {
					k.Location, k.Where, used[h] = hk.ref.Location, hk.ref.String(), true
				}
			}
		}
	}
	for h, hk := range held {
		if !used[h] {
			fmt.Fprintf(c.App.ErrWriter, "cnabsec: warning: --key %s: key %s is not a key of any role shown\n", hk.ref, hk.id)
		}
	}
}

func printStatus(w io.Writer, st *metadata.Status) {
	for _, rs := range st.Roles {
		state := "published"
		if rs.Staged {
			state = "staged"
		}
		fmt.Fprintf(w, "%-10s %-9s version %-4d expires %s  threshold %d, signed by %d unique key(s)", rs.Role, state, rs.Version, formatTime(rs.Expires), rs.Threshold, rs.ValidKeys)
		if rs.Targets != nil {
			fmt.Fprintf(w, "  targets %d", *rs.Targets)
		}
		if !rs.ThresholdMet() {
			fmt.Fprint(w, "  BELOW THRESHOLD")
		}
		fmt.Fprintln(w)
		printStatusKeys(w, rs)
	}
}

// printStatusKeys lists a role's keys, signed ones first: ID, whether its
// signature is there, type and scheme, and where it lives when known.
func printStatusKeys(w io.Writer, rs metadata.RoleStatus) {
	info := map[string]metadata.KeyInfo{}
	for _, k := range rs.Keys {
		info[k.KeyID] = k
	}
	line := func(id, state string) {
		k := info[id]
		fmt.Fprintf(w, "    key %s %-7s %s", id, state, keyKind(k))
		if k.Where != "" {
			fmt.Fprintf(w, "  %s %s", k.Location, k.Where)
		}
		fmt.Fprintln(w)
	}
	for _, id := range rs.Signed {
		line(id, "signed")
	}
	for _, id := range rs.Missing {
		line(id, "missing")
	}
}

// keyKind is "TYPE/SCHEME", or just the type when the scheme is named after
// it (ed25519).
func keyKind(k metadata.KeyInfo) string {
	switch {
	case k.KeyType == "":
		return "(no such key defined)"
	case k.Scheme == k.KeyType || k.Scheme == "":
		return k.KeyType
	}
	return k.KeyType + "/" + k.Scheme
}

// warnExpiry is --warn-expiry: denied when a published role expires within
// the duration.
func warnExpiry(c *cli.Context, st *metadata.Status) error {
	if !c.IsSet("warn-expiry") {
		return nil
	}
	d := c.Duration("warn-expiry")
	exp := st.Expiring(d, time.Now())
	if len(exp) == 0 {
		return nil
	}
	var parts []string
	for _, rs := range exp {
		parts = append(parts, fmt.Sprintf("%s expires %s", rs.Role, formatTime(rs.Expires)))
	}
	return fault.WithHint(fault.Deniedf("within %s: %s", d, strings.Join(parts, ", ")),
		"renew with `cnabsec repo refresh DIR --snapshot-key K --timestamp-key K` (and --role ROLE --key K for other roles)")
}
