package layouts

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/cnabsec/cnabsec/keys"
)

// The layout cache keeps what a layout's bytes determine; these tests check
// that a layout verified once is still judged afresh on everything else.

func TestLayoutVerifiedOnceIsStillDeniedForAnotherOwnerKey(t *testing.T) {
	c := newChain(t, keys.GenEd25519)
	in := c.input()
	mustVerify(t, in)
	other := genKey(t, keys.GenEd25519)
	in.LayoutKeys = []*keys.PublicKey{other.Public()}
	res, err := Verify(context.Background(), in)
	wantDenied(t, res, err, CheckLayoutSignature, "no signature by key "+other.Public().ID())
	// A key that failed is not remembered as failed either.
	in.LayoutKeys = []*keys.PublicKey{c.owner.Public()}
	mustVerify(t, in)
}

func TestLayoutVerifiedOnceIsDeniedOnceExpired(t *testing.T) {
	c := newChain(t, keys.GenEd25519)
	in := c.input()
	mustVerify(t, in)
	in.Now = testNow.AddDate(1, 0, 1)
	res, err := Verify(context.Background(), in)
	wantDenied(t, res, err, CheckLayoutExpiry, "the layout expired at")
}

func TestLayoutVerifiedOnceWithItsSignatureAlteredIsDenied(t *testing.T) {
	c := newChain(t, keys.GenEd25519)
	in := c.input()
	mustVerify(t, in)
	env, err := parseEnvelope(in.Layout)
	if err != nil {
		t.Fatal(err)
	}
	sig := env.sigs[0].Sig
	altered := sig[:10] + string("0123456789abcdef"[(strings.IndexByte("0123456789abcdef", sig[10])+1)%16]) + sig[11:]
	in.Layout = []byte(strings.Replace(string(in.Layout), sig, altered, 1))
	res, err := Verify(context.Background(), in)
	wantDenied(t, res, err, CheckLayoutSignature, "does not verify")
}

func TestLayoutVerifiedOnceStillDeniesAnAlteredLink(t *testing.T) {
	c := newChain(t, keys.GenEd25519)
	in := c.input()
	mustVerify(t, in)
	name := c.linkName("write-bundle", c.dev)
	in.Links[name] = []byte(strings.Replace(string(in.Links[name]), `"sha256": "`, `"sha256": "0`, 1))
	res, err := Verify(context.Background(), in)
	wantDenied(t, res, err, CheckStepLinks, "does not verify")
}

func TestLayoutCacheIsBounded(t *testing.T) {
	for i := range 3 * layoutCacheEntries {
		cachedLayout([]byte(fmt.Sprintf(`{"not a layout": %d}`, i)))
	}
	layoutCache.Lock()
	n := len(layoutCache.m)
	layoutCache.Unlock()
	if n > layoutCacheEntries {
		t.Fatalf("the cache holds %d layouts, more than %d", n, layoutCacheEntries)
	}
}

func TestConcurrentVerificationsOfOneLayoutAllVerify(t *testing.T) {
	c := newChain(t, keys.GenEd25519)
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() { _, errs[i] = Verify(context.Background(), c.input()) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("verification %d: %v", i, err)
		}
	}
}
