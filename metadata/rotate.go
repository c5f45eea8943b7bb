package metadata

import (
	"context"
	"slices"

	tuf "github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/keys"
)

// RotateOptions changes one role's keys or threshold.
type RotateOptions struct {
	Role string
	// Add lists new keys of the role.
	Add []*keys.PublicKey
	// Remove lists key IDs to drop; a key listed under several IDs is
	// dropped under all of them.
	Remove []string
	// Threshold is the new threshold; 0 keeps the current one.
	Threshold int
	// Signers are keys of the delegating role (root keys, old and new, for a
	// top-level role; targets keys for releases), plus any new keys of the
	// role itself so it can be re-signed in the same step.
	Signers []keys.Signer
	// Snapshot and Timestamp publish the change; without them it is staged.
	Snapshot, Timestamp keys.Signer
}

// Rotate changes a role's keys. A new root version must be signed by a
// threshold of the previous root keys and of the new ones before it is
// published; a role whose keys changed is re-signed (version + 1) in the same
// publication so that clients never see metadata the new keys do not sign.
func (r *Repository) Rotate(ctx context.Context, opts RotateOptions) (*Result, error) {
	if err := checkRotateOptions(opts); err != nil {
		return nil, err
	}
	return r.write(ctx, func(st *state) (*Result, error) {
		return st.rotate(ctx, opts)
	})
}

// checkRotateOptions refuses a rotation that changes nothing or asks for a
// negative threshold, before the repository is locked.
func checkRotateOptions(opts RotateOptions) error {
	if len(opts.Add) == 0 && len(opts.Remove) == 0 && opts.Threshold == 0 {
		return fault.Inputf("rotate role %s: nothing to change (give keys to add or remove, or a threshold)", opts.Role)
	}
	if opts.Threshold < 0 {
		return fault.Inputf("role %s: threshold %d: a threshold must be at least 1", opts.Role, opts.Threshold)
	}
	return nil
}

// rotate changes the keys where the role's delegator lists them (root for
// a top-level role, targets for a delegated one), re-signs what the change
// invalidates with the signers given, and publishes or stages the result.
func (st *state) rotate(ctx context.Context, opts RotateOptions) (*Result, error) {
	// The online keys are checked by finish, against the rotated root.
	fo := finishOpts{snapshot: opts.Snapshot, timestamp: opts.Timestamp}
	var err error
	switch opts.Role {
	case RoleRoot, RoleTargets, RoleSnapshot, RoleTimestamp:
		err = st.rotateTopLevel(opts)
	default:
		err = st.rotateDelegated(opts)
	}
	if err != nil {
		return nil, err
	}
	if err := st.signDirty(ctx, opts.Signers); err != nil {
		return nil, err
	}
	return st.finish(ctx, fo)
}

// rotateTopLevel changes a top-level role's keys in a new root version
// (keys no role lists any more are dropped). Top-level targets signed only
// by removed keys is re-signed in the same publication.
func (st *state) rotateTopLevel(opts RotateOptions) error {
	if st.rootPub == nil {
		return fault.Inputf("rotate role %s: the repository has not published its first root yet", opts.Role)
	}
	root := cloneRoot(st.root)
	role := root.Signed.Roles[opts.Role]
	if err := rotateKeys(opts, root.Signed.Keys, &role.KeyIDs, &role.Threshold); err != nil {
		return err
	}
	pruneRootKeys(&root.Signed)
	st.markRootDirty()
	st.root.Signed.Keys, st.root.Signed.Roles = root.Signed.Keys, root.Signed.Roles
	if opts.Role == RoleTargets {
		return st.resignTargetsIfInvalid()
	}
	return nil
}

// resignTargetsIfInvalid marks top-level targets for re-signing when it no
// longer verifies under the working (rotated) root.
func (st *state) resignTargetsIfInvalid() error {
	tr, err := st.role(RoleTargets)
	if err != nil {
		return err
	}
	if verifyWith(st.root, RoleTargets, tr.md.Signed, tr.md.Signatures) != nil {
		st.markDirty(tr)
	}
	return nil
}

// rotateDelegated changes a delegated role's keys in a new targets version
// (keys no delegation lists any more are dropped); the role is re-signed
// when it no longer verifies, and hash bins follow their releases keys.
func (st *state) rotateDelegated(opts RotateOptions) error {
	if _, err := st.spec(opts.Role); err != nil {
		return err
	}
	tr, err := st.role(RoleTargets)
	if err != nil {
		return err
	}
	st.markDirty(tr) // before reading the delegations: marking may copy the metadata
	d := tr.md.Signed.Delegations
	role := delegatedRole(d, opts.Role)
	if role == nil {
		// A hash bin is delegated by releases, not targets: its keys are the
		// releases keys. The transaction is dropped: nothing is written.
		return fault.Inputf("rotate role %s: the targets role delegates no role of that name (a hash bin is signed by the releases keys: rotate releases)", opts.Role)
	}
	if err := rotateKeys(opts, d.Keys, &role.KeyIDs, &role.Threshold); err != nil {
		return err
	}
	pruneDelegationKeys(d)
	dr, err := st.resignIfInvalid(opts.Role)
	if err != nil {
		return err
	}
	return st.rotateBins(dr, role, d.Keys)
}

// delegatedRole finds the entry of a delegations object that names role
// (the last one, as go-tuf's lookups would not tell them apart).
func delegatedRole(d *tuf.Delegations, name string) *tuf.DelegatedRole {
	var role *tuf.DelegatedRole
	if d == nil {
		return nil
	}
	for i := range d.Roles {
		if d.Roles[i].Name == name {
			role = &d.Roles[i]
		}
	}
	return role
}

// resignIfInvalid marks a delegated role for re-signing when it no longer
// verifies under what its working delegator says about it.
func (st *state) resignIfInvalid(name string) (*targetsRole, error) {
	r, err := st.role(name)
	if err != nil {
		return nil, err
	}
	spec, err := st.spec(name)
	if err != nil {
		return nil, err
	}
	if verifySpec(spec, r.md.Signed, r.md.Signatures) != nil {
		st.markDirty(r)
	}
	return r, nil
}

// rotateBins makes hash bins follow a rotation of the releases keys that
// sign them: releases gets a new succinct delegation with the rotated keys
// and threshold, and each bin that no longer verifies is re-signed.
func (st *state) rotateBins(dr *targetsRole, role *tuf.DelegatedRole, delegKeys map[string]*tuf.Key) error {
	bins := binsOf(dr.md)
	if len(bins) == 0 {
		return nil
	}
	st.markDirty(dr)
	keyMap := map[string]*tuf.Key{}
	for _, id := range role.KeyIDs {
		keyMap[id] = delegKeys[id]
	}
	sr := dr.md.Signed.Delegations.SuccinctRoles
	dr.md.Signed.Delegations = succinctDelegation(keyMap, role.KeyIDs, role.Threshold, sr.BitLength)
	for _, b := range bins {
		if _, err := st.resignIfInvalid(b); err != nil {
			return err
		}
	}
	return nil
}

// rotateKeys applies removals, additions and a threshold to one role's key
// list, refusing keys that are not the role's, keys it already has, and a
// threshold the remaining unique keys cannot meet.
func rotateKeys(opts RotateOptions, keyMap map[string]*tuf.Key, ids *[]string, threshold *int) error {
	spec := roleSpec{name: opts.Role, keyIDs: *ids, keys: keyMap}
	pks, err := spec.publicKeys()
	if err != nil {
		return fault.Inputf("role %s: %v", opts.Role, err)
	}
	kept, err := removeKeys(opts, pks, *ids)
	if err != nil {
		return err
	}
	if kept, err = addKeys(opts, keyMap, pks, kept); err != nil {
		return err
	}
	if len(kept) == 0 {
		return fault.Inputf("role %s: removing these keys would leave it without keys", opts.Role)
	}
	th := *threshold
	if opts.Threshold > 0 {
		th = opts.Threshold
	}
	if err := checkThreshold(opts.Role, th, uniqueKeyCount(pks, kept), false); err != nil {
		return err
	}
	*ids, *threshold = kept, th
	return nil
}

// removeKeys returns the key IDs left once opts.Remove is applied; a key
// listed under several IDs is dropped under all of them.
func removeKeys(opts RotateOptions, pks map[string]*keys.PublicKey, ids []string) ([]string, error) {
	drop := map[string]bool{}
	for _, rm := range opts.Remove {
		target, ok := pks[rm]
		if !ok {
			return nil, fault.Inputf("role %s: key %s is not one of its keys, cannot remove it", opts.Role, rm)
		}
		for id, pk := range pks {
			if pk.Equal(target) {
				drop[id] = true
			}
		}
	}
	var kept []string
	for _, id := range ids {
		if !drop[id] {
			kept = append(kept, id)
		}
	}
	return kept, nil
}

// addKeys appends opts.Add to the kept key IDs (and the delegator's key
// map), refusing a key the role already has under any ID.
func addKeys(opts RotateOptions, keyMap map[string]*tuf.Key, pks map[string]*keys.PublicKey, kept []string) ([]string, error) {
	for _, pk := range opts.Add {
		if pk == nil {
			return nil, fault.Inputf("role %s: a nil key to add", opts.Role)
		}
		for _, id := range kept {
			if pks[id].Equal(pk) {
				return nil, fault.Inputf("role %s: key %s is already one of its keys", opts.Role, pk.ID())
			}
		}
		kept = append(kept, pk.ID())
		keyMap[pk.ID()] = pk.TUFKey()
		pks[pk.ID()] = pk
	}
	return kept, nil
}

// uniqueKeyCount counts the distinct public keys behind ids: what a
// threshold is compared with.
func uniqueKeyCount(pks map[string]*keys.PublicKey, ids []string) int {
	unique := map[string]bool{}
	for _, id := range ids {
		unique[fingerprint(pks[id])] = true
	}
	return len(unique)
}

// pruneRootKeys drops the keys no top-level role lists any more.
func pruneRootKeys(root *tuf.RootType) {
	for id := range root.Keys {
		if !rootListsKey(root, id) {
			delete(root.Keys, id)
		}
	}
}

// rootListsKey reports whether a top-level role lists key id.
func rootListsKey(root *tuf.RootType, id string) bool {
	for _, r := range root.Roles {
		if slices.Contains(r.KeyIDs, id) {
			return true
		}
	}
	return false
}

// pruneDelegationKeys drops the keys no delegated role (or hash bin) of a
// delegations object lists any more.
func pruneDelegationKeys(d *tuf.Delegations) {
	for id := range d.Keys {
		if !delegationListsKey(d, id) {
			delete(d.Keys, id)
		}
	}
}

// delegationListsKey reports whether a delegated role or the hash bins of
// a delegations object list key id.
func delegationListsKey(d *tuf.Delegations, id string) bool {
	for _, r := range d.Roles {
		if slices.Contains(r.KeyIDs, id) {
			return true
		}
	}
	return d.SuccinctRoles != nil && slices.Contains(d.SuccinctRoles.KeyIDs, id)
}
