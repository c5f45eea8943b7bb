package verifier

import (
	"context"

	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/internal/names"
)

// checkLayoutChoice denies a version whose (CI-signed) custom metadata names
// a root layout other than the one the offline top-level targets role says
// governs it: a retired layout, or a kept older layout that does not cover
// this version. The decision reads only the targets role's own metadata.
func (p *provenanceRun) checkLayoutChoice(ctx context.Context, repo, version, named string) error {
	listed, err := p.w.tuf.TopLevelTargets(ctx, names.LayoutDir(repo))
	if err != nil {
		return err
	}
	var entries []names.LayoutEntry
	for _, t := range listed {
		if !names.IsLayoutTarget(t.Name, repo) {
			continue
		}
		c, err := names.ParseLayoutCustom(t.Custom)
		if err != nil {
			return fault.Deniedf("layout target %s: %w", t.Name, err)
		}
		entries = append(entries, names.LayoutEntry{Name: t.Name, Covers: c.Covers()})
	}
	if err := names.CheckNamedLayout(version, named, entries); err != nil {
		return fault.Deniedf("%w", err)
	}
	return nil
}
