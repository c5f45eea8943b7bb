package metadata

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
