package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/metadata"
)

func init() {
	addRepoSubcommand(&cli.Command{
		Name:      "init",
		Usage:     "create a metadata repository",
		UsageText: "cnabsec repo init DIR --root-key K [--root-key K]... [--root-threshold N] --targets-key K [...] [--targets-threshold N] --snapshot-key K --timestamp-key K [--releases-key K [...] [--releases-threshold N]] [--expires ROLE=DURATION]...",
		Description: `Creates DIR/metadata, DIR/targets and DIR/staged with version 1 of root,
targets, snapshot, timestamp and (with --releases-key) the releases role, which
targets delegates to (terminating) for CI to sign versions. With --bins N,
releases delegates every target to N hash-bin roles (releases-bin-0 ...),
signed by the releases keys, so that each release rewrites one small bin.

A --*-key takes a private key file, or a public key file when that role's
signature is added later with 'repo sign' (the metadata then waits in
DIR/staged until every threshold is met). Thresholds count unique keys and
must be between 1 and the number of keys. Expiry defaults: root 8760h,
targets 8760h, releases 168h, snapshot and timestamp 24h.

Clients pin DIR/metadata/1.root.json.

Example:
   cnabsec repo init repo --root-key root1.key --root-key root2.pub --root-threshold 2 \
       --targets-key targets.key --snapshot-key online.key --timestamp-key online.key \
       --releases-key ci.key --expires releases=720h`,
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "root-key", Usage: "root key `FILE` (repeatable)"},
			&cli.IntFlag{Name: "root-threshold", Value: 1, Usage: "unique root keys that must sign"},
			&cli.StringSliceFlag{Name: "targets-key", Usage: "targets key `FILE` (repeatable)"},
			&cli.IntFlag{Name: "targets-threshold", Value: 1, Usage: "unique targets keys that must sign"},
			&cli.StringSliceFlag{Name: "snapshot-key", Usage: "snapshot key `FILE`"},
			&cli.StringSliceFlag{Name: "timestamp-key", Usage: "timestamp key `FILE`"},
			&cli.StringSliceFlag{Name: "releases-key", Usage: "releases (CI) key `FILE` (repeatable); creates the releases delegation"},
			&cli.IntFlag{Name: "releases-threshold", Value: 1, Usage: "unique releases keys that must sign"},
			&cli.IntFlag{Name: "bins", Usage: "let releases delegate every target to `N` hash-bin roles (TAP 15 succinct roles; a power of two)"},
			&cli.StringSliceFlag{Name: "expires", Usage: "`ROLE=DURATION` expiry period of a role, e.g. releases=168h (repeatable)"},
			outputFlag(),
		},
		Action: repoInit,
	})
}

func repoInit(c *cli.Context) error {
	dir, err := onePositional(c, "DIR")
	if err != nil {
		return err
	}
	if _, err := wantJSON(c); err != nil {
		return err
	}
	expires := map[string]time.Duration{}
	for _, e := range c.StringSlice("expires") {
		role, d, ok := strings.Cut(e, "=")
		if !ok {
			return fault.Inputf("--expires %q: want ROLE=DURATION, e.g. releases=168h", e)
		}
		switch role {
		case metadata.RoleRoot, metadata.RoleTargets, metadata.RoleSnapshot, metadata.RoleTimestamp, metadata.RoleReleases:
		default:
			return fault.Inputf("--expires %q: unknown role %q (want root, targets, snapshot, timestamp or releases)", e, role)
		}
		dur, err := time.ParseDuration(d)
		if err != nil || dur <= 0 {
			return fault.Inputf("--expires %q: %q is not a positive duration like 168h", e, d)
		}
		expires[role] = dur
	}
	role := func(name string, single bool) (metadata.RoleKeys, error) {
		flag := name + "-key"
		files := c.StringSlice(flag)
		if len(files) == 0 {
			return metadata.RoleKeys{}, fault.Inputf("--%s: required", flag)
		}
		if single && len(files) > 1 {
			return metadata.RoleKeys{}, fault.Inputf("--%s: give one key", flag)
		}
		rk := metadata.RoleKeys{Expires: expires[name], Threshold: 1}
		if !single {
			if err := checkThresholdFlag(c, name+"-threshold"); err != nil {
				return rk, err
			}
			rk.Threshold = c.Int(name + "-threshold")
		}
		for _, f := range files {
			s, pk, err := loadSignerOrPublic(c, flag, f)
			if err != nil {
				return rk, err
			}
			if s != nil {
				rk.Signers = append(rk.Signers, s)
			} else {
				rk.PublicKeys = append(rk.PublicKeys, pk)
			}
		}
		return rk, nil
	}
	opts := metadata.InitOptions{Bins: c.Int("bins")}
	if opts.Bins != 0 && len(c.StringSlice("releases-key")) == 0 {
		return fault.Inputf("--bins %d: needs --releases-key", opts.Bins)
	}
	for _, r := range []struct {
		name   string
		single bool
		into   *metadata.RoleKeys
	}{{"root", false, &opts.Root}, {"targets", false, &opts.Targets}, {"snapshot", true, &opts.Snapshot}, {"timestamp", true, &opts.Timestamp}} {
		rk, err := role(r.name, r.single)
		if err != nil {
			return err
		}
		*r.into = rk
	}
	if len(c.StringSlice("releases-key")) > 0 {
		rk, err := role("releases", false)
		if err != nil {
			return err
		}
		opts.Releases = &rk
	} else if c.IsSet("releases-threshold") {
		return fault.Inputf("--releases-threshold: needs --releases-key")
	}
	repo, err := metadata.Init(dir, opts)
	if err != nil {
		return err
	}
	st, err := repo.Status(c.Context)
	if err != nil {
		return err
	}
	res := &metadata.Result{Versions: map[string]int64{}}
	for _, rs := range st.Roles {
		res.Versions[rs.Role] = rs.Version
		if !rs.Staged {
			res.Published = true
		} else if !rs.ThresholdMet() {
			res.Waiting = append(res.Waiting, fmt.Sprintf("%s version %d: signatures from %d of the %d unique keys its threshold needs (sign with `repo sign --role %s`)", rs.Role, rs.Version, rs.ValidKeys, rs.Threshold, rs.Role))
		}
	}
	if err := renderResult(c, "initialized "+dir, res); err != nil {
		return err
	}
	if asJSON, _ := wantJSON(c); !asJSON && res.Published {
		fmt.Fprintf(c.App.Writer, "  clients pin %s\n", filepath.Join(dir, "metadata", "1.root.json"))
	}
	return nil
}
