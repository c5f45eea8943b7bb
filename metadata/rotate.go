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
	if len(opts.Add) == 0 && len(opts.Remove) == 0 && opts.Threshold == 0 {
		return nil, fault.Inputf("rotate role %s: nothing to change (give keys to add or remove, or a threshold)", opts.Role)
	}
	if opts.Threshold < 0 {
		return nil, fault.Inputf("role %s: threshold %d: a threshold must be at least 1", opts.Role, opts.Threshold)
	}
	return r.write(ctx, func(st *state) (*Result, error) {
		// The online keys are checked by finish, against the rotated root.
		fo := finishOpts{snapshot: opts.Snapshot, timestamp: opts.Timestamp}
		switch opts.Role {
		case RoleRoot, RoleTargets, RoleSnapshot, RoleTimestamp:
			if st.rootPub == nil {
				return nil, fault.Inputf("rotate role %s: the repository has not published its first root yet", opts.Role)
			}
			root := cloneRoot(st.root)
			role := root.Signed.Roles[opts.Role]
			if err := rotateKeys(opts, root.Signed.Keys, &role.KeyIDs, &role.Threshold); err != nil {
				return nil, err
			}
			pruneKeys(root.Signed.Keys, func(id string) bool {
				for _, r := range root.Signed.Roles {
					if slices.Contains(r.KeyIDs, id) {
						return true
					}
				}
				return false
			})
			st.markRootDirty()
			st.root.Signed.Keys, st.root.Signed.Roles = root.Signed.Keys, root.Signed.Roles
			if opts.Role == RoleTargets {
				tr, err := st.role(RoleTargets)
				if err != nil {
					return nil, err
				}
				if verifyWith(st.root, RoleTargets, tr.md.Signed, tr.md.Signatures) != nil {
					st.markDirty(tr)
				}
			}
		default:
			if _, err := st.spec(opts.Role); err != nil {
				return nil, err
			}
			tr, err := st.role(RoleTargets)
			if err != nil {
				return nil, err
			}
			st.markDirty(tr)
			d := tr.md.Signed.Delegations
			var role *tuf.DelegatedRole
			for i := range d.Roles {
				if d.Roles[i].Name == opts.Role {
					role = &d.Roles[i]
				}
			}
			if err := rotateKeys(opts, d.Keys, &role.KeyIDs, &role.Threshold); err != nil {
				return nil, err
			}
			pruneKeys(d.Keys, func(id string) bool {
				for _, r := range d.Roles {
					if slices.Contains(r.KeyIDs, id) {
						return true
					}
				}
				return d.SuccinctRoles != nil && slices.Contains(d.SuccinctRoles.KeyIDs, id)
			})
			dr, err := st.role(opts.Role)
			if err != nil {
				return nil, err
			}
			spec, err := st.spec(opts.Role)
			if err != nil {
				return nil, err
			}
			if verifySpec(spec, dr.md.Signed, dr.md.Signatures) != nil {
				st.markDirty(dr)
			}
			// Hash bins are signed by the releases keys: follow the rotation.
			if bins := binsOf(dr.md); len(bins) > 0 {
				st.markDirty(dr)
				keyMap := map[string]*tuf.Key{}
				for _, id := range role.KeyIDs {
					keyMap[id] = d.Keys[id]
				}
				sr := dr.md.Signed.Delegations.SuccinctRoles
				dr.md.Signed.Delegations = succinctDelegation(keyMap, role.KeyIDs, role.Threshold, sr.BitLength)
				for _, b := range bins {
					br, err := st.role(b)
					if err != nil {
						return nil, err
					}
					bspec, err := st.spec(b)
					if err != nil {
						return nil, err
					}
					if verifySpec(bspec, br.md.Signed, br.md.Signatures) != nil {
						st.markDirty(br)
					}
				}
			}
		}
		if err := st.signDirty(ctx, opts.Signers); err != nil {
			return nil, err
		}
		return st.finish(ctx, fo)
	})
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
	drop := map[string]bool{}
	for _, rm := range opts.Remove {
		target, ok := pks[rm]
		if !ok {
			return fault.Inputf("role %s: key %s is not one of its keys, cannot remove it", opts.Role, rm)
		}
		for id, pk := range pks {
			if pk.Equal(target) {
				drop[id] = true
			}
		}
	}
	var kept []string
	for _, id := range *ids {
		if !drop[id] {
			kept = append(kept, id)
		}
	}
	for _, pk := range opts.Add {
		if pk == nil {
			return fault.Inputf("role %s: a nil key to add", opts.Role)
		}
		for _, id := range kept {
			if pks[id].Equal(pk) {
				return fault.Inputf("role %s: key %s is already one of its keys", opts.Role, pk.ID())
			}
		}
		kept = append(kept, pk.ID())
		keyMap[pk.ID()] = pk.TUFKey()
		pks[pk.ID()] = pk
	}
	if len(kept) == 0 {
		return fault.Inputf("role %s: removing these keys would leave it without keys", opts.Role)
	}
	th := *threshold
	if opts.Threshold > 0 {
		th = opts.Threshold
	}
	unique := map[string]bool{}
	for _, id := range kept {
		unique[fingerprint(pks[id])] = true
	}
	if err := checkThreshold(opts.Role, th, len(unique), false); err != nil {
		return err
	}
	*ids, *threshold = kept, th
	return nil
}

func pruneKeys(m map[string]*tuf.Key, used func(string) bool) {
	for id := range m {
		if !used(id) {
			delete(m, id)
		}
	}
}
