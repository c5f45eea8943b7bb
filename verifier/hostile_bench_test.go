package verifier_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cnabsec/cnabsec/internal/testing/peakrss"
	"github.com/cnabsec/cnabsec/internal/testing/registrytest"
	"github.com/cnabsec/cnabsec/internal/testing/scenario"
	"github.com/cnabsec/cnabsec/verifier"
)

const hostileEnv = "CNABSEC_BENCH_HOSTILE" // ROOTFILE|REPODIR|REF in the child

// BenchmarkHostileProvenance measures a verification of a release whose CI
// key listed a hostile amount of in-toto metadata: thousands of links, four
// links of 60 MB, four links filling the default bytes limit (16 MiB) made
// of tiny JSON values (the most parsing memory per byte) or of one long
// string each, and links of tiny values just under the default limit of
// JSON values (300,000); the last two also 8 at once with one Verifier (one
// admission request naming 8 images) as serve runs them: the Verifier's
// bound on metadata in memory (64 MiB) keeps them from adding up, and
// serve's soft memory limit (--memory-limit, 96 MiB) keeps the garbage of
// one from adding to the next. Each is verified in a child process (default
// limits) so that its peak RSS is the verification's alone; each must be
// decided in under 5 s with a peak under 128 MiB. The long strings are
// within every limit and their links are signed by no functionary: they
// are parsed, ignored, and the release verifies (verified-in-s); the
// others are denied (denied-in-s).
func BenchmarkHostileProvenance(b *testing.B) {
	for _, c := range []struct {
		name     string
		count    int
		content  []byte
		verifies bool
		atOnce   int // verifications one Verifier runs at once
	}{
		{"thousands-of-links", 5000, nil, false, 1},
		{"four-60MB-links", 4, bytes.Repeat([]byte(" "), 60<<20), false, 1},
		{"16MiB-of-links-of-tiny-values", 4, tinyValuesLink(15 << 18), false, 1},
		{"16MiB-of-links-of-long-strings", 4, longStringLink(15 << 18), true, 1},
		{"280000-tiny-values", 4, tinyValuesLink(280_000 / 4 / 4 * 16), true, 1},
		{"8-at-once-as-serve-16MiB-of-long-strings", 4, longStringLink(15 << 18), true, 8},
		{"8-at-once-as-serve-280000-tiny-values", 4, tinyValuesLink(280_000 / 4 / 4 * 16), true, 8},
	} {
		b.Run(c.name, func(b *testing.B) {
			reg := registrytest.New(b)
			s, err := scenario.Build(context.Background(), scenario.Options{Dir: b.TempDir(), Registry: reg.Host, Provenance: true})
			if err != nil {
				b.Fatal(err)
			}
			listExtraLinks(b, s, "package", c.count, c.content)
			root := b.TempDir() + "/root.json"
			if err := os.WriteFile(root, s.TrustedRoot, 0o644); err != nil {
				b.Fatal(err)
			}
			var worst time.Duration
			var peak int64
			for range max(b.N, 3) {
				d, rss, verified := hostileChild(b, fmt.Sprintf("%s|%s|%s|%d", root, s.RepoDir, s.BundleRef, c.atOnce))
				if verified != c.verifies {
					b.Fatalf("verified=%v, want %v", verified, c.verifies)
				}
				worst, peak = max(worst, d), max(peak, rss)
			}
			metric := "denied-in-s"
			if c.verifies {
				metric = "verified-in-s"
			}
			b.ReportMetric(worst.Seconds(), metric)
			b.ReportMetric(float64(peak)/(1<<20), "peak-RSS-MiB")
		})
	}
}

// hostileChild returns how long the child's verification took, its peak
// RSS and whether it verified.
func hostileChild(b *testing.B, arg string) (time.Duration, int64, bool) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestHostileProvenanceBenchChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), hostileEnv+"="+arg)
	out, err := cmd.CombinedOutput()
	if err != nil {
		b.Fatalf("child: %v\n%s", err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if rest, ok := strings.CutPrefix(line, "HOSTILE "); ok {
			f := strings.Fields(rest)
			if len(f) == 3 {
				ns, _ := strconv.ParseInt(f[0], 10, 64)
				hwm, _ := strconv.ParseInt(f[1], 10, 64)
				return time.Duration(ns), hwm, f[2] == "verified"
			}
		}
	}
	b.Fatalf("child printed no result:\n%s", out)
	return 0, 0, false
}

// TestHostileProvenanceBenchChild is the child of BenchmarkHostileProvenance;
// it does nothing unless the benchmark started it.
func TestHostileProvenanceBenchChild(t *testing.T) {
	arg := os.Getenv(hostileEnv)
	if arg == "" {
		t.Skip("only run by BenchmarkHostileProvenance")
	}
	parts := strings.SplitN(arg, "|", 4)
	atOnce, _ := strconv.Atoi(parts[3])
	root, err := os.ReadFile(parts[0])
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	v, err := verifier.New(verifier.Config{TrustedRoot: root, Location: parts[1]})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if atOnce > 1 && os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(96 << 20) // serve's default --memory-limit
	}
	outcome := verifyAtOnce(v, parts[2], atOnce)
	d := time.Since(start)
	fmt.Printf("HOSTILE %d %d %s\n", d.Nanoseconds(), peakrss.Peak(t), outcome)
}

// longStringLink is a link-shaped JSON document of about size bytes whose
// command is one long string: the fewest JSON values per byte.
func longStringLink(size int) []byte {
	return []byte(`{"signatures":[],"signed":{"_type":"link","name":"package","command":["` + strings.Repeat("a", size) +
		`"],"byproducts":{},"environment":{},"materials":{},"products":{}}}`)
}

// verifyAtOnce runs n verifications of ref at once with one Verifier (as a
// service, or one admission request naming n images, does): "verified" if
// every one verified, else "denied".
func verifyAtOnce(v *verifier.Verifier, ref string, n int) string {
	var wg sync.WaitGroup
	var denied atomic.Bool
	for range max(n, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := v.Verify(context.Background(), verifier.Request{Reference: ref, Level: verifier.Level3b})
			if err != nil || !r.Verified {
				denied.Store(true)
			}
		}()
	}
	wg.Wait()
	if denied.Load() {
		return "denied"
	}
	return "verified"
}
