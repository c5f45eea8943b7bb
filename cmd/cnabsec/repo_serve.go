package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/metadata"
)

// repoServeContext is the lifetime of `repo serve`: until SIGINT or SIGTERM.
// Tests replace it.
var repoServeContext = func() (context.Context, context.CancelFunc) { return untilSignal(context.Background()) }

func repoServeCommand() *cli.Command {
	return &cli.Command{
		Name:      "serve",
		Usage:     "serve metadata/ and targets/ over HTTP",
		UsageText: "cnabsec repo serve DIR --addr 127.0.0.1:PORT",
		Description: `Serves DIR/metadata under /metadata/ and DIR/targets under /targets/ —
nothing else: not staged/, not settings, never keys; no directory listings.
Clients use the base URL, --metadata http://ADDR (they fetch ADDR/metadata/...
and ADDR/targets/...). Runs until interrupted.
Put a TLS-terminating proxy in front for anything but loopback.

Example:
   cnabsec repo serve repo --addr 127.0.0.1:8080`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "addr", Value: "127.0.0.1:8080", Usage: "listen `ADDRESS` (port 0 picks a free port)"},
		},
		Action: func(c *cli.Context) error {
			repo, err := openRepo(c)
			if err != nil {
				return err
			}
			ln, err := net.Listen("tcp", c.String("addr"))
			if err != nil {
				return fault.Inputf("--addr %s: %w", c.String("addr"), err)
			}
			srv := &http.Server{
				Handler:           metadata.Handler(repo.Dir()),
				ReadHeaderTimeout: 10 * time.Second,
				ReadTimeout:       30 * time.Second,
				WriteTimeout:      5 * time.Minute,
				IdleTimeout:       2 * time.Minute,
				MaxHeaderBytes:    64 << 10,
			}
			ctx, stop := repoServeContext()
			defer stop()
			errc := make(chan error, 1)
			go func() { errc <- srv.Serve(ln) }()
			fmt.Fprintf(c.App.Writer, "serving %s at http://%s (metadata: /metadata/, targets: /targets/)\n", repo.Dir(), ln.Addr())
			select {
			case err := <-errc:
				return fault.Inconclusivef("serving %s: %w", repo.Dir(), err)
			case <-ctx.Done():
			}
			shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
				return fault.Inconclusivef("stopping the server: %w", err)
			}
			return stoppedExit(ctx)
		},
	}
}
