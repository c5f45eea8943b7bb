package verifier

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/cnabsec/cnabsec/bundle/oci"
	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/metadata/client"
	"github.com/cnabsec/cnabsec/metadata/ocistore"
)

// Verifier runs verifications against one trust root. It holds the trusted
// TUF state of its last refresh; Verify may run concurrently, Refresh swaps
// the state atomically. Services keep one; the CLI builds one per run.
type Verifier struct {
	cfg      Config
	ownCache string // temporary cache made when cfg.CacheDir is empty

	refreshMu sync.Mutex // one refresh at a time
	mu        sync.RWMutex
	tuf       *client.Client // nil until the first successful refresh, or without a trust root
	multi     *multiRepo     // with a TAP 4 map instead of tuf
	state     State

	// wrap, when set, interposes on target lookups (tests that play a
	// repository other tools could publish).
	wrap func(trustSource) trustSource

	gateOnce sync.Once
	gate     *semaphore.Weighted // provenanceGate: in-toto metadata in memory
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
	if cfg.Map != nil {
		if _, err := v.newMulti(); err != nil {
			v.Close()
			return nil, err
		}
	} else if len(cfg.TrustedRoot) > 0 {
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
	if v.multi != nil {
		v.multi.close()
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
	fetcher, err := ociFetcher(v.cfg.Fetcher, v.cfg.Location, v.cfg.Registry)
	if err != nil {
		return nil, err
	}
	return client.New(client.Options{
		TrustedRoot: v.cfg.TrustedRoot,
		Location:    v.cfg.Location,
		Fetcher:     fetcher,
		CacheDir:    v.cfg.CacheDir,
		Timeout:     v.cfg.Timeout,
		Now:         now,
	})
}

// HasTrustRoot reports whether TUF verification is possible.
func (v *Verifier) HasTrustRoot() bool { return len(v.cfg.TrustedRoot) > 0 || v.cfg.Map != nil }

// newMulti makes one client per repository of the TAP 4 map.
func (v *Verifier) newMulti() (*multiRepo, error) {
	now := v.cfg.Now
	if now.IsZero() {
		now = time.Now()
	}
	mr := &multiRepo{m: v.cfg.Map, clients: map[string]*client.Client{}, now: now.UTC()}
	for name, urls := range v.cfg.Map.Repositories {
		fetcher, err := ociFetcher(nil, urls[0], v.cfg.Registry)
		if err != nil {
			mr.close()
			return nil, fmt.Errorf("map repository %s: %w", name, err)
		}
		c, err := client.New(client.Options{
			TrustedRoot: v.cfg.MapRoots[name],
			Location:    urls[0],
			Fetcher:     fetcher,
			CacheDir:    v.cfg.CacheDir,
			Timeout:     v.cfg.Timeout,
			Now:         now,
		})
		if err != nil {
			mr.close()
			return nil, fmt.Errorf("map repository %s: %w", name, err)
		}
		mr.clients[name] = c
	}
	return mr, nil
}

// refreshMulti refreshes every repository of the map and swaps them in.
func (v *Verifier) refreshMulti(ctx context.Context) error {
	mr, err := v.newMulti()
	if err != nil {
		return err
	}
	if err := mr.refresh(ctx); err != nil {
		mr.close()
		return err
	}
	v.mu.Lock()
	old := v.multi
	v.multi, v.state = mr, State{RefreshedAt: time.Now().UTC()}
	v.mu.Unlock()
	if old != nil {
		old.close()
	}
	return nil
}

// source returns what target lookups use: the current client, or the
// repositories of the map, refreshing first when there is none.
func (v *Verifier) source(ctx context.Context) (trustSource, error) {
	if v.cfg.Map != nil {
		v.mu.RLock()
		mr := v.multi
		v.mu.RUnlock()
		if mr != nil {
			return mr, nil
		}
		if err := v.Refresh(ctx); err != nil {
			return nil, err
		}
		v.mu.RLock()
		defer v.mu.RUnlock()
		return v.multi, nil
	}
	c, err := v.trusted(ctx)
	if err != nil {
		return nil, err
	}
	if v.wrap != nil {
		return v.wrap(c), nil
	}
	return c, nil
}

// Refresh downloads and verifies new TUF metadata and makes it the trusted
// state. On failure the previous state stays.
func (v *Verifier) Refresh(ctx context.Context) error {
	if !v.HasTrustRoot() {
		return fault.Inputf("no trusted root: TUF metadata cannot be refreshed")
	}
	v.refreshMu.Lock()
	defer v.refreshMu.Unlock()
	if v.cfg.Map != nil {
		return v.refreshMulti(ctx)
	}
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

// ociFetcher returns f, or for an oci:// location a fetcher that follows the
// registry settings (--insecure-registry, timeouts, credentials); other
// locations are left to the client.
func ociFetcher(f client.Fetcher, location string, reg oci.Options) (client.Fetcher, error) {
	if f != nil || !strings.HasPrefix(location, "oci://") {
		return f, nil
	}
	return ocistore.NewFetcher(location, reg)
}
