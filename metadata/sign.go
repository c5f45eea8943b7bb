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
		return st.sign(ctx, opts)
	})
}

// sign checks the online keys, adds the signature to the staged role, then
// lets finish publish or stage what is staged.
func (st *state) sign(ctx context.Context, opts SignOptions) (*Result, error) {
	fo := finishOpts{snapshot: opts.Snapshot, timestamp: opts.Timestamp}
	if err := st.checkOnlineSigners(fo); err != nil {
		return nil, err
	}
	var err error
	switch opts.Role {
	case RoleRoot:
		err = st.signStagedRoot(ctx, opts.Key)
	case RoleSnapshot:
		err = st.signStagedSnapshot(ctx, opts.Key)
	case RoleTimestamp:
		err = st.signStagedTimestamp(ctx, opts.Key)
	default:
		err = st.signStagedRole(ctx, opts.Role, opts.Key)
	}
	if err != nil {
		return nil, err
	}
	return st.finish(ctx, fo)
}

// noStaged is the error for signing a role with nothing staged.
func (st *state) noStaged(role string) error {
	return fault.WithRemedy(fault.Inputf("role %s has no staged metadata waiting for signatures in %s", role, st.dir),
		fault.RemedyShowStaged, st.dir)
}

// signStagedRoot signs the staged root with key under every root it is a
// root key of: the new root's and, for a rotation, the previous root's.
func (st *state) signStagedRoot(ctx context.Context, key keys.Signer) error {
	if !st.rootStaged {
		return st.noStaged(RoleRoot)
	}
	used := false
	for _, spec := range st.rootSpecs() {
		if !spec.isRoleKey(key.Public()) {
			continue
		}
		if err := addSignature(ctx, spec, st.root.Signed, &st.root.Signatures, key); err != nil {
			return err
		}
		used = true
	}
	if !used {
		spec, _ := rootSpec(st.root, RoleRoot)
		return notRoleKey(spec, key.Public())
	}
	st.rootSigned = true
	return nil
}

// signStagedSnapshot adds a snapshot key's signature to the staged snapshot.
func (st *state) signStagedSnapshot(ctx context.Context, key keys.Signer) error {
	if st.snapStaged == nil {
		return st.noStaged(RoleSnapshot)
	}
	spec, err := st.spec(RoleSnapshot)
	if err != nil {
		return err
	}
	if err := addSignature(ctx, spec, st.snapStaged.Signed, &st.snapStaged.Signatures, key); err != nil {
		return err
	}
	st.snapSigned = true
	return nil
}

// signStagedTimestamp adds a timestamp key's signature to the staged
// timestamp.
func (st *state) signStagedTimestamp(ctx context.Context, key keys.Signer) error {
	if st.tsStaged == nil {
		return st.noStaged(RoleTimestamp)
	}
	spec, err := st.spec(RoleTimestamp)
	if err != nil {
		return err
	}
	if err := addSignature(ctx, spec, st.tsStaged.Signed, &st.tsStaged.Signatures, key); err != nil {
		return err
	}
	st.tsSigned = true
	return nil
}

// signStagedRole adds a key's signature to a staged targets-like role. The
// role must be one the working metadata delegates to (else the error lists
// the roles there are) and newer than its published version.
func (st *state) signStagedRole(ctx context.Context, role string, key keys.Signer) error {
	spec, err := st.spec(role)
	if err != nil {
		return err
	}
	if !st.stagedSet[role] {
		return st.noStaged(role)
	}
	tr, err := st.role(role)
	if err != nil {
		return err
	}
	if !tr.staged {
		return st.noStaged(role)
	}
	if err := signRole(ctx, spec, tr, key); err != nil {
		return err
	}
	tr.signed = true
	return nil
}
