package bundle

import (
	"slices"
	"testing"
	"time"
)

// BenchmarkValidate measures (*Bundle).Validate on a realistic thin bundle
// (signy's hello-world: one invocation image, keywords, maintainers)
// against a reference measured in the same run on the same bytes:
// Canonicalize, which parses and re-serializes the whole document once.
// Rounds interleave the two so that load from other processes hits both
// alike; each side keeps its median per-call time. The metric
// validate-vs-canonicalize is the ratio of those medians.
//
// Run: go test -run '^$' -bench BenchmarkValidate ./bundle/
func BenchmarkValidate(b *testing.B) {
	raw := readVector(b, "cnab/signy-thin-bundle.json")
	bd, err := Parse(raw)
	if err != nil {
		b.Fatal(err)
	}
	// The first call may do one-time work (compiling the schema); the
	// benchmark measures the calls after it.
	if err := bd.Validate(); err != nil {
		b.Fatal(err)
	}
	const perRound = 50
	var validate, canon []time.Duration
	for b.Loop() {
		start := time.Now()
		for range perRound {
			if _, err := Canonicalize(raw); err != nil {
				b.Fatal(err)
			}
		}
		canon = append(canon, time.Since(start)/perRound)
		start = time.Now()
		for range perRound {
			if err := bd.Validate(); err != nil {
				b.Fatal(err)
			}
		}
		validate = append(validate, time.Since(start)/perRound)
	}
	v, c := medianDuration(validate), medianDuration(canon)
	b.ReportMetric(float64(v)/float64(c), "validate-vs-canonicalize")
	b.ReportMetric(float64(v.Nanoseconds())/1000, "validate-µs")
	b.ReportMetric(float64(c.Nanoseconds())/1000, "canonicalize-µs")
}

func medianDuration(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}
