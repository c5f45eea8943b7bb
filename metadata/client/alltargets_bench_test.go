package client

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"
)

// BenchmarkAllTargets lists a repository of 2,000 versions over loopback
// HTTP, in one releases role (flat) and spread over 256 succinct hash bins,
// cold (no cache) and warm (delegated roles cached). Each listing is
// reported as a ratio to a plain Refresh measured in the same loop.
func BenchmarkAllTargets(b *testing.B) {
	const n = 2000
	build := func(bins int) *testRepo {
		r := newTestRepo(b)
		entry := func(i int) *metadata.TargetFiles {
			s := sha256.Sum256([]byte(fmt.Sprint(i)))
			return &metadata.TargetFiles{Length: 1, Hashes: metadata.Hashes{"sha256": s[:]}}
		}
		if bins == 0 {
			for i := 0; i < n; i++ {
				r.releases.Signed.Targets[fmt.Sprintf("example.com/org/app:%d", i)] = entry(i)
			}
		} else {
			k := r.releasesKeys[0]
			bits := 0
			for 1<<bits < bins {
				bits++
			}
			sr := &metadata.SuccinctRoles{KeyIDs: []string{k.Public().ID()}, Threshold: 1, BitLength: bits, NamePrefix: "bin"}
			r.releases.Signed.Delegations = &metadata.Delegations{Keys: map[string]*metadata.Key{k.Public().ID(): k.Public().TUFKey()}, SuccinctRoles: sr}
			for _, bin := range sr.GetRoles() {
				r.extra[bin] = metadata.Targets(r.now.Add(7 * 24 * time.Hour))
				r.extraKeys[bin] = r.releasesKeys
			}
			for i := 0; i < n; i++ {
				name := fmt.Sprintf("example.com/org/app:%d", i)
				r.extra[sr.GetRolesForTarget(name)[0].Name].Signed.Targets[name] = entry(i)
			}
		}
		r.bumpAll()
		return r
	}
	for _, tc := range []struct {
		name string
		bins int
	}{{"flat", 0}, {"bins256", 256}} {
		b.Run(tc.name, func(b *testing.B) {
			r := build(tc.bins)
			srv := httptest.NewServer(http.FileServer(http.Dir(r.dir)))
			defer srv.Close()
			warmDir := b.TempDir()
			newClient := func(cache string) *Client {
				c, err := New(Options{TrustedRoot: r.rootBytes[1], Location: srv.URL, Now: r.now, CacheDir: cache})
				if err != nil {
					b.Fatal(err)
				}
				return c
			}
			list := func(cache string) {
				c := newClient(cache)
				defer c.Close()
				all, err := c.AllTargets(context.Background())
				if err != nil {
					b.Fatal(err)
				}
				if len(all) != n+3 { // + the fixture's layout, version and link
					b.Fatalf("listed %d targets, want %d", len(all), n+3)
				}
			}
			list(warmDir)
			b.ResetTimer()
			var refresh, cold, warm time.Duration
			for i := 0; i < b.N; i++ {
				t0 := time.Now()
				c := newClient("")
				if err := c.Refresh(context.Background()); err != nil {
					b.Fatal(err)
				}
				c.Close()
				t1 := time.Now()
				list("")
				t2 := time.Now()
				list(warmDir)
				refresh, cold, warm = refresh+t1.Sub(t0), cold+t2.Sub(t1), warm+time.Since(t2)
			}
			b.ReportMetric(float64(cold.Milliseconds())/float64(b.N), "cold-ms/list")
			b.ReportMetric(float64(warm.Milliseconds())/float64(b.N), "warm-ms/list")
			b.ReportMetric(float64(cold)/float64(refresh), "cold/refresh")
			b.ReportMetric(float64(warm)/float64(refresh), "warm/refresh")
		})
	}
}
