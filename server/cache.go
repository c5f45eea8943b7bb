package server

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/golang-lru/v2/expirable"
	"golang.org/x/sync/singleflight"

	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/verifier"
)

// verifyTimeout bounds one verification shared by collapsed requests.
const verifyTimeout = 2 * time.Minute

// verdict is the outcome of one verification: the report and the gate error.
type verdict struct {
	report *verifier.Report
	err    error
}

// cacheKey identifies a verdict: what was verified (the reference and, for a
// tag, the content it was read by: REPO@DIGEST), the level it had to meet and
// the trusted snapshot it was verified against. A new snapshot version, or a
// tag now naming other content, therefore never reuses an older verdict.
type cacheKey struct {
	reference string
	from      string
	level     verifier.Level
	image     bool
	snapshot  int64
}

func keyOf(req verifier.Request, snapshot int64) cacheKey {
	return cacheKey{reference: req.Reference, from: req.From, level: req.Level, image: req.Image, snapshot: snapshot}
}

func (k cacheKey) String() string {
	return fmt.Sprintf("%s|%s|%s|%t|%d", k.reference, k.from, k.level, k.image, k.snapshot)
}

// checker verifies through a verdict cache (LRU with TTL) and collapses
// concurrent identical requests into one verification. Inconclusive verdicts
// are never cached.
type checker struct {
	v       Verifier
	trust   *trust
	cache   *expirable.LRU[cacheKey, verdict]
	sf      singleflight.Group
	metrics *metrics
}

func newChecker(v Verifier, t *trust, size int, ttl time.Duration, m *metrics) *checker {
	return &checker{v: v, trust: t, cache: expirable.NewLRU[cacheKey, verdict](size, nil, ttl), metrics: m}
}

// lookup answers req from the verdict cache alone: ok is false when the
// trusted state must be refreshed first or no verdict is cached (then call
// check). It runs no verification and starts no goroutine, so an admission
// request whose images are all cached is answered on the caller's goroutine.
func (c *checker) lookup(req verifier.Request) (v verdict, ok bool) {
	st := c.v.State()
	if c.trust.stale(st) {
		return verdict{}, false
	}
	v, ok = c.cache.Get(keyOf(req, st.SnapshotVersion))
	if ok {
		c.metrics.cacheHits.Inc()
	}
	return v, ok
}

// check verifies req against the trusted state, refreshing a stale state
// first. The report is never nil. The error is nil when verified and carries a
// fault kind otherwise.
func (c *checker) check(ctx context.Context, req verifier.Request) (*verifier.Report, error) {
	if err := c.trust.ensureFresh(ctx); err != nil {
		return failedReport(req, err), err
	}
	key := keyOf(req, c.v.State().SnapshotVersion)
	if v, ok := c.cache.Get(key); ok {
		c.metrics.cacheHits.Inc()
		return v.report, v.err
	}
	c.metrics.cacheMisses.Inc()
	ch := c.sf.DoChan(key.String(), func() (any, error) {
		// A flight that finished between our cache miss and this call has
		// left its verdict in the cache: do not verify again.
		if v, ok := c.cache.Peek(key); ok {
			return v, nil
		}
		vctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), verifyTimeout)
		defer cancel()
		rep, err := c.v.Verify(vctx, req)
		if err != nil && fault.KindOf(err) == fault.Unknown {
			// An unclassified error is not evidence against the artifact;
			// treat it as inconclusive (and so never cache it).
			err = fault.Inconclusivef("%w", err)
		}
		if rep == nil {
			rep = failedReport(req, err)
		}
		v := verdict{report: rep, err: err}
		kind := "verified"
		if err != nil {
			kind = fault.KindOf(err).String()
		}
		c.metrics.verifications.WithLabelValues(kind).Inc()
		// Cache only conclusive verdicts, and only under the snapshot they
		// were reached with (a refresh during the verification makes the key
		// unreachable anyway, but it must not carry a verdict of another state).
		if (err == nil || fault.KindOf(err) == fault.Denied) && c.v.State().SnapshotVersion == key.snapshot {
			c.cache.Add(key, v)
		}
		return v, nil
	})
	select {
	case r := <-ch:
		v := r.Val.(verdict)
		return v.report, v.err
	case <-ctx.Done():
		err := fault.Inconclusivef("verification of %s: %w", req.Reference, ctx.Err())
		return failedReport(req, err), err
	}
}

// failedReport is the report of a verification that did not run to its end.
func failedReport(req verifier.Request, err error) *verifier.Report {
	rep := &verifier.Report{Reference: req.Reference, RequiredLevel: req.Level, AchievedLevel: verifier.Level0, Checks: []verifier.Check{}}
	if err != nil {
		rep.Error = err.Error()
		rep.Outcome = verifier.OutcomeOf(err)
		if fault.KindOf(err) == fault.Inconclusive {
			rep.Error = "inconclusive: " + rep.Error
		}
	}
	return rep
}

// pin returns req (for img) reading its content by the digest the registry serves for
// its tag now (From = REPO@DIGEST), so that the verdict cache, keyed by it,
// answers only for that content: a tag moved to other content since a cached
// verdict is verified again. Digest references, and requests that already
// name where to read from, are returned unchanged. A registry that cannot be
// asked makes the request inconclusive (fail closed).
func (c *checker) pin(ctx context.Context, req verifier.Request, img image) (verifier.Request, error) {
	if req.From != "" || img.byDigest {
		return req, nil
	}
	d, err := c.v.ResolveDigest(ctx, req.Reference)
	if err != nil {
		if fault.KindOf(err) == fault.Unknown {
			err = fault.Inconclusivef("%w", err)
		}
		// The wrapped error keeps its kind.
		return req, fmt.Errorf("reading which content tag %s names now: %w", req.Reference, err)
	}
	if d != "" {
		req.From = img.repo + "@" + d
	}
	return req, nil
}
