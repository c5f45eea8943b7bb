package main

import (
	"github.com/urfave/cli/v2"

	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/server"
	"github.com/cnabsec/cnabsec/verifier"
)

func gatewayCommand() *cli.Command {
	return &cli.Command{
		Name:  "gateway",
		Usage: "run a pull-through gate for an OCI registry that serves only verified manifests",
		UsageText: `cnabsec gateway --addr ADDR --upstream URL --trust-root ROOT.json --metadata LOCATION
    [--level L] [--target-registry NAME] [--tls-cert FILE --tls-key FILE] [--refresh-interval D]

A manifest read (GET/HEAD /v2/NAME/manifests/TAG|DIGEST) is served only when
UPSTREAM_HOST/NAME:TAG (or @DIGEST) is a signed image target verifying at --level,
or a platform manifest of a verified index; the bytes served are exactly the ones
whose sha256 was checked. Blobs (content-addressed), /v2/, the catalog and tag
lists pass through; anything else is answered with the registry error DENIED
(HTTP 403). Targets are looked up under the upstream's host[:port], or under
--target-registry NAME (e.g. the registry's public name when the gateway talks to
it on an internal address).

Examples:
  cnabsec gateway --addr :5000 --upstream https://registry.internal --target-registry registry.example.com \
      --trust-root root.json --metadata https://tuf.example.com --level 2
  docker pull localhost:5000/org/app:1.0`,
		Flags: append(serviceFlags(),
			&cli.StringFlag{Name: "upstream", Usage: "the registry's base `URL` (http:// or https://, no path)"},
			&cli.StringFlag{Name: "target-registry", Usage: "registry `NAME` the targets are signed under (default: the upstream's host)"},
		),
		Action: runGateway,
	}
}

func runGateway(c *cli.Context) error {
	if pos, _ := splitPassthrough(c); len(pos) > 0 {
		return fault.Inputf("gateway: unexpected argument %q", pos[0])
	}
	if c.String("upstream") == "" {
		return fault.Inputf("gateway: --upstream URL is required")
	}
	lvl, err := verifier.ParseLevel(c.String("level"))
	if err != nil {
		return err
	}
	if err := verifier.CheckImageLevel(lvl); err != nil {
		return fault.Inputf("gateway: %w", err)
	}
	if err := checkServiceFlags(c); err != nil {
		return err
	}
	restore, err := applyMemoryLimit(c)
	if err != nil {
		return err
	}
	defer restore()
	log, err := serviceLogger(c)
	if err != nil {
		return err
	}
	// Validate the upstream before building the verifier.
	if _, _, err := server.ParseUpstream(c.String("upstream"), c.String("target-registry")); err != nil {
		return fault.Inputf("--%w", err) // "--upstream ...": the flag, as the user wrote it
	}
	v, err := verifierFactory(c)
	if err != nil {
		return err
	}
	if cl, ok := v.(interface{ Close() error }); ok {
		defer cl.Close() // its private TUF cache, when --cache is not given
	}
	g, err := server.NewGateway(server.GatewayOptions{
		Verifier:        v,
		Upstream:        c.String("upstream"),
		TargetRegistry:  c.String("target-registry"),
		Level:           lvl,
		RefreshInterval: c.Duration("refresh-interval"),
		Timeout:         c.Duration("timeout"),
		Logger:          log,
	})
	if err != nil {
		return err
	}
	start := []any{"service", "gateway", "tls", c.String("tls-cert") != "", "upstream", c.String("upstream"),
		"targetRegistry", c.String("target-registry"), "trustRoot", c.String("trust-root"), "metadata", c.String("metadata"), "level", string(lvl)}
	return serveUntilStopped(c, log, start, g.Run, g.Handler(), server.GatewayTimeouts())
}
