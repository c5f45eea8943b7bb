package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/keys"
	"github.com/cnabsec/cnabsec/metadata"
)

// The setup the `repo` subcommands share: opening DIR, -o text|json, the
// keys a change is signed with (--passphrase-env for encrypted ones) and
// rendering what a change did. The signing commands (sign.go) take the
// flags and keys of a change from here too.

// repoCmd is what a `repo` subcommand on an existing DIR starts from.
type repoCmd struct {
	c      *cli.Context
	repo   *metadata.Repository
	asJSON bool
}

// repoAction makes the Action of a `repo` subcommand on an existing DIR: it
// opens the repository named by the single DIR argument, then checks -o (in
// that order: a wrong argument count or a missing repository is reported
// before a bad -o), then runs run.
func repoAction(run func(rc *repoCmd) error) cli.ActionFunc {
	return func(c *cli.Context) error {
		repo, err := openRepo(c)
		if err != nil {
			return err
		}
		asJSON, err := wantJSON(c)
		if err != nil {
			return err
		}
		return run(&repoCmd{c: c, repo: repo, asJSON: asJSON})
	}
}

// repoChangeAction is repoAction for a subcommand that changes the
// repository: run makes the change and returns its result with the words
// naming it ("refreshed"), which is rendered as -o asks (renderResult).
func repoChangeAction(run func(rc *repoCmd) (what string, res *metadata.Result, err error)) cli.ActionFunc {
	return repoAction(func(rc *repoCmd) error {
		what, res, err := run(rc)
		if err != nil {
			return err
		}
		return renderResult(rc.c, what, res)
	})
}

// repoChangeFlags returns the flags of a subcommand that changes the
// repository: its own, then -o and the online key flags (docs/cli.md: every
// command that changes a repository accepts --snapshot-key and
// --timestamp-key).
func repoChangeFlags(own ...cli.Flag) []cli.Flag {
	return append(append(own, outputFlag()), onlineKeyFlags()...)
}

// changeKeys is loadChangeKeys for this subcommand.
func (rc *repoCmd) changeKeys(keyFlag string) (signers []keys.Signer, snap, ts keys.Signer, err error) {
	return loadChangeKeys(rc.c, keyFlag)
}

// loadChangeKeys loads what a change is signed with: every file of the
// repeatable private-key flag keyFlag, then --snapshot-key and
// --timestamp-key (nil when absent).
func loadChangeKeys(c *cli.Context, keyFlag string) (signers []keys.Signer, snap, ts keys.Signer, err error) {
	if signers, err = loadSigners(c, keyFlag); err != nil {
		return nil, nil, nil, err
	}
	if snap, ts, err = onlineSigners(c); err != nil {
		return nil, nil, nil, err
	}
	return signers, snap, ts, nil
}

// onlineKeyFlags are --snapshot-key and --timestamp-key.
func onlineKeyFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "snapshot-key", Usage: "snapshot private key `FILE`: publish the change (without it, stage it)"},
		&cli.StringFlag{Name: "timestamp-key", Usage: "timestamp private key `FILE`: publish the change (without it, stage it)"},
	}
}

// loadRepoSigner opens the private key a flag names (a file, a pkcs11: URI
// or plugin:NAME?...); a public key file there is refused with a reason that
// says so.
func loadRepoSigner(c *cli.Context, flag, path string) (keys.Signer, error) {
	ref, err := parseKeyRef(flag, path)
	if err != nil {
		return nil, err
	}
	if ref.Location == keys.LocationFile && isPublicKeyFile(path) == nil {
		return nil, fault.Inputf("--%s %s: a public key; this needs the private key that signs", flag, path)
	}
	return openPrivateKey(c, flag, ref)
}

func isPublicKeyFile(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if _, err := keys.ParsePrivate(b, nil); err == nil {
		return fmt.Errorf("a private key")
	}
	_, err = keys.ParsePublic(b)
	return err
}

// loadSignerOrPublic opens a key that may be private (signs now: a private
// key file, a token or plugin key) or a public key file (its signature comes
// later with repo sign).
func loadSignerOrPublic(c *cli.Context, flag, path string) (keys.Signer, *keys.PublicKey, error) {
	ref, err := parseKeyRef(flag, path)
	if err != nil {
		return nil, nil, err
	}
	if ref.Location == keys.LocationFile && isPublicKeyFile(path) == nil {
		pk, err := keys.LoadPublic(path)
		if err != nil {
			return nil, nil, fault.Inputf("--%s: %w", flag, err)
		}
		return nil, pk, nil
	}
	k, err := openPrivateKey(c, flag, ref)
	return k, nil, err
}

// loadSigners reads every file of a repeatable private-key flag.
func loadSigners(c *cli.Context, flag string) ([]keys.Signer, error) {
	var out []keys.Signer
	for _, p := range c.StringSlice(flag) {
		s, err := loadRepoSigner(c, flag, p)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// onlineSigners loads --snapshot-key and --timestamp-key (nil when absent).
func onlineSigners(c *cli.Context) (snap, ts keys.Signer, err error) {
	if p := c.String("snapshot-key"); p != "" {
		if snap, err = loadRepoSigner(c, "snapshot-key", p); err != nil {
			return nil, nil, err
		}
	}
	if p := c.String("timestamp-key"); p != "" {
		if ts, err = loadRepoSigner(c, "timestamp-key", p); err != nil {
			return nil, nil, err
		}
	}
	return snap, ts, nil
}

// openRepo opens the repository named by the single positional argument.
func openRepo(c *cli.Context) (*metadata.Repository, error) {
	dir, err := onePositional(c, "DIR")
	if err != nil {
		return nil, err
	}
	return metadata.Open(dir)
}

// renderResult prints what a changing command did.
func renderResult(c *cli.Context, what string, res *metadata.Result) error {
	asJSON, err := wantJSON(c)
	if err != nil {
		return err
	}
	if asJSON {
		return writeJSON(c.App.Writer, res)
	}
	w := c.App.Writer
	dir := "DIR"
	if pos, _ := splitPassthrough(c); len(pos) == 1 {
		dir = pos[0]
	}
	state := "staged in " + filepath.Join(dir, "staged") + " (not yet served)"
	if res.Published {
		state = "published"
	}
	if len(res.Versions) == 0 && len(res.Waiting) == 0 {
		state = "nothing changed"
	}
	fmt.Fprintf(w, "%s: %s\n", what, state)
	writeVersions(w, res.Versions)
	for _, p := range res.Waiting {
		fmt.Fprintf(w, "  waiting: %s\n", pendingLine(p, dir))
	}
	return nil
}

func writeVersions(w io.Writer, v map[string]int64) {
	names := make([]string, 0, len(v))
	for n := range v {
		names = append(names, n)
	}
	sort.Strings(names)
	var parts []string
	for _, n := range names {
		parts = append(parts, fmt.Sprintf("%s %d", n, v[n]))
	}
	if len(parts) > 0 {
		fmt.Fprintf(w, "  versions: %s\n", strings.Join(parts, ", "))
	}
}

// checkThresholdFlag refuses an explicit threshold below 1.
func checkThresholdFlag(c *cli.Context, flag string) error {
	if c.IsSet(flag) && c.Int(flag) < 1 {
		return fault.Inputf("--%s %d: a threshold must be at least 1", flag, c.Int(flag))
	}
	return nil
}

func formatTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }
