package server

import (
	"context"

	"github.com/cnabsec/cnabsec/verifier"
)

// Verifier is what the service needs from a verifier (*verifier.Verifier
// implements it).
type Verifier interface {
	// Verify runs one verification against the currently trusted TUF state.
	// The error is nil when verified; fault.KindOf(err) tells denied
	// (fault.Denied) from inconclusive (fault.Inconclusive) and bad request
	// (fault.Input).
	Verify(ctx context.Context, req verifier.Request) (*verifier.Report, error)
	// Refresh fetches new TUF metadata and atomically swaps the trusted state
	// (never concurrent with itself; Verify may run concurrently).
	Refresh(ctx context.Context) error
	// State describes the trusted TUF state.
	State() verifier.State
	// ResolveDigest returns the digest ("sha256:HEX") of the manifest the
	// registry serves for a reference now, or "" when the verifier reads no
	// registry. The service pins every tag to it before the verdict cache.
	ResolveDigest(ctx context.Context, ref string) (string, error)
	// Targets lists every version target of the trusted state (for the
	// gateway's digest index).
	Targets(ctx context.Context) ([]verifier.TargetRef, error)
}
