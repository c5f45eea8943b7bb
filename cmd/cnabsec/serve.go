package main

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/server"
	"github.com/cnabsec/cnabsec/verifier"
)

func serveCommand() *cli.Command {
	return &cli.Command{
		Name:  "serve",
		Usage: "run the verification API and the Kubernetes admission webhook",
		UsageText: `cnabsec serve --addr ADDR --trust-root ROOT.json --metadata LOCATION [--config FILE]
    [--level L] [--mode enforce|warn] [--admission-mode mutate|validate]
    [--tls-cert FILE --tls-key FILE] [--refresh-interval D]

Endpoints:
  POST /v1/verify     {"reference": "REGISTRY/REPO:TAG", "level": "2", "image": true} -> the verify -o json report
                      (HTTP 200 verified or denied, 400 bad request, 503 inconclusive)
  POST /v1/admission  Kubernetes admission.k8s.io/v1 AdmissionReview (Pods and pod-owning workloads),
                      answered in --admission-mode:
                        mutate   (default; a MutatingWebhookConfiguration) pins every verified tag
                                 to the digest it was verified at (REPO@sha256:DIGEST, a JSON patch)
                        validate (a ValidatingWebhookConfiguration) admits digest references only
  POST /v1/admission/mutate, /v1/admission/validate  the same, in the mode their path names
  GET  /healthz, /readyz (ready after the first successful TUF refresh), /metrics (Prometheus)

Fails closed: when metadata or a registry cannot be reached, images are denied as
"inconclusive" unless the --config file sets the UNSAFE failOpen: true.
Logs are JSON on stderr; use --log-level info to log every decision.
See docs/admission.md for the policy file and deploy/ for the Kubernetes manifests.

Examples:
  cnabsec serve --addr :8443 --trust-root root.json --metadata https://tuf.example.com \
      --tls-cert /tls/tls.crt --tls-key /tls/tls.key --config /etc/cnabsec/policy.yaml
  cnabsec --log-level info serve --addr 127.0.0.1:8080 --trust-root root.json --metadata repo --mode warn
  curl -s localhost:8080/v1/verify -d '{"reference":"example.com/org/app:1.0","image":true}'`,
		Flags: append(serviceFlags(),
			&cli.StringFlag{Name: "config", Usage: "admission policy `FILE` (YAML): exemptions, per-image levels, failOpen"},
			&cli.StringFlag{Name: "mode", Value: "enforce", Usage: "admission mode: enforce (deny) or warn (admit with warnings)"},
			&cli.StringFlag{Name: "admission-mode", Value: "mutate", Usage: "what /v1/admission does with an image tag: mutate (pin it to its verified digest) or validate (deny it: digest references only)"},
		),
		Action: runServe,
	}
}

// Seams for the tests of serve and gateway: the verifier, the context that
// ends the service (SIGTERM or SIGINT), and the address it bound.
var (
	verifierFactory = newVerifierFromFlags
	stopContext     = untilSignal
	listenReady     func(net.Addr)
)

// serviceFlags are the flags serve and gateway share.
func serviceFlags() []cli.Flag {
	return append([]cli.Flag{
		&cli.StringFlag{Name: "addr", Value: "127.0.0.1:8443", Usage: "listen on `ADDR` (host:port; :8443 for every interface)"},
		&cli.StringFlag{Name: "trust-root", Usage: "pinned root metadata `FILE`, obtained out of band (required)"},
		&cli.StringFlag{Name: "metadata", Usage: "TUF repository `LOCATION`: directory, file://, http(s):// or oci://REGISTRY/REPOSITORY (required)"},
		&cli.StringFlag{Name: "level", Value: "2", Usage: "security level required of images: 0|1a|2|3a|4 (1b and 3b add only bundle properties)"},
		&cli.StringFlag{Name: "tls-cert", Usage: "serve TLS with this PEM certificate `FILE` (reloaded when it changes)"},
		&cli.StringFlag{Name: "tls-key", Usage: "PEM private key `FILE` for --tls-cert"},
		&cli.DurationFlag{Name: "refresh-interval", Value: 5 * time.Minute, Usage: "refresh the TUF metadata this often (and on demand when stale)"},
		&cli.StringFlag{Name: "cache", Usage: "keep trusted TUF metadata in `DIR` across restarts (rollback protection); default: a private temporary directory"},
		memoryLimitFlag(),
	}, provenanceFlags()...)
}

// runServe runs the verification and admission service until it is stopped.
func runServe(c *cli.Context) error {
	if pos, _ := splitPassthrough(c); len(pos) > 0 {
		return fault.Inputf("serve: unexpected argument %q", pos[0])
	}
	st, err := serveSettingsOf(c)
	if err != nil {
		return err
	}
	lvl, policy := st.level, st.policy
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
	v, err := verifierFactory(c)
	if err != nil {
		return err
	}
	if cl, ok := v.(interface{ Close() error }); ok {
		defer cl.Close() // its private TUF cache, when --cache is not given
	}
	svc, err := server.New(server.Options{Verifier: v, Level: lvl, Mode: st.mode, AdmissionMode: st.admissionMode, Policy: policy, RefreshInterval: c.Duration("refresh-interval"), Logger: log})
	if err != nil {
		return err
	}
	if policy.FailOpen {
		log.Warn("UNSAFE: failOpen is set: images whose verification is inconclusive are admitted")
	}
	start := []any{"service", "verify+admission", "tls", c.String("tls-cert") != "", "trustRoot", c.String("trust-root"),
		"metadata", c.String("metadata"), "level", string(lvl), "mode", c.String("mode"), "admissionMode", c.String("admission-mode"),
		"failOpen", policy.FailOpen, "config", c.String("config")}
	return serveUntilStopped(c, log, start, svc.Run, svc.Handler(), server.DefaultTimeouts())
}

// serveSettings are serve's verification level, modes and policy.
type serveSettings struct {
	level         verifier.Level
	mode          server.Mode
	admissionMode server.AdmissionMode
	policy        *server.Policy
}

// serveSettingsOf reads --level, --mode, --admission-mode and the policy
// of --config (the level is its default).
func serveSettingsOf(c *cli.Context) (serveSettings, error) {
	var st serveSettings
	var err error
	if st.level, err = verifier.ParseLevel(c.String("level")); err != nil {
		return st, err
	}
	if st.mode, err = server.ParseMode(c.String("mode")); err != nil {
		return st, fault.Inputf("--mode %q: want enforce or warn", c.String("mode"))
	}
	if st.admissionMode, err = server.ParseAdmissionMode(c.String("admission-mode")); err != nil {
		return st, fault.Inputf("--admission-mode %q: want mutate or validate", c.String("admission-mode"))
	}
	var cfg *server.Config
	if p := c.String("config"); p != "" {
		if cfg, err = server.LoadConfig(p); err != nil {
			return st, err
		}
	}
	if st.policy, err = cfg.Policy(st.level); err != nil {
		return st, fault.Inputf("serve: %w", err)
	}
	return st, nil
}

// checkServiceFlags refuses a bad flag before anything starts.
func checkServiceFlags(c *cli.Context) error {
	if (c.String("tls-cert") == "") != (c.String("tls-key") == "") {
		return fault.Inputf("%s: --tls-cert and --tls-key go together", c.Command.FullName())
	}
	if c.Duration("refresh-interval") <= 0 {
		return fault.Inputf("%s: --refresh-interval must be positive", c.Command.FullName())
	}
	return nil
}

// serviceLogger is the JSON logger of a long-running service, on stderr.
func serviceLogger(c *cli.Context) (*slog.Logger, error) {
	lvl, err := parseLogLevel(c.String("log-level"))
	if err != nil {
		return nil, err
	}
	return slog.New(slog.NewJSONHandler(c.App.ErrWriter, &slog.HandlerOptions{Level: lvl})), nil
}

// serveUntilStopped runs the TUF refresh loop and serves h on --addr until
// SIGTERM or SIGINT, then shuts down gracefully (exit 130 after SIGINT). Once
// listening it logs one start line: the address and the start attributes.
func serveUntilStopped(c *cli.Context, log *slog.Logger, start []any, refresh func(context.Context), h http.Handler, t server.Timeouts) error {
	ctx, stop := stopContext(c.Context)
	defer stop()
	go refresh(ctx)
	err := server.ListenAndServe(ctx, h, server.ListenOptions{
		Addr:     c.String("addr"),
		TLSCert:  c.String("tls-cert"),
		TLSKey:   c.String("tls-key"),
		Timeouts: t,
		Logger:   log,
		Ready: func(addr net.Addr) {
			announce(log, "cnabsec "+c.Command.Name+" started", addr, start...)
			if listenReady != nil {
				listenReady(addr)
			}
		},
	})
	if err != nil {
		return err
	}
	return stoppedExit(ctx)
}
