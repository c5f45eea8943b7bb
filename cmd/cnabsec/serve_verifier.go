package main

import (
	"github.com/urfave/cli/v2"

	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/server"
)

// newVerifierFromFlags builds the verifier behind `serve` and `gateway` from
// --trust-root and --metadata (and the global --timeout, --insecure-registry).
//
// TODO(integrator): construct *verifier.Verifier with verifier.New once it
// implements server.Verifier (Verify, Refresh, State, Targets).
func newVerifierFromFlags(c *cli.Context) (server.Verifier, error) {
	if c.String("trust-root") == "" || c.String("metadata") == "" {
		return nil, fault.Inputf("%s: --trust-root ROOT.json and --metadata LOCATION are required (no trust on first use)", c.Command.FullName())
	}
	return nil, fault.WithHint(fault.Inputf("%s: verifier not available yet", c.Command.FullName()),
		"this build's verifier does not implement the service interface yet; use `cnabsec verify` meanwhile")
}
