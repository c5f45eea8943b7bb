package layouts

import (
	"crypto/sha256"
	"errors"
	"sync"

	"github.com/cnabsec/cnabsec/keys"
)

// A layout is verified far more often than it changes: every release of a
// repository is verified against the same root layout. What follows from the
// layout bytes alone is therefore computed once and kept, keyed by their
// sha256: the parsed envelope (typed layout and the canonical bytes its
// signatures cover), the validation of its structure with its functionary
// keys decoded, and which owner keys' signatures on it verified. Nothing else
// is kept: the verification time, expiry, links, rules and the artifact are
// judged on every call, and a key whose signature did not verify is tried
// again (failures are not kept).

// layoutCacheEntries bounds the layouts kept; layoutCacheMaxBytes the size
// of one layout that is kept (larger ones are parsed on every call). A
// layout of dozens of steps and keys is a few KiB; together the kept layouts
// hold at most 1 MiB of files (about ten times that parsed), outside the
// memory bound of verifications in flight.
const (
	layoutCacheEntries  = 16
	layoutCacheMaxBytes = 64 << 10
)

// layoutEntry is what one layout file's bytes determine.
type layoutEntry struct {
	env *envelope // read-only once parsed, like everything it points to
	err error     // the parse error; env is nil then

	validate sync.Once
	lkeys    map[string]*keys.PublicKey // the layout's keys by ID (read-only)
	invalid  error                      // validateLayout's error

	mu       sync.Mutex
	signedBy []*keys.PublicKey // owner keys whose signature verified
}

// validated checks the layout's structure and decodes its keys, once.
func (p *layoutEntry) validated() (map[string]*keys.PublicKey, error) {
	p.validate.Do(func() { p.lkeys, p.invalid = validateLayout(p.env.layout) })
	return p.lkeys, p.invalid
}

// checkSignature verifies k's signature on the layout, unless it verified
// before.
func (p *layoutEntry) checkSignature(k *keys.PublicKey) error {
	if p.verifiedBy(k) {
		return nil
	}
	if err := verifyEnvelopeSig(p.env, k); err != nil {
		return err
	}
	p.addVerified(k)
	return nil
}

// verifiedBy reports whether k's signature on the layout verified before:
// the same public key (compared by its key material), not only the same ID.
func (p *layoutEntry) verifiedBy(k *keys.PublicKey) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, s := range p.signedBy {
		if s.Equal(k) {
			return true
		}
	}
	return false
}

func (p *layoutEntry) addVerified(k *keys.PublicKey) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.signedBy = append(p.signedBy, k)
}

var layoutCache = struct {
	sync.Mutex
	m map[[sha256.Size]byte]*layoutEntry
}{m: map[[sha256.Size]byte]*layoutEntry{}}

// cachedLayout returns the parsed form of a layout file, from the cache when the
// same bytes were parsed before.
func cachedLayout(raw []byte) *layoutEntry {
	if len(raw) > layoutCacheMaxBytes {
		return newLayoutEntry(raw)
	}
	sum := sha256.Sum256(raw)
	layoutCache.Lock()
	p := layoutCache.m[sum]
	layoutCache.Unlock()
	if p != nil {
		return p
	}
	p = newLayoutEntry(raw)
	layoutCache.Lock()
	defer layoutCache.Unlock()
	if q := layoutCache.m[sum]; q != nil {
		return q // parsed meanwhile by another verification
	}
	if len(layoutCache.m) >= layoutCacheEntries {
		for k := range layoutCache.m { // drop one, whichever
			delete(layoutCache.m, k)
			break
		}
	}
	layoutCache.m[sum] = p
	return p
}

var errNotALayout = errors.New("a link, not a layout")

func newLayoutEntry(raw []byte) *layoutEntry {
	env, err := parseEnvelope(raw)
	if err == nil && env.layout == nil {
		env, err = nil, errNotALayout
	}
	return &layoutEntry{env: env, err: err}
}
