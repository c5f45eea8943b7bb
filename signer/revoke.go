package signer

import (
	"context"

	"github.com/cnabsec/cnabsec/internal/names"
	"github.com/cnabsec/cnabsec/metadata"
)

// Revoke removes version targets (a yank): verifiers deny them from the next
// timestamp on. Their link files stay listed only by the removed version, so
// nothing references them any more. A name under a reserved in-toto segment
// (which Sign refuses and verifiers deny) can be revoked too: that is how a
// target signed out of policy is cleaned up.
func Revoke(ctx context.Context, repo *metadata.Repository, opts Options, refs ...string) (*metadata.Result, error) {
	targets := make([]string, 0, len(refs))
	for _, ref := range refs {
		v, err := names.ParseVersionSyntax(ref)
		if err != nil {
			return nil, err
		}
		targets = append(targets, v.Target)
	}
	return repo.Update(ctx, metadata.UpdateOptions{Signers: opts.Keys, Snapshot: opts.Snapshot, Timestamp: opts.Timestamp}, func(tx *metadata.Tx) error {
		for _, t := range targets {
			if err := tx.RemoveTarget(t); err != nil {
				return err
			}
		}
		return nil
	})
}
