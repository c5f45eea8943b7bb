package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/cnabsec/cnabsec/internal/testing/peakrss"
	"github.com/cnabsec/cnabsec/verifier"
)

// loadResult is what one round of the load generator measured.
type loadResult struct {
	latencies []time.Duration
	elapsed   time.Duration
	statuses  map[int]int
	errors    int
}

func (r loadResult) p99() time.Duration {
	l := append([]time.Duration(nil), r.latencies...)
	sort.Slice(l, func(i, j int) bool { return l[i] < l[j] })
	return l[(len(l)*99)/100]
}

// merge adds another round's measurements.
func (r loadResult) merge(o loadResult) loadResult {
	if r.statuses == nil {
		r.statuses = map[int]int{}
	}
	r.latencies = append(r.latencies, o.latencies...)
	r.elapsed += o.elapsed
	for k, v := range o.statuses {
		r.statuses[k] += v
	}
	r.errors += o.errors
	return r
}

// generateLoad sends n requests from `workers` keep-alive clients; body(i)
// returns the method, path and body of request i.
func generateLoad(client *http.Client, base string, n, workers int, req func(i int) (string, string, []byte)) loadResult {
	res := loadResult{statuses: map[int]int{}}
	var mu sync.Mutex
	next := make(chan int)
	var wg sync.WaitGroup
	start := time.Now()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				method, path, body := req(i)
				t0 := time.Now()
				r, _ := http.NewRequest(method, base+path, bytes.NewReader(body))
				resp, err := client.Do(r)
				d := time.Since(t0)
				mu.Lock()
				if err != nil {
					res.errors++
				} else {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					res.statuses[resp.StatusCode]++
					res.latencies = append(res.latencies, d)
				}
				mu.Unlock()
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	res.elapsed = time.Since(start)
	return res
}

func benchService(b *testing.B) (*Service, *httptest.Server, *http.Client) {
	b.Helper()
	// Log every decision as `cnabsec --log-level info serve` does (JSON
	// lines; the default level logs less), to a sink that costs nothing.
	log := slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))
	s, err := New(Options{Verifier: newFake(allSigned()), Logger: log})
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Refresh(context.Background()); err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	b.Cleanup(srv.Close)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: 30 * time.Second}
	return s, srv, client
}

// BenchmarkAdmissionCachedP99VsHealthz compares the p99 latency and the
// throughput of cached /v1/admission reviews with /healthz on the same
// server under the same load generator (goal: p99 ratio <= 2, throughput
// ratio >= 0.5).
func BenchmarkAdmissionCachedP99VsHealthz(b *testing.B) {
	_, srv, client := benchService(b)
	review, err := os.ReadFile("testdata/admission/deployment.json")
	if err != nil {
		b.Fatal(err)
	}
	const n, workers = 6000, 8
	adm := func(int) (string, string, []byte) { return http.MethodPost, "/v1/admission", review }
	hz := func(int) (string, string, []byte) { return http.MethodGet, "/healthz", nil }
	generateLoad(client, srv.URL, 100, workers, adm) // warm the verdict cache and the connections
	var p99Ratio, tputRatio float64
	for b.Loop() {
		// Interleave short rounds so that both endpoints see the same
		// background load (the machine is shared).
		var h, a loadResult
		for range 10 {
			h = h.merge(generateLoad(client, srv.URL, n/10, workers, hz))
			a = a.merge(generateLoad(client, srv.URL, n/10, workers, adm))
		}
		if a.errors+h.errors > 0 || a.statuses[200] != n || h.statuses[200] != n {
			b.Fatalf("admission %v (%d errors), healthz %v (%d errors)", a.statuses, a.errors, h.statuses, h.errors)
		}
		p99Ratio = float64(a.p99()) / float64(h.p99())
		tputRatio = h.elapsed.Seconds() / a.elapsed.Seconds()
		b.Logf("p99 admission %v healthz %v; throughput admission %.0f/s healthz %.0f/s",
			a.p99(), h.p99(), float64(n)/a.elapsed.Seconds(), float64(n)/h.elapsed.Seconds())
	}
	b.ReportMetric(p99Ratio, "p99-ratio")
	b.ReportMetric(tputRatio, "throughput-ratio")
}

// rssMiB is the resident set size of this process.
func rssMiB(b *testing.B) float64 { return float64(peakrss.Current(b)) / (1 << 20) }

// BenchmarkRSSWithTenThousandCachedVerdicts fills the verdict cache with
// 10,000 verdicts (reports with checks) and reports the process RSS against
// the RSS before (goal: <= 150 MiB).
func BenchmarkRSSWithTenThousandCachedVerdicts(b *testing.B) {
	for b.Loop() {
		f := newFake(map[string]entry{})
		refs := make([]string, 10000)
		for i := range refs {
			refs[i] = fmt.Sprintf("registry.example.com/team/app-%05d@sha256:%064x", i, i)
			if i%2 == 0 {
				f.table[refs[i]] = entry{achieved: verifier.Level2}
			}
		}
		s, err := New(Options{Verifier: f})
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Refresh(context.Background()); err != nil {
			b.Fatal(err)
		}
		before := rssMiB(b)
		for _, r := range refs {
			s.checker.check(context.Background(), verifier.Request{Reference: r, Level: verifier.Level2, Image: true})
		}
		if n := s.checker.cache.Len(); n != 10000 {
			b.Fatalf("%d cached verdicts", n)
		}
		after := rssMiB(b)
		b.ReportMetric(after, "rss-MiB")
		b.ReportMetric(after-before, "rss-growth-MiB")
		b.ReportMetric(after/150, "rss-vs-150MiB-goal")
	}
}

// BenchmarkTenThousandRequestsTenPercentMalformed sends 10,000 admission
// requests of which 10% are malformed or oversized: every one is answered
// (200, 400 or 413) and the server keeps serving.
func BenchmarkTenThousandRequestsTenPercentMalformed(b *testing.B) {
	_, srv, client := benchService(b)
	review, err := os.ReadFile("testdata/admission/pod.json")
	if err != nil {
		b.Fatal(err)
	}
	oversized := bytes.Repeat([]byte("x"), MaxAdmissionBody+1)
	bad := [][]byte{[]byte("{"), []byte("null"), []byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}`), review[:len(review)/2]}
	const n = 10000
	for b.Loop() {
		before := heapMiB()
		res := generateLoad(client, srv.URL, n, 8, func(i int) (string, string, []byte) {
			switch {
			case i%40 == 0:
				return http.MethodPost, "/v1/admission", oversized
			case i%10 == 0:
				return http.MethodPost, "/v1/admission", bad[i%len(bad)]
			}
			return http.MethodPost, "/v1/admission", review
		})
		if res.errors > 0 || res.statuses[200] != n*9/10 || res.statuses[400]+res.statuses[413] != n/10 {
			b.Fatalf("statuses %v, %d transport errors", res.statuses, res.errors)
		}
		resp, err := client.Get(srv.URL + "/healthz")
		if err != nil || resp.StatusCode != 200 {
			b.Fatalf("server unhealthy after the load: %v", err)
		}
		resp.Body.Close()
		b.ReportMetric(float64(n)/res.elapsed.Seconds(), "req/s")
		b.ReportMetric(heapMiB()-before, "heap-growth-MiB")
	}
}

// heapMiB is the live heap after a collection.
func heapMiB() float64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return float64(m.HeapAlloc) / (1 << 20)
}

// BenchmarkSlowlorisClientsAreCutOff opens 100 connections that each send
// part of a request header and then nothing, against a server with a 500 ms
// header timeout, while a client keeps calling /healthz: every slow
// connection must be closed by the server, and the time it took is reported
// against the header timeout (goal: the slowest within 2x), with how many
// health checks were answered meanwhile.
func BenchmarkSlowlorisClientsAreCutOff(b *testing.B) {
	s, err := New(Options{Verifier: newFake(allSigned())})
	if err != nil {
		b.Fatal(err)
	}
	tm := DefaultTimeouts()
	tm.ReadHeader = 500 * time.Millisecond
	srv := httptest.NewUnstartedServer(s.Handler())
	srv.Config = NewHTTPServer(s.Handler(), tm, slog.New(slog.DiscardHandler))
	srv.Start()
	b.Cleanup(srv.Close)
	const slow = 100
	for b.Loop() {
		stop := make(chan struct{})
		healthy := make(chan int)
		go func() {
			n := 0
			defer func() { healthy <- n }()
			for {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := http.Get(srv.URL + "/healthz")
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode == http.StatusOK {
						n++
					}
				}
				time.Sleep(10 * time.Millisecond)
			}
		}()
		cutoffs := make([]time.Duration, slow)
		var wg sync.WaitGroup
		for i := range slow {
			wg.Add(1)
			go func() {
				defer wg.Done()
				conn, err := net.Dial("tcp", srv.Listener.Addr().String())
				if err != nil {
					b.Error(err)
					return
				}
				defer conn.Close()
				start := time.Now()
				conn.Write([]byte("POST /v1/admission HTTP/1.1\r\nHost: x\r\nX-Slow: "))
				// Far beyond the header timeout: a connection still open
				// then is a failure, not a hang.
				conn.SetReadDeadline(time.Now().Add(20 * time.Second))
				_, err = io.Copy(io.Discard, conn)
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					b.Errorf("slow connection %d still open after 20 s", i)
					return
				}
				cutoffs[i] = time.Since(start)
			}()
		}
		wg.Wait()
		close(stop)
		answered := <-healthy
		if b.Failed() {
			return
		}
		if answered == 0 {
			b.Fatal("no health check was answered while the slow clients held connections")
		}
		sort.Slice(cutoffs, func(i, j int) bool { return cutoffs[i] < cutoffs[j] })
		b.ReportMetric(float64(cutoffs[slow-1])/float64(tm.ReadHeader), "slowest-cutoff-vs-timeout")
		b.ReportMetric(float64(cutoffs[slow/2])/float64(tm.ReadHeader), "median-cutoff-vs-timeout")
		b.ReportMetric(float64(answered), "healthz-answered")
	}
}
