package main

import (
	"bytes"
	"fmt"
	"os"
	"time"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/keys"
)

// Private keys are named by key references (docs/signer-plugins.md): a file
// path, a pkcs11: URI, or plugin:NAME?...; every --*-key flag that takes a
// private key takes any of them.

// Bounds of --signer-timeout: each call to a signer plugin or token (a token
// may wait for a touch or a PIN pad).
const (
	defaultSignerTimeout = keys.DefaultPluginTimeout
	minSignerTimeout     = time.Second
	maxSignerTimeout     = time.Hour
)

// signerTimeout returns --signer-timeout, refused outside its bounds.
func signerTimeout(c *cli.Context) (time.Duration, error) {
	d := c.Duration("signer-timeout")
	if d == 0 {
		d = defaultSignerTimeout
	}
	if d < minSignerTimeout || d > maxSignerTimeout {
		return 0, fault.Inputf("--signer-timeout %s: want %s to %s", d, minSignerTimeout, maxSignerTimeout)
	}
	return d, nil
}

// parseKeyRef parses the reference given to flag. A reference that carries
// a PIN itself (pin-value=) is refused: it would show in process listings.
func parseKeyRef(flag, s string) (*keys.Ref, error) {
	ref, err := keys.ParseRef(s)
	if err != nil {
		return nil, fault.Inputf("--%s: %w", flag, err)
	}
	if ref.HasInlineSecret() {
		return nil, fault.Inputf("--%s %s: the reference carries a PIN or secret, which would show in process listings (use pin-source=file:PATH)", flag, ref)
	}
	return ref, nil
}

// openPrivateKey opens the private key a reference given to flag names, for
// signing: a key file (decrypted with --passphrase-env; a warning is printed
// for an unencrypted one), or a token or plugin key.
func openPrivateKey(c *cli.Context, flag string, ref *keys.Ref) (keys.Signer, error) {
	if ref.Location != keys.LocationFile {
		timeout, err := signerTimeout(c)
		if err != nil {
			return nil, err
		}
		s, err := keys.OpenSigner(c.Context, ref, nil, timeout)
		if err != nil {
			return nil, fault.Inputf("--%s: %w", flag, err)
		}
		return s, nil
	}
	pass, err := passphrase(c)
	if err != nil {
		return nil, err
	}
	k, err := keys.LoadPrivate(ref.Path, pass)
	if err != nil {
		return nil, fault.Inputf("--%s: %w", flag, err)
	}
	warnUnencrypted(c, ref.Path)
	return k, nil
}

// warnUnencrypted prints a warning each time an unencrypted key file signs.
func warnUnencrypted(c *cli.Context, path string) {
	b, err := os.ReadFile(path)
	if err == nil && !keys.IsEncrypted(b) {
		fmt.Fprintf(c.App.ErrWriter, "cnabsec: warning: %s is an unencrypted private key: anyone who can read the file can sign with it\n", path)
	}
}

// newPassphrase returns the passphrase a new key file is encrypted with:
// --passphrase-env, or asked twice on a terminal; nil with --unencrypted.
func newPassphrase(c *cli.Context) ([]byte, error) {
	if c.String("passphrase-env") != "" {
		if c.Bool("unencrypted") {
			return nil, fault.Inputf("--unencrypted and --passphrase-env: give one")
		}
		return passphrase(c)
	}
	if c.Bool("unencrypted") {
		return nil, nil
	}
	f, ok := c.App.Reader.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil, fault.Inputf("key generate: refusing to write an unencrypted private key: give --passphrase-env VAR, run on a terminal to be asked for a passphrase, or --unencrypted")
	}
	return askPassphraseTwice(c, int(f.Fd()))
}

func askPassphraseTwice(c *cli.Context, fd int) ([]byte, error) {
	fmt.Fprint(c.App.ErrWriter, "passphrase for the new key: ")
	p1, err := term.ReadPassword(fd)
	fmt.Fprintln(c.App.ErrWriter)
	if err != nil {
		return nil, fault.Inputf("key generate: reading the passphrase: %w", err)
	}
	fmt.Fprint(c.App.ErrWriter, "the same passphrase again: ")
	p2, err := term.ReadPassword(fd)
	fmt.Fprintln(c.App.ErrWriter)
	if err != nil {
		return nil, fault.Inputf("key generate: reading the passphrase: %w", err)
	}
	if len(p1) == 0 {
		return nil, fault.Inputf("key generate: an empty passphrase (use --unencrypted for a key without one)")
	}
	if !bytes.Equal(p1, p2) {
		return nil, fault.Inputf("key generate: the two passphrases differ; nothing written")
	}
	return p1, nil
}
