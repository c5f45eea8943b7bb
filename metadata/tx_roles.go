package metadata

import (
	"sort"
	"strings"
)

// DelegatedRoles lists the delegated roles: those the top-level targets role
// delegates to, in delegation order, then the hash bins of releases if any.
func (tx *Tx) DelegatedRoles() []string { return tx.st.delegatedNames() }

// HasRole reports whether the repository has the delegated role name.
func (tx *Tx) HasRole(name string) bool {
	for _, n := range tx.DelegatedRoles() {
		if n == name {
			return true
		}
	}
	return false
}

// Delegates reports whether target name is delegated away from the top-level
// targets role (to releases or one of its hash bins), i.e. whether the
// releases keys sign it.
func (tx *Tx) Delegates(name string) bool { return tx.st.roleFor(name) != RoleTargets }

// TopLevelTargets lists the targets the top-level targets role itself signs
// whose names start with prefix, sorted by name (e.g. a repository's root
// layouts: only that offline role may list them).
func (tx *Tx) TopLevelTargets(prefix string) ([]Target, error) {
	r, err := tx.st.role(RoleTargets)
	if err != nil {
		return nil, err
	}
	var out []Target
	for name, tf := range r.md.Signed.Targets {
		if strings.HasPrefix(name, prefix) {
			out = append(out, toTarget(name, RoleTargets, r.staged, tf))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}
