package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/cnabsec/cnabsec/internal/fault"
)

func repoStatusCommand() *cli.Command {
	return &cli.Command{
		Name:      "status",
		Usage:     "show each role's version, expiry, threshold, keys and signatures",
		UsageText: "cnabsec repo status DIR [-o text|json] [--warn-expiry DURATION]",
		Description: `Shows every published role and every staged one: version, expiry, threshold,
key IDs with their signatures present or missing (thresholds count unique
keys), and the number of targets of targets-like roles.

Exit 0; with --warn-expiry, exit 1 when a published role expires within that
duration (for monitoring).

Example:
   cnabsec repo status repo
   cnabsec repo status repo -o json --warn-expiry 12h`,
		Flags: []cli.Flag{
			outputFlag(),
			&cli.DurationFlag{Name: "warn-expiry", Usage: "exit 1 when a role expires within `DURATION`"},
		},
		Action: repoAction(func(rc *repoCmd) error {
			c := rc.c
			if c.IsSet("warn-expiry") && c.Duration("warn-expiry") <= 0 {
				return fault.Inputf("--warn-expiry %s: want a positive duration like 12h", c.Duration("warn-expiry"))
			}
			st, err := rc.repo.Status(c.Context)
			if err != nil {
				return err
			}
			if rc.asJSON {
				if err := writeJSON(c.App.Writer, st); err != nil {
					return err
				}
			} else {
				w := c.App.Writer
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
					for _, id := range rs.Signed {
						fmt.Fprintf(w, "    key %s signed\n", id)
					}
					for _, id := range rs.Missing {
						fmt.Fprintf(w, "    key %s missing\n", id)
					}
				}
			}
			if c.IsSet("warn-expiry") {
				d := c.Duration("warn-expiry")
				if exp := st.Expiring(d, time.Now()); len(exp) > 0 {
					var parts []string
					for _, rs := range exp {
						parts = append(parts, fmt.Sprintf("%s expires %s", rs.Role, formatTime(rs.Expires)))
					}
					return fault.WithHint(fault.Deniedf("within %s: %s", d, strings.Join(parts, ", ")),
						"renew with `cnabsec repo refresh DIR --snapshot-key K --timestamp-key K` (and --role ROLE --key K for other roles)")
				}
			}
			return nil
		}),
	}
}
