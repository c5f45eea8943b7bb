package oci

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"
)

// PlainHTTPRefusedError is returned when a request would have gone to a
// registry over plain HTTP although the host is neither loopback nor listed
// as insecure. No connection is made.
type PlainHTTPRefusedError struct{ Host string }

func (e *PlainHTTPRefusedError) Error() string {
	return fmt.Sprintf("refusing plain HTTP to %s (only loopback hosts and hosts listed as insecure may use it)", e.Host)
}

// TooLargeError is returned when a response body exceeds its cap.
type TooLargeError struct {
	What  string
	Limit int64
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("%s is larger than the %d-byte limit", e.What, e.Limit)
}

// newTransport builds the HTTP stack every registry request goes through:
//
//	guard (scheme rule, per-host TLS, manifest size cap) → timeout per request → network
//
// ggcr adds authentication, retries and the user agent on top.
func newTransport(o Options) http.RoundTripper {
	secure, insecure := o.transport, o.transport
	if secure == nil {
		secure = netTransport(o.Timeout, false)
		insecure = netTransport(o.Timeout, true)
	}
	return &guardTransport{
		opts:     o,
		secure:   &timeoutTransport{inner: secure, timeout: o.Timeout},
		insecure: &timeoutTransport{inner: insecure, timeout: o.Timeout},
	}
}

func netTransport(timeout time.Duration, skipVerify bool) *http.Transport {
	dialer := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          20,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   timeout,
		ResponseHeaderTimeout: timeout,
		ExpectContinueTimeout: time.Second,
		TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: skipVerify}, //nolint:gosec // only for hosts the user listed
	}
}

// guardTransport enforces the plain-HTTP rule before anything is dialled,
// picks the TLS policy per host and caps manifest bodies.
type guardTransport struct {
	opts             Options
	secure, insecure http.RoundTripper
}

func (g *guardTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	host := req.URL.Host
	inner := g.secure
	switch req.URL.Scheme {
	case "https":
		if g.opts.isListedInsecure(host) {
			inner = g.insecure
		}
	case "http":
		if !g.opts.AllowsPlainHTTP(host) {
			if req.Body != nil {
				req.Body.Close()
			}
			return nil, &PlainHTTPRefusedError{Host: host}
		}
	default:
		return nil, fmt.Errorf("refusing URL scheme %q for %s", req.URL.Scheme, host)
	}
	// Path only: signed blob redirect URLs carry credentials in the query.
	slog.Debug("registry request", "method", req.Method, "url", req.URL.Scheme+"://"+host+req.URL.Path)
	resp, err := inner.RoundTrip(req)
	if err != nil {
		slog.Debug("registry request failed", "method", req.Method, "host", host, "error", err)
		return nil, err
	}
	slog.Debug("registry response", "method", req.Method, "url", req.URL.Scheme+"://"+host+req.URL.Path, "status", resp.StatusCode)
	if req.Method == http.MethodGet && isManifestPath(req.URL.Path) {
		resp.Body = &cappedBody{rc: resp.Body, left: g.opts.MaxManifestSize,
			err: &TooLargeError{What: "manifest " + req.URL.Path, Limit: g.opts.MaxManifestSize}}
	}
	return resp, nil
}

// isManifestPath matches /v2/<name>/manifests/<reference>.
func isManifestPath(p string) bool {
	i := strings.LastIndex(p, "/manifests/")
	return strings.HasPrefix(p, "/v2/") && i > len("/v2") && !strings.Contains(p[i+len("/manifests/"):], "/")
}

// cappedBody fails with err once more than left bytes are read.
type cappedBody struct {
	rc   io.ReadCloser
	left int64
	err  error
}

func (c *cappedBody) Read(p []byte) (int, error) {
	if c.left < 0 {
		return 0, c.err
	}
	if int64(len(p)) > c.left+1 {
		p = p[:c.left+1]
	}
	n, err := c.rc.Read(p)
	c.left -= int64(n)
	if c.left < 0 {
		return n, c.err
	}
	return n, err
}

func (c *cappedBody) Close() error { return c.rc.Close() }

// timeoutTransport gives every request, reading its body included, at most
// timeout: a registry that drips bytes cannot hold a caller forever.
type timeoutTransport struct {
	inner   http.RoundTripper
	timeout time.Duration
}

func (t *timeoutTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithTimeoutCause(req.Context(), t.timeout,
		fmt.Errorf("%s %s: no complete answer within %s: %w", req.Method, req.URL.Host, t.timeout, context.DeadlineExceeded))
	resp, err := t.inner.RoundTrip(req.WithContext(ctx))
	if err != nil {
		if cause := context.Cause(ctx); cause != nil && ctx.Err() != nil && !errors.Is(err, cause) {
			err = fmt.Errorf("%w (%v)", cause, err)
		}
		cancel()
		return nil, err
	}
	resp.Body = &cancelBody{rc: resp.Body, ctx: ctx, cancel: cancel}
	return resp, nil
}

type cancelBody struct {
	rc     io.ReadCloser
	ctx    context.Context
	cancel context.CancelFunc
}

func (b *cancelBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if err != nil && err != io.EOF && b.ctx.Err() != nil {
		if cause := context.Cause(b.ctx); !errors.Is(err, cause) {
			err = fmt.Errorf("%w (%v)", cause, err)
		}
	}
	return n, err
}

func (b *cancelBody) Close() error {
	err := b.rc.Close()
	b.cancel()
	return err
}
