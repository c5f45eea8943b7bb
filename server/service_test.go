package server

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/verifier"
)

func verifyCall(t *testing.T, s *Service, body string) (int, verifier.Report) {
	t.Helper()
	rec := post(t, s.Handler(), "/v1/verify", []byte(body))
	var rep verifier.Report
	if rec.Code == http.StatusOK || rec.Code == http.StatusServiceUnavailable {
		if err := json.Unmarshal(rec.Body.Bytes(), &rep); err != nil {
			t.Fatalf("HTTP %d body is not a report: %v: %s", rec.Code, err, rec.Body)
		}
	} else {
		rep.Error = rec.Body.String()
	}
	return rec.Code, rep
}

func TestVerifyEndpointAnswers200ForVerifiedAndForDenied(t *testing.T) {
	f := newFake(allSigned())
	s := newTestService(t, f, Options{})
	code, rep := verifyCall(t, s, `{"reference":"registry.example.com/app/web:1.0","level":"2"}`)
	if code != http.StatusOK || !rep.Verified || rep.AchievedLevel != verifier.Level2 {
		t.Fatalf("signed: HTTP %d %+v", code, rep)
	}
	code, rep = verifyCall(t, s, `{"reference":"registry.example.com/app/web:1.0","level":"4"}`)
	if code != http.StatusOK || rep.Verified || !strings.Contains(rep.Error, "achieved level 2 does not meet the required level 4") {
		t.Fatalf("level not met: HTTP %d %+v", code, rep)
	}
	code, rep = verifyCall(t, s, `{"reference":"registry.example.com/app/evil:1.0"}`)
	if code != http.StatusOK || rep.Verified || rep.RequiredLevel != verifier.Level2 || !strings.Contains(rep.Error, "no TUF target") {
		t.Fatalf("unsigned: HTTP %d %+v", code, rep)
	}
	// Short names are normalized before they become target names.
	if code, rep = verifyCall(t, s, `{"reference":"nginx:1.25","image":true}`); code != http.StatusOK || !rep.Verified || rep.Reference != nginxRef {
		t.Fatalf("short name: HTTP %d %+v", code, rep)
	}
}

func TestVerifyEndpointAnswers503WhenInconclusive(t *testing.T) {
	table := allSigned()
	table[webRef] = entry{kind: fault.Inconclusive, reason: "GET https://registry.example.com/v2/: HTTP 502"}
	s := newTestService(t, newFake(table), Options{})
	code, rep := verifyCall(t, s, `{"reference":"registry.example.com/app/web:1.0"}`)
	if code != http.StatusServiceUnavailable || rep.Verified || !strings.Contains(rep.Error, "HTTP 502") {
		t.Fatalf("HTTP %d %+v", code, rep)
	}
}

func TestVerifyEndpointRefusesBadRequestsWith400(t *testing.T) {
	f := newFake(allSigned())
	s := newTestService(t, f, Options{})
	for body, want := range map[string]string{
		`{"level":"2"}`: "reference: missing",
		`{"reference":"registry.example.com/app/web:1.0","level":"5"}`: `security level \"5\"`,
		`{"reference":"registry.example.com/app/web:1.0","levle":"4"}`: `unknown field \"levle\"`,
		`{"reference":"UPPER/Case::x"}`:                                "reference:",
		`not json`:                                                     "not the expected JSON",
		`{"reference":"a/b:1"} {"reference":"c/d:1"}`:                  "trailing data",
	} {
		code, rep := verifyCall(t, s, body)
		if code != http.StatusBadRequest || !strings.Contains(rep.Error, want) {
			t.Errorf("%s: HTTP %d %s; want 400 with %s", body, code, rep.Error, want)
		}
	}
	big := `{"reference":"` + strings.Repeat("a", MaxVerifyBody) + `"}`
	if code, _ := verifyCall(t, s, big); code != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized verify body: HTTP %d, want 413", code)
	}
	if f.verifyCalls.Load() != 0 {
		t.Fatalf("bad requests reached the verifier %d times", f.verifyCalls.Load())
	}
}

func TestReadyzOnlyAfterFirstSuccessfulRefresh(t *testing.T) {
	f := newFake(allSigned())
	f.setRefreshErr(fault.Inconclusivef("fetching 2.root.json: connection refused"))
	s, err := New(Options{Verifier: f})
	if err != nil {
		t.Fatal(err)
	}
	get := func(path string) (int, string) {
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		return rec.Code, rec.Body.String()
	}
	if code, _ := get("/healthz"); code != http.StatusOK {
		t.Fatalf("healthz %d", code)
	}
	if code, body := get("/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "no successful TUF refresh yet") {
		t.Fatalf("readyz before any refresh: %d %s", code, body)
	}
	if err := s.Refresh(context.Background()); err == nil {
		t.Fatal("refresh should fail")
	}
	if code, body := get("/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "connection refused") {
		t.Fatalf("readyz after a failed refresh: %d %s", code, body)
	}
	f.setRefreshErr(nil)
	if err := s.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if code, _ := get("/readyz"); code != http.StatusOK {
		t.Fatalf("readyz after a successful refresh: %d", code)
	}
	// A later failure does not make a service with valid metadata unready.
	f.setRefreshErr(errors.New("boom"))
	s.Refresh(context.Background())
	if code, _ := get("/readyz"); code != http.StatusOK {
		t.Fatalf("readyz after a later failed refresh: %d", code)
	}
}

func TestVerdictCacheIsInvalidatedByANewSnapshotVersion(t *testing.T) {
	f := newFake(allSigned())
	s := newTestService(t, f, Options{})
	for range 3 {
		if code, rep := verifyCall(t, s, `{"reference":"registry.example.com/app/web:1.0"}`); code != 200 || !rep.Verified {
			t.Fatalf("HTTP %d %+v", code, rep)
		}
	}
	if f.calls(webRef) != 1 {
		t.Fatalf("3 identical requests verified %d times, want 1 (cached)", f.calls(webRef))
	}
	// The target is revoked in a new snapshot: the cached "verified" must not survive it.
	f.set(webRef, entry{kind: fault.Denied, reason: "revoked"})
	if err := s.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if code, rep := verifyCall(t, s, `{"reference":"registry.example.com/app/web:1.0"}`); code != 200 || rep.Verified || !strings.Contains(rep.Error, "revoked") {
		t.Fatalf("after the new snapshot: HTTP %d %+v", code, rep)
	}
	if f.calls(webRef) != 2 {
		t.Fatalf("verified %d times, want 2", f.calls(webRef))
	}
	// The level is part of the key.
	verifyCall(t, s, `{"reference":"registry.example.com/app/web:1.0","level":"1a"}`)
	if f.calls(webRef) != 3 {
		t.Fatalf("another level reused a verdict: %d calls", f.calls(webRef))
	}
}

func TestInconclusiveVerdictsAreNotCached(t *testing.T) {
	table := allSigned()
	table[webRef] = entry{kind: fault.Inconclusive, reason: "timeout"}
	f := newFake(table)
	s := newTestService(t, f, Options{})
	verifyCall(t, s, `{"reference":"registry.example.com/app/web:1.0"}`)
	f.set(webRef, entry{achieved: verifier.Level2})
	if code, rep := verifyCall(t, s, `{"reference":"registry.example.com/app/web:1.0"}`); code != 200 || !rep.Verified {
		t.Fatalf("the retry after an inconclusive verdict reused it: HTTP %d %+v", code, rep)
	}
}

func TestVerdictCacheEntriesExpireAfterTTL(t *testing.T) {
	f := newFake(allSigned())
	s := newTestService(t, f, Options{Policy: mustPolicy(t, "cacheTTL: 20ms\n", verifier.Level2)})
	verifyCall(t, s, `{"reference":"registry.example.com/app/web:1.0"}`)
	time.Sleep(100 * time.Millisecond) // not an assertion on time: only lets the TTL pass
	verifyCall(t, s, `{"reference":"registry.example.com/app/web:1.0"}`)
	if f.calls(webRef) != 2 {
		t.Fatalf("verified %d times, want 2 (the verdict expired)", f.calls(webRef))
	}
}

func TestVerdictCacheIsBoundedInSize(t *testing.T) {
	f := newFake(allSigned())
	s := newTestService(t, f, Options{Policy: mustPolicy(t, "cacheSize: 2\n", verifier.Level2)})
	for _, ref := range []string{webRef, nginxRef, migrateRef} {
		verifyCall(t, s, `{"reference":"`+ref+`"}`)
	}
	if n := s.checker.cache.Len(); n != 2 {
		t.Fatalf("cache holds %d verdicts, bound 2", n)
	}
	verifyCall(t, s, `{"reference":"`+webRef+`"}`) // the least recently used was evicted
	if f.calls(webRef) != 2 {
		t.Fatalf("evicted verdict reused: %d calls", f.calls(webRef))
	}
}

func TestConcurrentIdenticalRequestsCollapseIntoOneVerification(t *testing.T) {
	f := newFake(allSigned())
	f.gate = make(chan struct{})
	s := newTestService(t, f, Options{})
	const n = 32
	var wg sync.WaitGroup
	codes := make([]int, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rec := post(t, s.Handler(), "/v1/verify", []byte(`{"reference":"registry.example.com/app/web:1.0"}`))
			codes[i] = rec.Code
		}()
	}
	// Release the one verification once every request has missed the cache.
	for s.checkerMisses() < n {
		time.Sleep(time.Millisecond)
	}
	close(f.gate)
	wg.Wait()
	for i, c := range codes {
		if c != http.StatusOK {
			t.Fatalf("request %d: HTTP %d", i, c)
		}
	}
	if got := f.verifyCalls.Load(); got != 1 {
		t.Fatalf("%d concurrent identical requests ran %d verifications, want 1", n, got)
	}
}

func TestStaleStateIsRefreshedOnDemand(t *testing.T) {
	clock := newClock()
	f := newFake(allSigned())
	f.now = clock.Now
	s := newTestService(t, f, Options{Now: clock.Now, RefreshInterval: time.Minute})
	verifyCall(t, s, `{"reference":"registry.example.com/app/web:1.0"}`)
	if f.refreshCalls.Load() != 1 {
		t.Fatalf("%d refreshes, want 1", f.refreshCalls.Load())
	}
	clock.Advance(61 * time.Second)
	verifyCall(t, s, `{"reference":"registry.example.com/app/web:1.0"}`)
	if f.refreshCalls.Load() != 2 || f.State().SnapshotVersion != 2 {
		t.Fatalf("a state older than the interval was used without a refresh (%d refreshes)", f.refreshCalls.Load())
	}
}

func TestFreezeAttackExpiredTimestampWithFailedRefreshIsInconclusive(t *testing.T) {
	clock := newClock()
	f := newFake(allSigned())
	f.now = clock.Now
	s := newTestService(t, f, Options{Now: clock.Now, RefreshInterval: time.Hour})
	// The metadata source is now blocked (or frozen) past the timestamp's expiry.
	f.setRefreshErr(fault.Inconclusivef("fetching timestamp.json: HTTP 503"))
	clock.Advance(25 * time.Hour)
	code, rep := verifyCall(t, s, `{"reference":"registry.example.com/app/web:1.0"}`)
	if code != http.StatusServiceUnavailable || !strings.Contains(rep.Error, "trusted timestamp expired at 2026-11-28T12:00:00Z and the refresh failed") {
		t.Fatalf("HTTP %d %+v", code, rep)
	}
	if f.verifyCalls.Load() != 0 {
		t.Fatal("verified against an expired timestamp")
	}
}

func TestFailedRefreshWithinExpiryKeepsServing(t *testing.T) {
	clock := newClock()
	f := newFake(allSigned())
	f.now = clock.Now
	s := newTestService(t, f, Options{Now: clock.Now, RefreshInterval: time.Minute})
	f.setRefreshErr(fault.Inconclusivef("metadata server down"))
	clock.Advance(2 * time.Minute)
	if code, rep := verifyCall(t, s, `{"reference":"registry.example.com/app/web:1.0"}`); code != 200 || !rep.Verified {
		t.Fatalf("HTTP %d %+v", code, rep)
	}
	// The next request within the back-off does not retry the refresh.
	verifyCall(t, s, `{"reference":"registry.example.com/app/nginx:1"}`)
	if f.refreshCalls.Load() != 2 {
		t.Fatalf("%d refreshes, want 2 (one failed, then back-off)", f.refreshCalls.Load())
	}
}

func TestRefreshIsNeverConcurrentWithItself(t *testing.T) {
	f := newFake(allSigned())
	f.refreshGate = make(chan struct{})
	s, err := New(Options{Verifier: f})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() { defer wg.Done(); s.Refresh(context.Background()) }()
	}
	for f.refreshCalls.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	close(f.refreshGate)
	wg.Wait()
	if f.overlapped.Load() {
		t.Fatal("two refreshes ran at the same time")
	}
	if !s.Ready() {
		t.Fatal("not ready after a successful refresh")
	}
}

func TestMetricsExposeRequestsLatencyCacheAndTUFState(t *testing.T) {
	f := newFake(allSigned())
	s := newTestService(t, f, Options{})
	verifyCall(t, s, `{"reference":"registry.example.com/app/web:1.0"}`)
	verifyCall(t, s, `{"reference":"registry.example.com/app/web:1.0"}`)
	verifyCall(t, s, `{"reference":"registry.example.com/app/evil:1"}`)
	admitReview(t, s, readReview(t, "pod"))
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, want := range []string{
		`cnabsec_requests_total{endpoint="verify",verdict="verified"} 2`,
		`cnabsec_requests_total{endpoint="verify",verdict="denied"} 1`,
		`cnabsec_requests_total{endpoint="admission",verdict="allowed"} 1`,
		`cnabsec_request_duration_seconds_count{endpoint="verify"} 3`,
		`cnabsec_verdict_cache_hits_total 1`,
		`cnabsec_verdict_cache_misses_total 6`,
		`cnabsec_tuf_snapshot_version 1`,
		`cnabsec_tuf_metadata_age_seconds `,
		`cnabsec_tuf_refreshes_total{result="ok"} 1`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

func TestRunRefreshesInTheBackgroundUntilCancelled(t *testing.T) {
	f := newFake(allSigned())
	s, err := New(Options{Verifier: f, RefreshInterval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	for f.refreshCalls.Load() < 3 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	<-done
	if !s.Ready() {
		t.Fatal("not ready")
	}
}

// TestServiceBundleLevelOnAnImageIs400: a bundle level (1b, 3b) on an image
// checks nothing it stands for; it is a bad request, never a verdict.
func TestServiceBundleLevelOnAnImageIs400(t *testing.T) {
	f := newFake(allSigned())
	s := newTestService(t, f, Options{})
	for _, lvl := range []string{"1b", "3b"} {
		code, rep := verifyCall(t, s, `{"reference":"registry.example.com/app/evil:1.0","image":true,"level":"`+lvl+`"}`)
		if code != http.StatusBadRequest || !strings.Contains(rep.Error, "level "+lvl+" on an image") {
			t.Errorf("level %s: HTTP %d %s; want 400 naming the level", lvl, code, rep.Error)
		}
	}
	if f.verifyCalls.Load() != 0 {
		t.Fatalf("the refused requests reached the verifier %d times", f.verifyCalls.Load())
	}
}
