package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/cnabsec/cnabsec/internal/atomicfile"
	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/keys"
)

func keyCommand() *cli.Command {
	return &cli.Command{
		Name:  "key",
		Usage: "generate keys, print key IDs, export public keys",
		Subcommands: []*cli.Command{
			keyGenerateCommand(),
			keyIDCommand(),
			keyExportCommand(),
		},
	}
}

func keyGenerateCommand() *cli.Command {
	return &cli.Command{
		Name:  "generate",
		Usage: "write a new key pair PREFIX.key (encrypted PKCS#8, mode 0600) and PREFIX.pub (PKIX PEM), or create a key on a token; print its key ID",
		UsageText: "cnabsec key generate [--type ed25519|ecdsa-p256|rsa-3072] [--unencrypted] PREFIX\n" +
			"cnabsec key generate --pkcs11 URI [--type ecdsa-p256|rsa-3072|ed25519] [PREFIX]\n\n" +
			"The private key is encrypted with a passphrase: asked twice on a terminal, or read from\n" +
			"the variable --passphrase-env names. --unencrypted writes it in the clear (a warning is\n" +
			"printed each time such a key signs). With --pkcs11 the key pair is created on the token\n" +
			"(by the cnabsec-signer-pkcs11 plugin) and PREFIX.pub, when given, gets its public key.\n\n" +
			"Examples:\n  cnabsec key generate keys/root\n" +
			"  CNABSEC_PASS=... cnabsec --passphrase-env CNABSEC_PASS key generate --type ecdsa-p256 keys/targets\n" +
			"  cnabsec key generate --unencrypted keys/test\n" +
			"  cnabsec key generate --pkcs11 'pkcs11:token=cnabsec;object=root?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:pin' --type ecdsa-p256 keys/root",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "type", Value: keys.GenEd25519, Usage: "ed25519|ecdsa-p256|rsa-3072"},
			&cli.BoolFlag{Name: "unencrypted", Usage: "write the private key without a passphrase"},
			&cli.StringFlag{Name: "pkcs11", Usage: "create the key pair on the token this pkcs11: `URI` names"},
			outputFlag(),
		},
		Action: func(c *cli.Context) error {
			if _, err := wantJSON(c); err != nil {
				return err
			}
			if c.IsSet("pkcs11") {
				return generateOnToken(c)
			}
			prefix, err := onePositional(c, "PREFIX")
			if err != nil {
				return err
			}
			pass, err := newPassphrase(c)
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
			if pass == nil {
				fmt.Fprintf(c.App.ErrWriter, "cnabsec: warning: %s.key is not encrypted\n", prefix)
			}
			return writeGenerated(c, k.Public(), generatedKey{Private: prefix + ".key", Public: prefix + ".pub", Encrypted: pass != nil})
		},
	}
}

// generatedKey is the -o json output of `key generate`.
type generatedKey struct {
	KeyID     string `json:"keyid"`
	KeyType   string `json:"keytype"`
	Scheme    string `json:"scheme"`
	Private   string `json:"private,omitempty"`
	Public    string `json:"public,omitempty"`
	Encrypted bool   `json:"encrypted"`
	Location  string `json:"location,omitempty"`
}

// writeGenerated prints the new key's ID (text) or what was written where
// (-o json).
func writeGenerated(c *cli.Context, pub *keys.PublicKey, g generatedKey) error {
	asJSON, _ := wantJSON(c) // checked before the key was made
	if !asJSON {
		fmt.Fprintln(c.App.Writer, pub.ID())
		return nil
	}
	g.KeyID, g.KeyType, g.Scheme = pub.ID(), pub.Type, pub.Scheme
	return writeJSON(c.App.Writer, g)
}

// generateOnToken creates a key pair on a token (--pkcs11 URI), writes its
// public key to PREFIX.pub when PREFIX is given, and prints its key ID.
func generateOnToken(c *cli.Context) error {
	ref, err := parseKeyRef("pkcs11", c.String("pkcs11"))
	if err != nil {
		return err
	}
	if ref.Location != keys.LocationToken {
		return fault.Inputf("--pkcs11 %s: not a pkcs11: URI", ref)
	}
	pos, _ := splitPassthrough(c)
	if len(pos) > 1 {
		return fault.Inputf("key generate --pkcs11: at most one PREFIX")
	}
	timeout, err := signerTimeout(c)
	if err != nil {
		return err
	}
	s, err := keys.GenerateInPlugin(c.Context, ref, c.String("type"), timeout)
	if err != nil {
		return fault.Inputf("key generate --pkcs11: %w", err)
	}
	g := generatedKey{Location: ref.String(), Encrypted: true}
	if len(pos) == 1 {
		pem, err := s.Public().PEM()
		if err != nil {
			return err
		}
		if err := atomicfile.WriteFile(pos[0]+".pub", pem, 0o644); err != nil {
			return fault.Inputf("key generate: %w", err)
		}
		g.Public = pos[0] + ".pub"
	}
	return writeGenerated(c, s.Public(), g)
}

func keyIDCommand() *cli.Command {
	return &cli.Command{
		Name:  "id",
		Usage: "print the key ID (TUF and in-toto) of a key file, token key or plugin key",
		UsageText: "cnabsec key id [-o text|json] KEY\n\n" +
			"KEY is a key file (PEM, public or private, or securesystemslib JSON as python in-toto\n" +
			"writes it), a pkcs11: URI or plugin:NAME?...; a token or plugin key has the key ID of\n" +
			"the same public key in a file. -o json adds where the key lives (file, token, plugin;\n" +
			"never a PIN).\n\nExamples:\n  cnabsec key id keys/ci.pub\n" +
			"  cnabsec key id -o json 'pkcs11:token=cnabsec;object=root?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:pin'",
		Flags: []cli.Flag{outputFlag()},
		Action: func(c *cli.Context) error {
			arg, err := onePositional(c, "KEY")
			if err != nil {
				return err
			}
			asJSON, err := wantJSON(c)
			if err != nil {
				return err
			}
			ref, err := parseKeyRef("key", arg)
			if err != nil {
				return err
			}
			pub, err := refPublicKey(c, ref)
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(c.App.Writer, map[string]string{"keyid": pub.ID(), "location": ref.Location, "where": ref.Describe()})
			}
			fmt.Fprintln(c.App.Writer, pub.ID())
			return nil
		},
	}
}

// refPublicKey returns the public key of a key file, token key or plugin key.
func refPublicKey(c *cli.Context, ref *keys.Ref) (*keys.PublicKey, error) {
	if ref.Location == keys.LocationFile {
		return loadAnyPublic(c, ref.Path)
	}
	timeout, err := signerTimeout(c)
	if err != nil {
		return nil, err
	}
	s, err := keys.OpenSigner(c.Context, ref, nil, timeout)
	if err != nil {
		return nil, fault.Inputf("key %w", err)
	}
	return s.Public(), nil
}

func keyExportCommand() *cli.Command {
	return &cli.Command{
		Name:      "export",
		Usage:     "write the public key of a key file, token key or plugin key as PEM or securesystemslib JSON",
		UsageText: "cnabsec key export KEY [--format pem|securesystemslib] [--out PATH]\n\nExample (python in-toto needs ed25519 keys as JSON):\n  cnabsec key export keys/owner.pub --format securesystemslib --out owner.json",
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

// publicKeyArg loads the public key of the key the single KEY argument
// names: a key file, a token key or a plugin key.
func publicKeyArg(c *cli.Context) (*keys.PublicKey, error) {
	arg, err := onePositional(c, "KEY")
	if err != nil {
		return nil, err
	}
	ref, err := parseKeyRef("key", arg)
	if err != nil {
		return nil, err
	}
	return refPublicKey(c, ref)
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
		priv, perr := keys.LoadPrivate(path, pass)
		if perr == nil {
			return priv.Public(), nil
		}
		if errors.Is(perr, keys.ErrPassphrase) {
			return nil, fault.Inputf("key file %w", perr)
		}
	}
	return nil, fault.Inputf("key file %w", err)
}

// loadSigner opens the private key a reference names, for signing (CLI
// --*-key flags: a file, a pkcs11: URI or plugin:NAME?...).
func loadSigner(c *cli.Context, flag, path string) (keys.Signer, error) {
	ref, err := parseKeyRef(flag, path)
	if err != nil {
		return nil, err
	}
	return openPrivateKey(c, flag, ref)
}
