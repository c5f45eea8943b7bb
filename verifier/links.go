package verifier

import (
	"context"
	"errors"
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
	// 32 MiB: a link recording 10,000 artifacts is about 1.5 MiB).
	MaxBytes int64 `json:"maxBytes,omitempty"`
}

// Default provenance limits.
const (
	DefaultMaxLinksPerStep = 32
	DefaultMaxLinks        = 256
	DefaultMaxProvenance   = 32 << 20
)

// ErrProvenanceTooLarge is wrapped by the denial of in-toto metadata past a
// ProvenanceLimits bound.
var ErrProvenanceTooLarge = errors.New("in-toto metadata over the verification's limit")

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

// downloadLinks fetches the version's links through TUF within the bytes
// left of the budget: each link's signed length is checked against what
// remains before it is downloaded, and the download itself is capped by it
// (a repository cannot make a link longer than its signed length).
func (p *provenanceRun) downloadLinks(ctx context.Context, version string, linkNames []string, budget int64) (map[string][]byte, error) {
	lim := p.w.v.cfg.Provenance.withDefaults()
	if err := checkLinkCounts(version, linkNames, lim); err != nil {
		return nil, err
	}
	links := make(map[string][]byte, len(linkNames))
	for _, ln := range linkNames {
		ti, err := p.w.tuf.Target(ctx, ln)
		if err != nil {
			return nil, err
		}
		if ti.Length > budget || ti.Length > layouts.MaxMetadataSize {
			return nil, fault.Deniedf("in-toto link %s is %d bytes (signed length): with the layout and the links before it, the in-toto metadata of %s exceeds the limit of %d bytes per verification: %w",
				ln, ti.Length, version, lim.MaxBytes, ErrProvenanceTooLarge)
		}
		b, _, err := p.w.tuf.Download(ctx, ln, max(ti.Length, 1))
		if err != nil {
			return nil, err
		}
		budget -= int64(len(b))
		links[path.Base(ln)] = b
	}
	return links, nil
}
