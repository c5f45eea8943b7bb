package verifier

import (
	"context"

	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/internal/names"
)

// Targets lists every bundle and image version the current trusted TUF
// state authorises (refreshing first when there is none), for a digest
// index such as the registry gateway's. Each entry has the target name, the
// signed sha256 (hex) and the kind recorded by the signer ("bundle" or
// "image"; "" when the target carries no cnabsec kind). Targets that are not
// versions (in-toto layouts, layout keys, links, and names such as
// NAME/in-toto-metadata/X/Y:T.link under a reserved in-toto segment, which
// the verifier denies) and version targets whose custom metadata does not
// parse are left out. A target is listed only when
// its TUF lookup would return it (see client.AllTargets); a delegated role
// that fails to load fails the whole call.
func (v *Verifier) Targets(ctx context.Context) ([]TargetRef, error) {
	if !v.HasTrustRoot() {
		return nil, fault.Inputf("no trusted root: there are no trusted targets to list")
	}
	if v.cfg.Map != nil {
		return nil, fault.Inputf("listing targets needs one trusted root and metadata location: a TAP 4 map is not supported")
	}
	c, err := v.trusted(ctx)
	if err != nil {
		return nil, err
	}
	if c == nil {
		return nil, fault.Inputf("listing targets needs one trusted root and metadata location")
	}
	all, err := c.AllTargets(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]TargetRef, 0, len(all))
	for _, ti := range all {
		if _, err := names.ParseVersion(ti.Name); err != nil {
			continue // a layout, key or link file, or a reserved name
		}
		custom, err := names.ParseCustom(ti.Custom)
		if err != nil {
			continue // unusable by a verification as well
		}
		ref := TargetRef{Name: ti.Name, SHA256: ti.Hashes["sha256"]}
		if custom.CNABSec != nil {
			ref.Kind = custom.CNABSec.Kind
		}
		out = append(out, ref)
	}
	return out, nil
}
