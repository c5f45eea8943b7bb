package server

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/cnabsec/cnabsec/internal/fault"
)

// Timeouts bound every connection of a listener.
type Timeouts struct {
	ReadHeader time.Duration // slowloris: the whole header must arrive within this
	Read       time.Duration
	Write      time.Duration
	Idle       time.Duration
	Shutdown   time.Duration // grace period for requests in flight
}

// DefaultTimeouts suit an admission webhook (the API server gives a webhook
// at most 30 seconds) and a registry gateway serving manifests.
func DefaultTimeouts() Timeouts {
	return Timeouts{ReadHeader: 5 * time.Second, Read: 30 * time.Second, Write: 60 * time.Second, Idle: 120 * time.Second, Shutdown: 20 * time.Second}
}

// GatewayTimeouts suit a registry gateway: blobs of several GiB stream
// through it, so a response may take long to write; headers and request
// bodies (pulls have none) must still arrive quickly.
func GatewayTimeouts() Timeouts {
	t := DefaultTimeouts()
	t.Write = 30 * time.Minute
	return t
}

// ListenOptions configures ListenAndServe.
type ListenOptions struct {
	Addr     string
	TLSCert  string // PEM certificate file; with TLSKey enables TLS, reloaded on change
	TLSKey   string
	Timeouts Timeouts
	Logger   *slog.Logger
	// Ready, when set, receives the bound address once listening.
	Ready func(addr net.Addr)
}

// NewHTTPServer returns an http.Server with every timeout set.
func NewHTTPServer(h http.Handler, t Timeouts, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: t.ReadHeader,
		ReadTimeout:       t.Read,
		WriteTimeout:      t.Write,
		IdleTimeout:       t.Idle,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// ListenAndServe serves h until ctx is done, then shuts down gracefully
// (requests in flight get Timeouts.Shutdown to finish).
func ListenAndServe(ctx context.Context, h http.Handler, o ListenOptions) error {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Timeouts == (Timeouts{}) {
		o.Timeouts = DefaultTimeouts()
	}
	if (o.TLSCert == "") != (o.TLSKey == "") {
		return fault.Inputf("a TLS certificate and its key go together")
	}
	srv := NewHTTPServer(h, o.Timeouts, o.Logger)
	ln, err := net.Listen("tcp", o.Addr)
	if err != nil {
		return fault.Inputf("listen on %s: %w", o.Addr, err)
	}
	if o.TLSCert != "" {
		rl, err := newCertReloader(o.TLSCert, o.TLSKey, func(err error) { o.Logger.Error("tls", "error", err.Error()) })
		if err != nil {
			ln.Close()
			return err
		}
		srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: rl.GetCertificate}
		ln = tls.NewListener(ln, srv.TLSConfig)
	}
	o.Logger.Info("listening", "addr", ln.Addr().String(), "tls", o.TLSCert != "")
	if o.Ready != nil {
		o.Ready(ln.Addr())
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fault.Inconclusivef("serving on %s: %w", o.Addr, err)
	case <-ctx.Done():
	}
	o.Logger.Info("shutting down", "grace", o.Timeouts.Shutdown)
	sctx, cancel := context.WithTimeout(context.Background(), o.Timeouts.Shutdown)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
		return fault.Inconclusivef("shutting down %s: %w", o.Addr, err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fault.Inconclusivef("serving on %s: %w", o.Addr, err)
	}
	return nil
}
