package verifier

import (
	"context"

	"golang.org/x/sync/semaphore"

	"github.com/cnabsec/cnabsec/internal/fault"
)

// DefaultMaxParseMemory bounds the memory one Verifier lets the in-toto
// metadata of all its verifications in progress take (see
// ProvenanceLimits.MaxParseMemory).
const DefaultMaxParseMemory = 64 << 20

// Parsing costs, measured (BenchmarkHostileProvenance): long strings take
// about four times their bytes, and each JSON value up to about 200 bytes
// (one-letter artifacts: 280,000 values peaked at 77 MiB of RSS).
const (
	parseBytesFactor = 4
	parseValueCost   = 200
)

// parseEstimate is the most memory that downloading and parsing metadata of
// the given signed length can take within the limits: its bytes, and as
// many JSON values as those bytes can hold (two bytes each: "0,") up to
// the limit of values.
func parseEstimate(signedBytes int64, lim ProvenanceLimits) int64 {
	values := min(int64(lim.MaxValues), signedBytes/2+1)
	return min(parseBytesFactor*signedBytes+parseValueCost*values, lim.MaxParseMemory)
}

// provenanceGate is the Verifier's bound on in-toto metadata in memory:
// concurrent verifications (one admission request checks up to 8 images at
// once, and a service takes many requests) each take their estimate before
// downloading their links and give it back once in-toto has verified them,
// so that metadata is never held or parsed beyond MaxParseMemory at once.
// Real supply chains (links of kilobytes) take little and run side by side;
// a verification at the limits waits for room and runs alone.
func (v *Verifier) provenanceGate(lim ProvenanceLimits) *semaphore.Weighted {
	v.gateOnce.Do(func() { v.gate = semaphore.NewWeighted(lim.MaxParseMemory) })
	return v.gate
}

// admitProvenance waits until the verification's estimate fits in the
// Verifier's bound and returns what gives it back. Waiting ends with the
// context (the verification is then inconclusive).
func (v *Verifier) admitProvenance(ctx context.Context, version string, signedBytes int64, lim ProvenanceLimits) (func(), error) {
	g, w := v.provenanceGate(lim), parseEstimate(signedBytes, lim)
	if err := g.Acquire(ctx, w); err != nil {
		return nil, fault.Inconclusivef("in-toto metadata of %s: waiting for the memory other verifications use: %w", version, err)
	}
	return func() { g.Release(w) }, nil
}
