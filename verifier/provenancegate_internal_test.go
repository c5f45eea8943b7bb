package verifier

import (
	"context"
	"testing"
	"time"

	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/internal/testing/errtest"
	"github.com/cnabsec/cnabsec/internal/testing/registrytest"
	"github.com/cnabsec/cnabsec/internal/testing/scenario"
)

// While other verifications of one Verifier (a service's, or the images of
// one admission request) hold its whole bound on in-toto metadata in
// memory, a verification waits before downloading its links instead of
// adding to it, and is inconclusive if its context ends first.
func TestConcurrentVerificationsCannotAddUpProvenanceMemoryPastTheBound(t *testing.T) {
	reg := registrytest.New(t)
	s, err := scenario.Build(context.Background(), scenario.Options{Dir: t.TempDir(), Registry: reg.Host, Provenance: true})
	if err != nil {
		t.Fatal(err)
	}
	const bound = 1 << 20
	v, err := New(Config{TrustedRoot: s.TrustedRoot, Location: s.RepoDir, Provenance: ProvenanceLimits{MaxParseMemory: bound}})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	gate := v.provenanceGate(v.cfg.Provenance.withDefaults())
	if err := gate.Acquire(context.Background(), bound); err != nil { // other verifications hold it all
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	_, err = v.Verify(ctx, Request{Reference: s.BundleRef, Level: Level3b})
	errtest.Want(t, err, fault.Inconclusive, ": waiting for the memory other verifications use: context deadline exceeded")

	gate.Release(bound)
	if r, err := v.Verify(context.Background(), Request{Reference: s.BundleRef, Level: Level3b}); err != nil || !r.Verified {
		t.Fatalf("once the memory is given back: %v", err)
	}
	if !gate.TryAcquire(bound) {
		t.Fatal("a finished verification kept part of the bound")
	}
}

func TestParseEstimateCoversTinyValuesAndIsCappedByTheBound(t *testing.T) {
	lim := ProvenanceLimits{}.withDefaults()
	for _, c := range []struct{ bytes, want int64 }{
		{4 << 10, 4*(4<<10) + 200*(2<<10+1)},            // a real chain: kilobytes
		{1 << 20, 4*(1<<20) + 200*int64(lim.MaxValues)}, // tiny values up to the value limit
		{16 << 20, DefaultMaxParseMemory},               // capped: it then runs alone
	} {
		if got := parseEstimate(c.bytes, lim); got != c.want {
			t.Errorf("parseEstimate(%d) = %d, want %d", c.bytes, got, c.want)
		}
	}
}
