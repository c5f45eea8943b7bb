package verifier_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cnabsec/cnabsec/internal/testing/peakrss"
	"github.com/cnabsec/cnabsec/internal/testing/registrytest"
	"github.com/cnabsec/cnabsec/internal/testing/scenario"
	"github.com/cnabsec/cnabsec/verifier"
)

const hostileEnv = "CNABSEC_BENCH_HOSTILE" // ROOTFILE|REPODIR|REF in the child

// BenchmarkHostileProvenance measures a verification of a release whose CI
// key listed a hostile amount of in-toto metadata: thousands of links, or
// four links of 60 MB. Each is verified in a child process (default limits)
// so that its peak RSS is the verification's alone; both must be denied in
// under 5 s with a peak under 128 MiB.
func BenchmarkHostileProvenance(b *testing.B) {
	for _, c := range []struct {
		name        string
		count, size int
	}{{"thousands-of-links", 5000, 0}, {"four-60MB-links", 4, 60 << 20}} {
		b.Run(c.name, func(b *testing.B) {
			reg := registrytest.New(b)
			s, err := scenario.Build(context.Background(), scenario.Options{Dir: b.TempDir(), Registry: reg.Host, Provenance: true})
			if err != nil {
				b.Fatal(err)
			}
			listExtraLinks(b, s, "package", c.count, c.size)
			root := b.TempDir() + "/root.json"
			if err := os.WriteFile(root, s.TrustedRoot, 0o644); err != nil {
				b.Fatal(err)
			}
			var worst time.Duration
			var peak int64
			for range max(b.N, 3) {
				d, rss := hostileChild(b, root+"|"+s.RepoDir+"|"+s.BundleRef)
				worst, peak = max(worst, d), max(peak, rss)
			}
			b.ReportMetric(worst.Seconds(), "denied-in-s")
			b.ReportMetric(float64(peak)/(1<<20), "peak-RSS-MiB")
		})
	}
}

func hostileChild(b *testing.B, arg string) (time.Duration, int64) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestHostileProvenanceBenchChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), hostileEnv+"="+arg)
	out, err := cmd.CombinedOutput()
	if err != nil {
		b.Fatalf("child: %v\n%s", err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if rest, ok := strings.CutPrefix(line, "HOSTILE "); ok {
			f := strings.Fields(rest)
			if len(f) == 2 {
				ns, _ := strconv.ParseInt(f[0], 10, 64)
				hwm, _ := strconv.ParseInt(f[1], 10, 64)
				return time.Duration(ns), hwm
			}
		}
	}
	b.Fatalf("child printed no result:\n%s", out)
	return 0, 0
}

// TestHostileProvenanceBenchChild is the child of BenchmarkHostileProvenance;
// it does nothing unless the benchmark started it.
func TestHostileProvenanceBenchChild(t *testing.T) {
	arg := os.Getenv(hostileEnv)
	if arg == "" {
		t.Skip("only run by BenchmarkHostileProvenance")
	}
	parts := strings.SplitN(arg, "|", 3)
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
	r, err := v.Verify(context.Background(), verifier.Request{Reference: parts[2], Level: verifier.Level3b})
	d := time.Since(start)
	if err == nil || r.Verified {
		t.Fatalf("the hostile release verified")
	}
	fmt.Printf("HOSTILE %d %d\n", d.Nanoseconds(), peakrss.Peak(t))
}
