package client

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/cnabsec/cnabsec/internal/fault"
)

// httpFetcher reads a repository served over HTTP(S) under base.
type httpFetcher struct {
	base        string // no trailing slash
	client      *http.Client
	readTimeout time.Duration
}

// errIdle is the cancel cause when no byte arrived within the read timeout.
type errIdle struct{ d time.Duration }

func (e errIdle) Error() string { return fmt.Sprintf("no data received for %s", e.d) }

// newHTTPClient is the default client: its own Transport (never
// http.DefaultClient or DefaultTransport), proxies from the environment,
// bounded connect, TLS handshake and response-header waits. The overall
// deadline comes from the request context.
func newHTTPClient(connect, read time.Duration) *http.Client {
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: connect, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   connect,
		ResponseHeaderTimeout: read,
		ExpectContinueTimeout: time.Second,
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConnsPerHost:   4,
		ForceAttemptHTTP2:     true,
	}
	return &http.Client{
		Transport: tr,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 5 {
				return fmt.Errorf("stopped after 5 redirects")
			}
			return nil
		},
	}
}

func (h *httpFetcher) url(name string) string {
	segs := strings.Split(name, "/")
	for i, s := range segs {
		segs[i] = escapeSegment(s)
	}
	return h.base + "/" + strings.Join(segs, "/")
}

// escapeSegment escapes one path segment for a URL, keeping "%XX" escapes
// as they are: metadata file names arrive already encoded (roleFile, as
// python-tuf quotes role names). A target name holding a literal "%XX" is
// then asked for by its decoded name, and refused by the hash check.
func escapeSegment(s string) string {
	var b strings.Builder
	for len(s) > 0 {
		i := strings.IndexByte(s, '%')
		if i < 0 || i+2 >= len(s) || !isHexByte(s[i+1]) || !isHexByte(s[i+2]) {
			if i < 0 {
				b.WriteString(url.PathEscape(s))
				break
			}
			b.WriteString(url.PathEscape(s[:i+1]))
			s = s[i+1:]
			continue
		}
		b.WriteString(url.PathEscape(s[:i]))
		b.WriteString(s[i : i+3])
		s = s[i+3:]
	}
	return b.String()
}

func isHexByte(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// Fetch GETs base/name. The request is cancelled when no byte arrives for
// readTimeout (covering connect, headers and body), and the body is read
// through ReadLimited.
func (h *httpFetcher) Fetch(ctx context.Context, name string, maxLen int64) ([]byte, error) {
	u := h.url(name)
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var idle *time.Timer
	if h.readTimeout > 0 {
		idle = time.AfterFunc(h.readTimeout, func() { cancel(errIdle{h.readTimeout}) })
		defer idle.Stop()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fault.Inputf("metadata location: bad URL %s: %w", u, err)
	}
	resp, err := h.client.Do(req)
	if err != nil {
		return nil, transportError(ctx, u, err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusOK:
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone:
		return nil, fmt.Errorf("%s: HTTP %d: %w", u, resp.StatusCode, ErrNotFound)
	default:
		return nil, fault.Inconclusivef("%s: HTTP %d %s", u, resp.StatusCode, http.StatusText(resp.StatusCode))
	}
	if resp.ContentLength > maxLen {
		return nil, endless(fmt.Sprintf("%s (Content-Length %d)", u, resp.ContentLength), maxLen)
	}
	body := &progressReader{r: resp.Body, idle: idle, d: h.readTimeout}
	data, err := ReadLimited(body, u, maxLen)
	if err != nil {
		if fault.KindOf(err) != fault.Unknown {
			return nil, err
		}
		return nil, transportError(ctx, u, err)
	}
	return data, nil
}

// transportError classifies a failed request or body read as Inconclusive,
// naming the timeout that fired when one did.
func transportError(ctx context.Context, u string, err error) error {
	if cause := context.Cause(ctx); cause != nil {
		var idle errIdle
		var dl errDeadline
		switch {
		case errors.As(cause, &idle), errors.As(cause, &dl):
			return fault.Inconclusivef("fetching %s: timed out: %v: slow or stalled server", u, cause)
		case errors.Is(cause, context.DeadlineExceeded):
			return fault.Inconclusivef("fetching %s: timed out (deadline exceeded)", u)
		case errors.Is(cause, context.Canceled):
			return fault.Inconclusivef("fetching %s: canceled", u)
		}
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err // the URL is already in our message
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() { // e.g. the transport's header timeout
		return fault.Inconclusivef("fetching %s: timed out: %v: slow or stalled server", u, err)
	}
	return fault.Inconclusivef("fetching %s: %v", u, err)
}

// progressReader pushes the idle deadline back whenever bytes arrive.
type progressReader struct {
	r    interface{ Read([]byte) (int, error) }
	idle *time.Timer
	d    time.Duration
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if n > 0 && p.idle != nil {
		p.idle.Reset(p.d)
	}
	return n, err
}
