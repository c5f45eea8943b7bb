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

func repoInitCommand() *cli.Command {
	return &cli.Command{
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
	}
}

func repoInit(c *cli.Context) error {
	dir, err := onePositional(c, "DIR")
	if err != nil {
		return err
	}
	if _, err := wantJSON(c); err != nil {
		return err
	}
	expires, err := parseExpiresFlags(c.StringSlice("expires"))
	if err != nil {
		return err
	}
	opts, err := initOptionsFromFlags(c, expires)
	if err != nil {
		return err
	}
	repo, err := metadata.Init(dir, opts)
	if err != nil {
		return err
	}
	res, err := initResult(c, repo)
	if err != nil {
		return err
	}
	if err := renderResult(c, "initialized "+dir, res); err != nil {
		return err
	}
	if asJSON, _ := wantJSON(c); !asJSON && res.Published {
		fmt.Fprintf(c.App.Writer, "  clients pin %s\n", filepath.Join(dir, "metadata", "1.root.json"))
	}
	return nil
}

// parseExpiresFlags reads the --expires ROLE=DURATION values into each
// role's expiry period.
func parseExpiresFlags(values []string) (map[string]time.Duration, error) {
	expires := map[string]time.Duration{}
	for _, e := range values {
		role, dur, err := parseExpiresFlag(e)
		if err != nil {
			return nil, err
		}
		expires[role] = dur
	}
	return expires, nil
}

// parseExpiresFlag reads one --expires value: a role repo init creates and
// a positive duration.
func parseExpiresFlag(e string) (string, time.Duration, error) {
	role, d, ok := strings.Cut(e, "=")
	if !ok {
		return "", 0, fault.Inputf("--expires %q: want ROLE=DURATION, e.g. releases=168h", e)
	}
	switch role {
	case metadata.RoleRoot, metadata.RoleTargets, metadata.RoleSnapshot, metadata.RoleTimestamp, metadata.RoleReleases:
	default:
		return "", 0, fault.Inputf("--expires %q: unknown role %q (want root, targets, snapshot, timestamp or releases)", e, role)
	}
	dur, err := time.ParseDuration(d)
	if err != nil || dur <= 0 {
		return "", 0, fault.Inputf("--expires %q: %q is not a positive duration like 168h", e, d)
	}
	return role, dur, nil
}

// initOptionsFromFlags builds the options of metadata.Init: --bins (only
// with --releases-key), the keys and thresholds of the four top-level
// roles, then releases when its keys are given.
func initOptionsFromFlags(c *cli.Context, expires map[string]time.Duration) (metadata.InitOptions, error) {
	opts := metadata.InitOptions{Bins: c.Int("bins")}
	hasReleases := len(c.StringSlice("releases-key")) > 0
	if opts.Bins != 0 && !hasReleases {
		return opts, fault.Inputf("--bins %d: needs --releases-key", opts.Bins)
	}
	for _, r := range []struct {
		name   string
		single bool
		into   *metadata.RoleKeys
	}{{"root", false, &opts.Root}, {"targets", false, &opts.Targets}, {"snapshot", true, &opts.Snapshot}, {"timestamp", true, &opts.Timestamp}} {
		rk, err := roleKeysFromFlags(c, r.name, r.single, expires)
		if err != nil {
			return opts, err
		}
		*r.into = rk
	}
	if !hasReleases {
		if c.IsSet("releases-threshold") {
			return opts, fault.Inputf("--releases-threshold: needs --releases-key")
		}
		return opts, nil
	}
	rk, err := roleKeysFromFlags(c, "releases", false, expires)
	if err != nil {
		return opts, err
	}
	opts.Releases = &rk
	return opts, nil
}

// roleKeysFromFlags reads one role's --NAME-key files (private keys sign
// now, public keys sign later with repo sign), its --NAME-threshold unless
// the role takes a single key, and its expiry.
func roleKeysFromFlags(c *cli.Context, name string, single bool, expires map[string]time.Duration) (metadata.RoleKeys, error) {
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

// initResult reports what init did from the new repository's status: each
// role's version, whether anything was published, and what staged roles
// still wait for.
func initResult(c *cli.Context, repo *metadata.Repository) (*metadata.Result, error) {
	st, err := repo.Status(c.Context)
	if err != nil {
		return nil, err
	}
	res := &metadata.Result{Versions: map[string]int64{}}
	for _, rs := range st.Roles {
		res.Versions[rs.Role] = rs.Version
		if !rs.Staged {
			res.Published = true
		} else if !rs.ThresholdMet() {
			res.Waiting = append(res.Waiting, metadata.Pending{Reason: metadata.PendingSignatures, Role: rs.Role, Version: rs.Version, ValidKeys: rs.ValidKeys, Threshold: rs.Threshold})
		}
	}
	return res, nil
}
