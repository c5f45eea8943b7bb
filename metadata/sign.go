package metadata

import (
	"context"

	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/keys"
)

// SignOptions names the staged role to sign and the key to sign it with.
type SignOptions struct {
	Role string
	Key  keys.Signer
	// Snapshot and Timestamp, when given, complete publication once every
	// other role has met its threshold.
	Snapshot, Timestamp keys.Signer
}

// Sign adds one signature to a role's staged metadata (its content is
// unchanged) and publishes everything staged once all thresholds are met.
// For root, the key may be one of the new root's keys or of the previous
// root's; a rotation needs a threshold of both.
func (r *Repository) Sign(ctx context.Context, opts SignOptions) (*Result, error) {
	if opts.Key == nil {
		return nil, fault.Inputf("sign: no key given")
	}
	return r.write(ctx, func(st *state) (*Result, error) {
		fo := finishOpts{snapshot: opts.Snapshot, timestamp: opts.Timestamp}
		if err := st.checkOnlineSigners(fo); err != nil {
			return nil, err
		}
		noStaged := func() error {
			return fault.WithHint(fault.Inputf("role %s has no staged metadata waiting for signatures in %s", opts.Role, st.dir),
				"`cnabsec repo status` shows what is staged")
		}
		switch opts.Role {
		case RoleRoot:
			if !st.rootStaged {
				return nil, noStaged()
			}
			used := false
			for _, spec := range st.rootSpecs() {
				if spec.isRoleKey(opts.Key.Public()) {
					if err := addSignature(ctx, spec, st.root.Signed, &st.root.Signatures, opts.Key); err != nil {
						return nil, err
					}
					used = true
				}
			}
			if !used {
				spec, _ := rootSpec(st.root, RoleRoot)
				return nil, notRoleKey(spec, opts.Key.Public())
			}
			st.rootSigned = true
		case RoleSnapshot:
			if st.snapStaged == nil {
				return nil, noStaged()
			}
			spec, err := st.spec(RoleSnapshot)
			if err != nil {
				return nil, err
			}
			if err := addSignature(ctx, spec, st.snapStaged.Signed, &st.snapStaged.Signatures, opts.Key); err != nil {
				return nil, err
			}
			st.snapSigned = true
		case RoleTimestamp:
			if st.tsStaged == nil {
				return nil, noStaged()
			}
			spec, err := st.spec(RoleTimestamp)
			if err != nil {
				return nil, err
			}
			if err := addSignature(ctx, spec, st.tsStaged.Signed, &st.tsStaged.Signatures, opts.Key); err != nil {
				return nil, err
			}
			st.tsSigned = true
		default:
			spec, err := st.spec(opts.Role)
			if err != nil {
				return nil, err
			}
			if !st.stagedSet[opts.Role] {
				return nil, noStaged()
			}
			tr, err := st.role(opts.Role)
			if err != nil {
				return nil, err
			}
			if !tr.staged {
				return nil, noStaged()
			}
			if err := signRole(ctx, spec, tr, opts.Key); err != nil {
				return nil, err
			}
			tr.signed = true
		}
		return st.finish(ctx, fo)
	})
}
