package main

import (
	"github.com/urfave/cli/v2"

	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/server"
	"github.com/cnabsec/cnabsec/verifier"
)

// newVerifierFromFlags builds the verifier behind `serve` and `gateway` from
// --trust-root and --metadata (and --cache when the command has it, the
// global --timeout and --insecure-registry), as `verify` does. The Verifier
// keeps the versions it has seen between refreshes (a private cache without
// --cache), so a rollback after a refresh is refused.
func newVerifierFromFlags(c *cli.Context) (server.Verifier, error) {
	if c.String("trust-root") == "" || c.String("metadata") == "" {
		return nil, fault.Inputf("%s: --trust-root ROOT.json and --metadata LOCATION are required (no trust on first use)", c.Command.FullName())
	}
	cfg, err := verifyConfig(c)
	if err != nil {
		return nil, err
	}
	cfg.Registry.Progress = nil // a service never draws progress bars
	v, err := verifier.New(cfg)
	if err != nil {
		return nil, err
	}
	return v, nil
}
