package verifier

import (
	"context"
	"os"
	"sync"
	"time"

	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/metadata/client"
)

// Verifier runs verifications against one trust root. It holds the trusted
// TUF state of its last refresh; Verify may run concurrently, Refresh swaps
// the state atomically. Services keep one; the CLI uses the one-shot Verify.
type Verifier struct {
	cfg      Config
	ownCache string // temporary cache made when cfg.CacheDir is empty

	refreshMu sync.Mutex // one refresh at a time
	mu        sync.RWMutex
	tuf       *client.Client // nil until the first successful refresh, or without a trust root
	state     State
}

// New prepares a Verifier. It does no network I/O: call Refresh (Verify
// refreshes on first use).
func New(cfg Config) (*Verifier, error) { return newVerifier(cfg, true) }

// newVerifier makes a Verifier; keepState gives one without a CacheDir a
// private cache so that it never forgets the versions it has seen between
// refreshes (a one-shot verification refreshes once and needs none).
func newVerifier(cfg Config, keepState bool) (*Verifier, error) {
	v := &Verifier{cfg: cfg}
	if keepState && len(cfg.TrustedRoot) > 0 && cfg.CacheDir == "" {
		// A long-lived verifier must not forget the versions it has seen
		// between refreshes: keep them in a private cache.
		dir, err := os.MkdirTemp("", "cnabsec-tuf-")
		if err != nil {
			return nil, fault.Inputf("temporary TUF cache: %w", err)
		}
		v.ownCache, v.cfg.CacheDir = dir, dir
	}
	if len(cfg.TrustedRoot) > 0 {
		// Validate the trust root and location now: bad input is exit 2.
		if _, err := v.newClient(); err != nil {
			v.Close()
			return nil, err
		}
	}
	return v, nil
}

// Close removes what the Verifier made on disk.
func (v *Verifier) Close() error {
	v.mu.Lock()
	if v.tuf != nil {
		v.tuf.Close()
	}
	v.mu.Unlock()
	if v.ownCache != "" {
		return os.RemoveAll(v.ownCache)
	}
	return nil
}

func (v *Verifier) newClient() (*client.Client, error) {
	now := v.cfg.Now
	if now.IsZero() {
		now = time.Now()
	}
	return client.New(client.Options{
		TrustedRoot: v.cfg.TrustedRoot,
		Location:    v.cfg.Location,
		Fetcher:     v.cfg.Fetcher,
		CacheDir:    v.cfg.CacheDir,
		Timeout:     v.cfg.Timeout,
		Now:         now,
	})
}

// HasTrustRoot reports whether TUF verification is possible.
func (v *Verifier) HasTrustRoot() bool { return len(v.cfg.TrustedRoot) > 0 }

// Refresh downloads and verifies new TUF metadata and makes it the trusted
// state. On failure the previous state stays.
func (v *Verifier) Refresh(ctx context.Context) error {
	if !v.HasTrustRoot() {
		return fault.Inputf("no trusted root: TUF metadata cannot be refreshed")
	}
	v.refreshMu.Lock()
	defer v.refreshMu.Unlock()
	c, err := v.newClient()
	if err != nil {
		return err
	}
	if err := c.Refresh(ctx); err != nil {
		return err
	}
	st := State{
		RootVersion:      c.TrustedRootVersion(),
		TimestampVersion: c.TrustedTimestampVersion(),
		SnapshotVersion:  c.TrustedSnapshotVersion(),
		TargetsVersion:   c.TrustedTargetsVersion(),
		RefreshedAt:      time.Now().UTC(),
	}
	for _, r := range c.Roles() {
		if r.Role == "timestamp" {
			st.TimestampExpires = r.Expires
		}
	}
	v.mu.Lock()
	old := v.tuf
	v.tuf, v.state = c, st
	v.mu.Unlock()
	if old != nil {
		// In-flight verifications holding old finish with it; Close only
		// drops its idle connections.
		old.Close()
	}
	return nil
}

// State returns the trusted TUF state of the last refresh.
func (v *Verifier) State() State {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.state
}

// trusted returns the current TUF client, refreshing first when there is none.
func (v *Verifier) trusted(ctx context.Context) (*client.Client, error) {
	v.mu.RLock()
	c := v.tuf
	v.mu.RUnlock()
	if c != nil {
		return c, nil
	}
	if err := v.Refresh(ctx); err != nil {
		return nil, err
	}
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.tuf, nil
}

// Verify runs the CNAB-Sec 303 workflow for one reference. The report is
// always returned (also with the error); the error is nil exactly when the
// reference verified at the required level, else its kind says denied
// (fault.Denied), inconclusive (fault.Inconclusive) or bad input (fault.Input).
func Verify(ctx context.Context, ref string, opts ...Option) (*Report, error) {
	o := &oneShot{}
	for _, opt := range opts {
		opt(o)
	}
	o.req.Reference = ref
	v, err := newVerifier(o.cfg, false)
	if err != nil {
		r := newReport(o.req)
		r.fail("configuration", ref, err)
		return r.finish(err)
	}
	defer v.Close()
	return v.Verify(ctx, o.req)
}
