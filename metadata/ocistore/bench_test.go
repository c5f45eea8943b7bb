package ocistore

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/cnabsec/cnabsec/bundle/oci"
	"github.com/cnabsec/cnabsec/internal/testing/registrytest"
	"github.com/cnabsec/cnabsec/internal/testing/testrepo"
	"github.com/cnabsec/cnabsec/keys"
	"github.com/cnabsec/cnabsec/metadata"
)

// benchRepo has n targets spread over 16 hash bins.
func benchRepo(b *testing.B, n int) *testrepo.Repo {
	b.Helper()
	r := testrepo.New(b, testrepo.WithBins(16), testrepo.WithDelegated("example.com/org/app"))
	r.Update(b, []keys.Signer{r.Releases}, func(tx *metadata.Tx) error {
		for i := 0; i < n; i++ {
			if err := tx.AddTarget(fmt.Sprintf("example.com/org/app:%d", i), metadata.TargetInfo{Content: []byte(fmt.Sprintf("release %d", i))}); err != nil {
				return err
			}
		}
		return nil
	})
	return r
}

// BenchmarkPush measures a first push of a repository with 256 targets and
// an unchanged re-push of it in the same run, and reports their ratio.
func BenchmarkPush(b *testing.B) {
	r := benchRepo(b, 256)
	reg := registrytest.New(b)
	ctx := context.Background()
	var first, again time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		repo := mustRepoB(b, reg, fmt.Sprintf("org/tuf%d", i))
		t0 := time.Now()
		if _, err := Push(ctx, r.Dir, repo, oci.Options{}); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		res, err := Push(ctx, r.Dir, repo, oci.Options{})
		if err != nil || res.Targets != 0 || len(res.Metadata) != 0 {
			b.Fatalf("re-push: %+v, %v", res, err)
		}
		first += t1.Sub(t0)
		again += time.Since(t1)
	}
	b.ReportMetric(float64(first.Milliseconds())/float64(b.N), "first-ms/op")
	b.ReportMetric(float64(again.Milliseconds())/float64(b.N), "repush-ms/op")
	b.ReportMetric(float64(again)/float64(first), "repush/first")
}

// BenchmarkRefreshAndDownload compares a fresh client's refresh and one
// target download from the registry with the same from the repository
// served over HTTP, in the same run.
func BenchmarkRefreshAndDownload(b *testing.B) {
	r := benchRepo(b, 256)
	reg := registrytest.New(b)
	if _, err := Push(context.Background(), r.Dir, mustRepoB(b, reg, "org/tuf"), oci.Options{}); err != nil {
		b.Fatal(err)
	}
	locs := map[string]string{"oci": "oci://" + reg.Ref("org/tuf"), "http": r.Serve(b)}
	took := map[string]time.Duration{}
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, kind := range []string{"http", "oci"} {
			t0 := time.Now()
			c, err := clientNew(r, locs[kind])
			if err != nil {
				b.Fatal(err)
			}
			if err := c.Refresh(ctx); err != nil {
				b.Fatal(err)
			}
			if _, _, err := c.Download(ctx, "example.com/org/app:7", 0); err != nil {
				b.Fatal(err)
			}
			c.Close()
			took[kind] += time.Since(t0)
		}
	}
	b.ReportMetric(float64(took["oci"].Microseconds())/float64(b.N), "oci-µs/op")
	b.ReportMetric(float64(took["http"].Microseconds())/float64(b.N), "http-µs/op")
	b.ReportMetric(float64(took["oci"])/float64(took["http"]), "oci/http")
}

// BenchmarkPushConcurrency compares a first push and an unchanged re-push
// with 2, 4 and 8 concurrent requests against one at a time, in the same
// run: on loopback, and with 5 ms added to every request (a registry across
// a network).
func BenchmarkPushConcurrency(b *testing.B) {
	for _, lat := range []time.Duration{0, 5 * time.Millisecond} {
		b.Run(fmt.Sprintf("latency=%s", lat), func(b *testing.B) {
			benchConcurrency(b, lat)
		})
	}
}

func benchConcurrency(b *testing.B, latency time.Duration) {
	r := benchRepo(b, 256)
	reg := registrytest.New(b, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			time.Sleep(latency)
			h.ServeHTTP(w, req)
		})
	})
	ctx := context.Background()
	defer func(w int) { pushWorkers = w }(pushWorkers)
	took := map[string]time.Duration{}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, w := range []int{1, 2, 4, 8} {
			pushWorkers = w
			repo := mustRepoB(b, reg, fmt.Sprintf("org/tuf-%d-%d", w, i))
			t0 := time.Now()
			if _, err := Push(ctx, r.Dir, repo, oci.Options{}); err != nil {
				b.Fatal(err)
			}
			t1 := time.Now()
			if _, err := Push(ctx, r.Dir, repo, oci.Options{}); err != nil {
				b.Fatal(err)
			}
			took[fmt.Sprintf("first%d", w)] += t1.Sub(t0)
			took[fmt.Sprintf("again%d", w)] += time.Since(t1)
		}
	}
	for _, w := range []int{2, 4, 8} {
		b.ReportMetric(float64(took[fmt.Sprintf("first%d", w)])/float64(took["first1"]), fmt.Sprintf("first-%d/1", w))
		b.ReportMetric(float64(took[fmt.Sprintf("again%d", w)])/float64(took["again1"]), fmt.Sprintf("repush-%d/1", w))
	}
}
