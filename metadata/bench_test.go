package metadata_test

import (
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/cnabsec/cnabsec/internal/testing/testrepo"
	"github.com/cnabsec/cnabsec/keys"
	"github.com/cnabsec/cnabsec/metadata"
)

// repoWithTargets builds a repository whose releases role lists n version
// targets (each with sha256, sha512 and a custom object, as the signer writes).
func repoWithTargets(tb testing.TB, n int, opts ...testrepo.Option) *testrepo.Repo {
	r := testrepo.New(tb, append(opts, testrepo.WithDelegated("example.com/org/app"))...)
	r.Update(tb, []keys.Signer{r.Releases}, func(tx *metadata.Tx) error {
		for i := 0; i < n; i++ {
			b := []byte(fmt.Sprint(i))
			s256, s512 := sha256.Sum256(b), sha512.Sum512(b)
			err := tx.AddTarget(fmt.Sprintf("example.com/org/app:1.%d", i), metadata.TargetInfo{
				Length: 549, Hashes: map[string]string{"sha256": hex.EncodeToString(s256[:]), "sha512": hex.EncodeToString(s512[:])},
				Custom: []byte(`{"in-toto":["example.com/org/app/in-toto-metadata/root.layout"]}`),
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	return r
}

func benchRefresh(b *testing.B, r *testrepo.Repo) {
	opts := metadata.RefreshOptions{Snapshot: r.Snapshot, Timestamp: r.Timestamp}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := r.Repo.Refresh(ctx, opts); err != nil {
			b.Fatal(err)
		}
	}
}

func benchStatus(b *testing.B, r *testrepo.Repo) {
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := r.Repo.Status(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRefresh(b *testing.B) {
	for _, n := range []int{10, 10000} {
		b.Run(fmt.Sprintf("targets=%d", n), func(b *testing.B) { benchRefresh(b, repoWithTargets(b, n)) })
	}
}

func BenchmarkStatus(b *testing.B) {
	for _, n := range []int{10, 10000} {
		b.Run(fmt.Sprintf("targets=%d", n), func(b *testing.B) { benchStatus(b, repoWithTargets(b, n)) })
	}
}

// BenchmarkStatusWithoutCache is status when DIR/cache is gone (a copied
// repository, or one written by another tool): it parses and verifies every
// targets-like role, so it grows with the number of targets (and saves the
// summaries, so the next status is fast again).
func BenchmarkStatusWithoutCache(b *testing.B) {
	for _, n := range []int{10, 10000} {
		b.Run(fmt.Sprintf("targets=%d", n), func(b *testing.B) {
			r := repoWithTargets(b, n)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				if err := os.RemoveAll(filepath.Join(r.Dir, "cache")); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				if _, err := r.Repo.Status(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkAddOneTarget signs one more version into a repository holding
// 10,000: one large releases role, or 64 hash bins of ~156 targets each.
func BenchmarkAddOneTarget(b *testing.B) {
	for _, c := range []struct {
		name string
		opts []testrepo.Option
	}{{"flat", nil}, {"bins=64", []testrepo.Option{testrepo.WithBins(64)}}} {
		b.Run(c.name, func(b *testing.B) {
			r := repoWithTargets(b, 10000, c.opts...)
			opts := metadata.UpdateOptions{Signers: []keys.Signer{r.Releases}, Snapshot: r.Snapshot, Timestamp: r.Timestamp}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := r.Repo.Update(ctx, opts, func(tx *metadata.Tx) error {
					return tx.AddTarget(fmt.Sprintf("example.com/org/app:2.%d", i), blob(fmt.Sprint(i)))
				}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestScalingRatiosWithBench measures refresh and status on a 10-target and a
// 10,000-target repository in the same run and logs the ratios (goal: at
// most 2). Rounds alternate between the two repositories and the fastest
// round of each counts, so disk write-back from building the large one does
// not land on one side only. It runs only with -bench (no timing assertions
// in unit tests).
func TestScalingRatiosWithBench(t *testing.T) {
	if f := flag.Lookup("test.bench"); f == nil || f.Value.String() == "" {
		t.Skip("runs with -bench only")
	}
	small, large := repoWithTargets(t, 10), repoWithTargets(t, 10000)
	for _, c := range []struct {
		name string
		fn   func(*testing.B, *testrepo.Repo)
	}{{"refresh", benchRefresh}, {"status", benchStatus}} {
		var s, l int64
		for round := 0; round < 3; round++ {
			if ns := testing.Benchmark(func(b *testing.B) { c.fn(b, small) }).NsPerOp(); s == 0 || ns < s {
				s = ns
			}
			if ns := testing.Benchmark(func(b *testing.B) { c.fn(b, large) }).NsPerOp(); l == 0 || ns < l {
				l = ns
			}
		}
		t.Logf("%s: 10 targets %.2fms/op, 10,000 targets %.2fms/op, ratio %.2f (goal <= 2)", c.name, float64(s)/1e6, float64(l)/1e6, float64(l)/float64(s))
	}
}
