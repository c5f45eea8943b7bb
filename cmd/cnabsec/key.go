package main

import (
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/cnabsec/cnabsec/internal/atomicfile"
	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/keys"
)

func init() {
	register(&cli.Command{
		Name:  "key",
		Usage: "generate keys, print key IDs, export public keys",
		Subcommands: []*cli.Command{
			keyGenerateCommand(),
			keyIDCommand(),
			keyExportCommand(),
		},
	})
}

func keyGenerateCommand() *cli.Command {
	return &cli.Command{
		Name:      "generate",
		Usage:     "write a new key pair PREFIX.key (PKCS#8, mode 0600) and PREFIX.pub (PKIX PEM); print its key ID",
		UsageText: "cnabsec key generate [--type ed25519|ecdsa-p256|rsa-3072] PREFIX\n\nExamples:\n  cnabsec key generate keys/root\n  CNABSEC_PASS=... cnabsec --passphrase-env CNABSEC_PASS key generate --type ecdsa-p256 keys/targets",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "type", Value: keys.GenEd25519, Usage: "ed25519|ecdsa-p256|rsa-3072"},
		},
		Action: func(c *cli.Context) error {
			prefix, err := onePositional(c, "PREFIX")
			if err != nil {
				return err
			}
			pass, err := passphrase(c)
			if err != nil {
				return err
			}
			k, err := keys.Generate(c.String("type"))
			if err != nil {
				return fault.Wrap(fault.Input, err)
			}
			if err := keys.WriteKeyPair(prefix, k, pass); err != nil {
				return fault.Inputf("key generate: %w", err)
			}
			fmt.Fprintln(c.App.Writer, k.Public().ID())
			return nil
		},
	}
}

func keyIDCommand() *cli.Command {
	return &cli.Command{
		Name:      "id",
		Usage:     "print the key ID (TUF and in-toto) of a public or private key file",
		UsageText: "cnabsec key id FILE\n\nFILE is PEM (public or private) or securesystemslib JSON as python in-toto writes it.\n\nExample:\n  cnabsec key id keys/ci.pub",
		Action: func(c *cli.Context) error {
			pub, err := publicKeyArg(c)
			if err != nil {
				return err
			}
			fmt.Fprintln(c.App.Writer, pub.ID())
			return nil
		},
	}
}

func keyExportCommand() *cli.Command {
	return &cli.Command{
		Name:      "export",
		Usage:     "write the public key of a key file as PEM or securesystemslib JSON",
		UsageText: "cnabsec key export FILE [--format pem|securesystemslib] [--out PATH]\n\nExample (python in-toto needs ed25519 keys as JSON):\n  cnabsec key export keys/owner.pub --format securesystemslib --out owner.json",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "format", Value: "pem", Usage: "pem|securesystemslib"},
			&cli.StringFlag{Name: "out", Usage: "write to `PATH` instead of stdout"},
		},
		Action: func(c *cli.Context) error {
			pub, err := publicKeyArg(c)
			if err != nil {
				return err
			}
			var out []byte
			switch c.String("format") {
			case "pem":
				out, err = pub.PEM()
			case "securesystemslib", "json":
				out, err = pub.MarshalSecuresystemslib()
				out = append(out, '\n')
			default:
				return fault.Inputf("--format %q: want pem or securesystemslib", c.String("format"))
			}
			if err != nil {
				return err
			}
			if p := c.String("out"); p != "" {
				if err := atomicfile.WriteFile(p, out, 0o644); err != nil {
					return fault.Inputf("key export: %w", err)
				}
				return nil
			}
			_, err = c.App.Writer.Write(out)
			return err
		},
	}
}

// publicKeyArg loads the public key of the key file named by the single
// FILE argument (loadAnyPublic).
func publicKeyArg(c *cli.Context) (*keys.PublicKey, error) {
	path, err := onePositional(c, "FILE")
	if err != nil {
		return nil, err
	}
	return loadAnyPublic(c, path)
}

// loadAnyPublic loads the public key of a public or private key file; an
// encrypted private key needs --passphrase-env.
func loadAnyPublic(c *cli.Context, path string) (*keys.PublicKey, error) {
	pub, err := keys.LoadPublic(path)
	if err == nil {
		return pub, nil
	}
	if _, statErr := os.Stat(path); statErr == nil {
		pass, perr := passphrase(c)
		if perr != nil {
			return nil, perr
		}
		if priv, perr := keys.LoadPrivate(path, pass); perr == nil {
			return priv.Public(), nil
		}
	}
	return nil, fault.Inputf("key file %w", err)
}

// loadSigner loads a private key file for signing (CLI --*-key flags).
func loadSigner(c *cli.Context, flag, path string) (keys.Signer, error) {
	pass, err := passphrase(c)
	if err != nil {
		return nil, err
	}
	k, err := keys.LoadPrivate(path, pass)
	if err != nil {
		return nil, fault.Inputf("--%s: %w", flag, err)
	}
	return k, nil
}
