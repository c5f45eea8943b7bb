package server

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/verifier"
)

// trust keeps the service's one TUF state fresh: refreshed in the background
// every interval and on demand when stale (timestamp expired or refreshed
// longer than interval ago). Refreshes are never concurrent with each other:
// concurrent callers share one refresh.
type trust struct {
	v        Verifier
	interval time.Duration
	now      func() time.Time
	log      *slog.Logger
	metrics  *metrics

	mu        sync.Mutex // serializes Refresh calls
	sf        singleflight.Group
	ready     atomic.Bool
	lastErr   atomic.Pointer[string]
	lastFail  atomic.Int64 // unix nanoseconds of the last failed refresh
	onRefresh []func(ctx context.Context, st verifier.State)
}

func newTrust(v Verifier, interval time.Duration, now func() time.Time, log *slog.Logger, m *metrics) *trust {
	return &trust{v: v, interval: interval, now: now, log: log, metrics: m}
}

// refresh runs one refresh (or joins the one in flight).
func (t *trust) refresh(ctx context.Context) error {
	ch := t.sf.DoChan("refresh", func() (any, error) {
		t.mu.Lock()
		defer t.mu.Unlock()
		// The refresh outlives a caller that gives up; it is bounded by the
		// verifier's own timeouts and by this one.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
		defer cancel()
		err := t.v.Refresh(rctx)
		if err != nil {
			msg := err.Error()
			t.lastErr.Store(&msg)
			t.lastFail.Store(t.now().UnixNano())
			t.metrics.refreshes.WithLabelValues("error").Inc()
			t.log.Error("TUF refresh failed", "error", msg, "kind", fault.KindOf(err).String())
			return nil, err
		}
		t.lastErr.Store(nil)
		t.ready.Store(true)
		st := t.v.State()
		t.metrics.refreshes.WithLabelValues("ok").Inc()
		t.log.Info("TUF refresh", "snapshotVersion", st.SnapshotVersion, "timestampVersion", st.TimestampVersion, "timestampExpires", st.TimestampExpires)
		for _, f := range t.onRefresh {
			f(rctx, st)
		}
		return nil, nil
	})
	select {
	case r := <-ch:
		return r.Err
	case <-ctx.Done():
		return fault.Inconclusivef("TUF refresh: %w", ctx.Err())
	}
}

// stale reports whether the trusted state must be refreshed before use.
func (t *trust) stale(st verifier.State) bool {
	now := t.now()
	if !t.ready.Load() {
		return true
	}
	if !st.TimestampExpires.IsZero() && !now.Before(st.TimestampExpires) {
		return true
	}
	return t.interval > 0 && now.Sub(st.RefreshedAt) >= t.interval
}

// ensureFresh refreshes a stale state. It fails (inconclusive) only when no
// usable state exists: never refreshed, or the timestamp expired and the
// refresh failed. A failed refresh of a state that is merely older than the
// interval keeps the state (its metadata is still within its expiry).
func (t *trust) ensureFresh(ctx context.Context) error {
	st := t.v.State()
	if !t.stale(st) {
		return nil
	}
	usable := t.ready.Load() && (st.TimestampExpires.IsZero() || t.now().Before(st.TimestampExpires))
	if last := t.lastFail.Load(); last != 0 && t.now().Sub(time.Unix(0, last)) < retryBackoff {
		// A refresh failed a moment ago: do not make every request wait
		// for another attempt against a source that is down.
		if usable {
			return nil
		}
		return fault.Inconclusivef("no usable trusted TUF metadata: the last refresh failed: %s", t.lastError())
	}
	err := t.refresh(ctx)
	if err == nil {
		return nil
	}
	st = t.v.State()
	if !t.ready.Load() {
		return fault.Inconclusivef("no trusted TUF metadata yet: %w", err)
	}
	if !st.TimestampExpires.IsZero() && !t.now().Before(st.TimestampExpires) {
		return fault.Inconclusivef("trusted timestamp expired at %s and the refresh failed: %w", st.TimestampExpires.UTC().Format(time.RFC3339), err)
	}
	return nil
}

// retryBackoff is how long after a failed refresh requests do not trigger
// another one.
const retryBackoff = 5 * time.Second

func (t *trust) lastError() string {
	if p := t.lastErr.Load(); p != nil {
		return *p
	}
	return ""
}

// run refreshes every interval until ctx is done. The first refresh runs at
// once; until it succeeds the service is not ready and retries sooner.
func (t *trust) run(ctx context.Context) {
	wait := time.Duration(0)
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		err := t.refresh(ctx)
		wait = t.interval
		if err != nil && !t.ready.Load() {
			wait = min(t.interval, 5*time.Second)
		}
		if wait <= 0 {
			wait = time.Minute
		}
	}
}
