package verifier

import (
	"context"
	"path"
	"sort"
	"strings"

	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/layouts"
)

// ProvenanceLimits bound the in-toto metadata one verification reads, so
// that a hostile repository (thousands of links, or links of tens of
// megabytes) is denied before it costs memory. A zero field takes its
// default. The defaults are far above a real supply chain: a layout has a
// handful of steps, each with one link per functionary that signed it.
type ProvenanceLimits struct {
	// MaxLinksPerStep bounds the links listed for one step (default 32).
	MaxLinksPerStep int `json:"maxLinksPerStep,omitempty"`
	// MaxLinks bounds the links listed for one artifact (default 256).
	MaxLinks int `json:"maxLinks,omitempty"`
	// MaxBytes bounds the layout and links of one artifact together, by
	// their signed lengths, checked before anything is downloaded (default
	// 16 MiB: a link recording 10,000 artifacts is about 1.5 MiB; parsing
	// takes up to four times the bytes, so 16 MiB stays under 128 MiB).
	MaxBytes int64 `json:"maxBytes,omitempty"`
	// MaxValues bounds the JSON values of the layout and links together,
	// counted as each arrives and before any is parsed: parsing costs
	// memory per value (default layouts.DefaultMaxJSONValues).
	MaxValues int `json:"maxValues,omitempty"`
	// MaxParseMemory bounds the estimated memory of the in-toto metadata
	// all of one Verifier's verifications hold at once (default 64 MiB):
	// a verification waits before downloading its links until its
	// estimate fits, so concurrent verifications cannot add up.
	MaxParseMemory int64 `json:"maxParseMemory,omitempty"`
}

// Default provenance limits.
const (
	DefaultMaxLinksPerStep = 32
	DefaultMaxLinks        = 256
	DefaultMaxProvenance   = 16 << 20
	DefaultMaxValues       = layouts.DefaultMaxJSONValues
)

// ErrProvenanceTooLarge is wrapped by the denial of in-toto metadata past a
// ProvenanceLimits bound (it is layouts.ErrInputTooLarge).
var ErrProvenanceTooLarge = layouts.ErrInputTooLarge

func (l ProvenanceLimits) withDefaults() ProvenanceLimits {
	if l.MaxLinksPerStep <= 0 {
		l.MaxLinksPerStep = DefaultMaxLinksPerStep
	}
	if l.MaxLinks <= 0 {
		l.MaxLinks = DefaultMaxLinks
	}
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultMaxProvenance
	}
	if l.MaxValues <= 0 {
		l.MaxValues = DefaultMaxValues
	}
	if l.MaxParseMemory <= 0 {
		l.MaxParseMemory = DefaultMaxParseMemory
	}
	return l
}

// linkStep is the step a link file is named after: STEP.KEYID8.link.
func linkStep(linkTarget string) string {
	base := strings.TrimSuffix(path.Base(linkTarget), ".link")
	if i := strings.LastIndexByte(base, '.'); i > 0 {
		return base[:i]
	}
	return base
}

// checkLinkCounts denies a version listing more links than the limits
// allow, in all or for one step, before any is downloaded.
func checkLinkCounts(version string, linkNames []string, lim ProvenanceLimits) error {
	if len(linkNames) > lim.MaxLinks {
		return fault.Deniedf("signed target %s lists %d in-toto links, more than the limit of %d links per verification: %w",
			version, len(linkNames), lim.MaxLinks, ErrProvenanceTooLarge)
	}
	perStep := map[string]int{}
	for _, ln := range linkNames {
		perStep[linkStep(ln)]++
	}
	steps := make([]string, 0, len(perStep))
	for s := range perStep {
		steps = append(steps, s)
	}
	sort.Strings(steps)
	for _, s := range steps {
		if n := perStep[s]; n > lim.MaxLinksPerStep {
			return fault.Deniedf("signed target %s lists %d links for step %q, more than the limit of %d links per step: %w",
				version, n, s, lim.MaxLinksPerStep, ErrProvenanceTooLarge)
		}
	}
	return nil
}

// linkBudget is what is left of one verification's limits while its links
// are downloaded.
type linkBudget struct {
	lim    ProvenanceLimits
	bytes  int64 // bytes left
	values int   // JSON values counted so far
}

// take counts one downloaded file's JSON values (what parsing it will cost)
// and denies once the verification's total passes the limit.
func (b *linkBudget) take(version, name string, data []byte) error {
	b.bytes -= int64(len(data))
	b.values += layouts.CountJSONValues(data)
	if b.values > b.lim.MaxValues {
		return fault.Deniedf("in-toto link %s brings the in-toto metadata of %s to %d JSON values, more than the limit of %d values per verification: %w",
			name, version, b.values, b.lim.MaxValues, ErrProvenanceTooLarge)
	}
	return nil
}

// downloadLinks fetches the version's links through TUF within the
// limits: the count of links listed and the signed length of each, against
// what is left of the bytes after the layout, are checked before anything
// is downloaded; the verification then waits for room in the Verifier's
// bound on metadata in memory; each download is capped by its signed
// length (a repository cannot make a link longer), and the JSON values of
// the layout and of each link as it arrives are counted before anything
// is parsed. The returned func gives the room back: call it once in-toto
// is done with the links.
func (p *provenanceRun) downloadLinks(ctx context.Context, version string, layout []byte, linkNames []string) (map[string][]byte, func(), error) {
	lim := p.w.v.cfg.Provenance.withDefaults()
	if err := checkLinkCounts(version, linkNames, lim); err != nil {
		return nil, nil, err
	}
	b := &linkBudget{lim: lim, bytes: lim.MaxBytes}
	if err := b.take(version, "(the layout)", layout); err != nil {
		return nil, nil, err
	}
	signed, err := p.signedLinkLengths(ctx, version, linkNames, b.bytes, lim)
	if err != nil {
		return nil, nil, err
	}
	release, err := p.w.v.admitProvenance(ctx, version, int64(len(layout))+signed, lim)
	if err != nil {
		return nil, nil, err
	}
	links := make(map[string][]byte, len(linkNames))
	for _, ln := range linkNames {
		data, err := p.downloadLink(ctx, version, ln, b)
		if err != nil {
			release()
			return nil, nil, err
		}
		links[path.Base(ln)] = data
	}
	return links, release, nil
}

// signedLinkLengths adds up the links' signed lengths, denying the first
// that takes them past the bytes left, before any is downloaded.
func (p *provenanceRun) signedLinkLengths(ctx context.Context, version string, linkNames []string, left int64, lim ProvenanceLimits) (int64, error) {
	var total int64
	for _, ln := range linkNames {
		ti, err := p.w.tuf.Target(ctx, ln)
		if err != nil {
			return 0, err
		}
		if ti.Length > left-total || ti.Length > layouts.MaxMetadataSize {
			return 0, tooManyBytes(version, ln, ti.Length, lim)
		}
		total += ti.Length
	}
	return total, nil
}

func tooManyBytes(version, link string, length int64, lim ProvenanceLimits) error {
	return fault.Deniedf("in-toto link %s is %d bytes (signed length): with the layout and the links before it, the in-toto metadata of %s exceeds the limit of %d bytes per verification: %w",
		link, length, version, lim.MaxBytes, ErrProvenanceTooLarge)
}

// downloadLink fetches one link, never past its signed length nor the
// bytes left, and counts it.
func (p *provenanceRun) downloadLink(ctx context.Context, version, ln string, b *linkBudget) ([]byte, error) {
	ti, err := p.w.tuf.Target(ctx, ln)
	if err != nil {
		return nil, err
	}
	if ti.Length > b.bytes {
		return nil, tooManyBytes(version, ln, ti.Length, b.lim)
	}
	data, _, err := p.w.tuf.Download(ctx, ln, max(ti.Length, 1))
	if err != nil {
		return nil, err
	}
	if err := b.take(version, ln, data); err != nil {
		return nil, err
	}
	return data, nil
}
