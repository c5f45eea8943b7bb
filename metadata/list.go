package metadata

import (
	"context"
	"sort"
)

// List returns every target of the working state (published, with staged
// changes applied), sorted by name, with the role that signs it.
func (r *Repository) List(ctx context.Context) ([]Target, error) {
	st, err := r.load(ctx, false)
	if err != nil {
		return nil, err
	}
	var out []Target
	seen := map[string]bool{}
	for _, n := range st.targetRoles() {
		tr, err := st.role(n)
		if err != nil {
			return nil, err
		}
		for name, tf := range tr.md.Signed.Targets {
			if seen[name] {
				continue // a client finds the first role's entry
			}
			seen[name] = true
			out = append(out, toTarget(name, n, tr.staged, tf))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}
