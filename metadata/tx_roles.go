package metadata

// DelegatedRoles lists the roles the top-level targets role delegates to, in
// delegation order.
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
