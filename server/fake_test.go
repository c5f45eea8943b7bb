package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	dto "github.com/prometheus/client_model/go"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/verifier"
)

// entry is what the test verifier knows about one reference: the level its
// signed metadata achieves, or a fixed failure.
type entry struct {
	achieved verifier.Level // when kind is 0: the achieved level
	kind     fault.Kind     // Denied or Inconclusive: fail with reason
	reason   string
	digest   string // when set: the signed content; other content read by From is denied
}

// fakeVerifier is a deterministic Verifier: a table of normalized references
// to verdicts. A reference it does not know has no TUF target. It counts calls
// and detects concurrent refreshes.
type fakeVerifier struct {
	mu         sync.Mutex
	table      map[string]entry
	targets    []verifier.TargetRef
	state      verifier.State
	refreshErr error
	now        func() time.Time
	gate       chan struct{} // when non-nil, Verify waits for it to close

	verifyCalls   atomic.Int64
	refreshCalls  atomic.Int64
	targetsCalls  atomic.Int64
	refreshing    atomic.Int32
	overlapped    atomic.Bool
	refreshGate   chan struct{}
	seen          sync.Map // reference -> number of Verify calls
	lastRequested atomic.Pointer[verifier.Request]

	tags         map[string]string // tag -> digest the registry serves now
	resolveErr   error
	resolveCalls atomic.Int64
}

func newFake(table map[string]entry) *fakeVerifier {
	return &fakeVerifier{table: table, now: time.Now}
}

func (f *fakeVerifier) Verify(ctx context.Context, req verifier.Request) (*verifier.Report, error) {
	f.verifyCalls.Add(1)
	n, _ := f.seen.LoadOrStore(req.Reference, new(atomic.Int64))
	n.(*atomic.Int64).Add(1)
	r := req
	f.lastRequested.Store(&r)
	if f.gate != nil {
		select {
		case <-f.gate:
		case <-ctx.Done():
			return nil, fault.Inconclusivef("%s: %w", req.Reference, ctx.Err())
		}
	}
	f.mu.Lock()
	e, ok := f.table[req.Reference]
	f.mu.Unlock()
	lvl := req.Level
	if lvl == "" {
		lvl = verifier.Level2
	}
	rep := &verifier.Report{Reference: req.Reference, RequiredLevel: lvl, AchievedLevel: verifier.Level0}
	fail := func(err error) (*verifier.Report, error) {
		rep.Error = err.Error()
		rep.Checks = append(rep.Checks, verifier.Check{Name: "target", Subject: req.Reference, Status: verifier.Fail, Detail: err.Error()})
		return rep, err
	}
	switch {
	case !ok:
		return fail(fault.Deniedf("%s: no TUF target of that name in the trusted metadata", req.Reference))
	case e.kind == fault.Denied:
		return fail(fault.Deniedf("%s: %s", req.Reference, e.reason))
	case e.kind == fault.Inconclusive:
		return fail(fault.Inconclusivef("%s: %s", req.Reference, e.reason))
	}
	if _, d, ok := strings.Cut(req.From, "@"); ok && e.digest != "" && d != e.digest {
		return fail(fault.Deniedf("%s: content %s read from %s does not match the signed target (%s)", req.Reference, d, req.From, e.digest))
	}
	rep.AchievedLevel = e.achieved
	if !lvl.SatisfiedBy(e.achieved.Requires()) {
		return fail(fault.Deniedf("%s: achieved level %s does not meet the required level %s", req.Reference, e.achieved, lvl))
	}
	rep.Verified = true
	rep.Checks = append(rep.Checks, verifier.Check{Name: "target", Subject: req.Reference, Status: verifier.Pass})
	return rep, nil
}

// ResolveDigest answers from the tags table; a tag it does not list names
// content derived from its name, so that tests without tags see one stable
// digest per tag.
func (f *fakeVerifier) ResolveDigest(ctx context.Context, ref string) (string, error) {
	f.resolveCalls.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.resolveErr != nil {
		return "", f.resolveErr
	}
	if d, ok := f.tags[ref]; ok {
		return d, nil
	}
	sum := sha256.Sum256([]byte(ref))
	return "sha256:" + hex.EncodeToString(sum[:]), nil
}

// moveTag makes the registry serve other content for a tag.
func (f *fakeVerifier) moveTag(ref, digest string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.tags == nil {
		f.tags = map[string]string{}
	}
	f.tags[ref] = digest
}

func (f *fakeVerifier) Refresh(ctx context.Context) error {
	f.refreshCalls.Add(1)
	if f.refreshing.Add(1) > 1 {
		f.overlapped.Store(true)
	}
	defer f.refreshing.Add(-1)
	if f.refreshGate != nil {
		<-f.refreshGate
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.refreshErr != nil {
		return f.refreshErr
	}
	now := f.now()
	f.state.SnapshotVersion++
	f.state.TimestampVersion++
	f.state.RootVersion = 1
	f.state.RefreshedAt = now
	f.state.TimestampExpires = now.Add(24 * time.Hour)
	return nil
}

func (f *fakeVerifier) State() verifier.State {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.state
}

func (f *fakeVerifier) Targets(ctx context.Context) ([]verifier.TargetRef, error) {
	f.targetsCalls.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]verifier.TargetRef(nil), f.targets...), nil
}

func (f *fakeVerifier) set(ref string, e entry) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.table[ref] = e
}

func (f *fakeVerifier) setRefreshErr(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.refreshErr = err
}

func (f *fakeVerifier) calls(ref string) int64 {
	if n, ok := f.seen.Load(ref); ok {
		return n.(*atomic.Int64).Load()
	}
	return 0
}

func (f *fakeVerifier) String() string { return fmt.Sprintf("fake(%d entries)", len(f.table)) }

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// The real verifier is what the service runs on.
var _ Verifier = (*verifier.Verifier)(nil)

// checkerMisses is the number of verdict cache misses so far.
func (s *Service) checkerMisses() int {
	var m dto.Metric
	if err := s.checker.metrics.cacheMisses.Write(&m); err != nil {
		return 0
	}
	return int(m.GetCounter().GetValue())
}
