package metadata

import (
	"context"

	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/keys"
)

// RefreshOptions renews expiry dates.
type RefreshOptions struct {
	// Roles to re-sign with a renewed expiry besides snapshot and timestamp
	// (root, targets, releases; releases includes its hash bins); their keys
	// go in Signers.
	Roles   []string
	Signers []keys.Signer
	// Snapshot and Timestamp re-sign those roles; without them the renewal is staged.
	Snapshot, Timestamp keys.Signer
}

// Refresh renews snapshot and timestamp (and the roles listed) with a new
// version and expiry. It reads and rewrites only the roles it renews: a
// refresh of snapshot and timestamp costs the same with 10 or 10,000 targets.
func (r *Repository) Refresh(ctx context.Context, opts RefreshOptions) (*Result, error) {
	return r.write(ctx, func(st *state) (*Result, error) {
		fo := finishOpts{snapshot: opts.Snapshot, timestamp: opts.Timestamp, force: true}
		if err := st.checkOnlineSigners(fo); err != nil {
			return nil, err
		}
		for _, role := range opts.Roles {
			switch role {
			case RoleSnapshot, RoleTimestamp:
				// always renewed
			case RoleRoot:
				if st.rootPub == nil {
					return nil, fault.Inputf("role root: nothing published to refresh yet")
				}
				st.markRootDirty()
			default:
				if _, err := st.spec(role); err != nil {
					return nil, err
				}
				tr, err := st.role(role)
				if err != nil {
					return nil, err
				}
				st.markDirty(tr)
				for _, b := range binsOf(tr.md) {
					br, err := st.role(b)
					if err != nil {
						return nil, err
					}
					st.markDirty(br)
				}
			}
		}
		if err := st.signDirty(ctx, opts.Signers); err != nil {
			return nil, err
		}
		return st.finish(ctx, fo)
	})
}
