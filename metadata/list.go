package metadata

import (
	"context"
	"sort"
)

// List returns every target of the working state (published, with staged
// changes applied), sorted by name, with the role that signs it.
func (r *Repository) List(ctx context.Context) ([]Target, error) {
	var out []Target
	err := r.read(ctx, func(st *state) error {
		out = nil
		return st.list(&out)
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (st *state) list(out *[]Target) error {
	seen := map[string]bool{}
	for _, n := range st.targetRoles() {
		tr, err := st.role(n)
		if err != nil {
			return err
		}
		for name, tf := range tr.md.Signed.Targets {
			if seen[name] {
				continue // a client finds the first role's entry
			}
			seen[name] = true
			*out = append(*out, toTarget(name, n, tr.staged, tf))
		}
	}
	return nil
}
