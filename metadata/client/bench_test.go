package client

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// BenchmarkVerifierRun measures one verifier run (New, Refresh, Target of a
// delegated version, Download of a link) over loopback HTTP, cold (no cache)
// and warm (cache holding the current metadata). The warm/cold ratio is
// reported: the cache saves three metadata downloads and their parsing.
func BenchmarkVerifierRun(b *testing.B) {
	r := newTestRepo(b)
	srv := httptest.NewServer(http.FileServer(http.Dir(r.dir)))
	defer srv.Close()
	run := func(cache string) {
		c, err := New(Options{TrustedRoot: r.rootBytes[1], Location: srv.URL, Now: r.now, CacheDir: cache})
		if err != nil {
			b.Fatal(err)
		}
		if _, _, err := c.Download(context.Background(), linkName, 0); err != nil {
			b.Fatal(err)
		}
		c.Close()
	}
	warmDir := b.TempDir()
	run(warmDir)
	b.ResetTimer()
	// Cold and warm runs alternate so that load from other processes on
	// the machine hits both alike.
	var cold, warm time.Duration
	for i := 0; i < b.N; i++ {
		start := time.Now()
		run("")
		mid := time.Now()
		run(warmDir)
		cold, warm = cold+mid.Sub(start), warm+time.Since(mid)
	}
	cold, warm = cold/time.Duration(b.N), warm/time.Duration(b.N)
	b.ReportMetric(float64(cold.Microseconds()), "cold-µs/run")
	b.ReportMetric(float64(warm.Microseconds()), "warm-µs/run")
	b.ReportMetric(float64(warm)/float64(cold), "warm/cold")
}
