package oci

import (
	"context"

	"github.com/google/go-containerregistry/pkg/name"
)

// ResolveImage returns the registry manifest of ref — for a multi-platform
// image, its index — with the digest of the bytes served. The bytes must hash
// to ref's digest (for a digest reference) and to the digest the registry
// announces; they are capped at MaxManifestSize. A tag that moved resolves to
// the new content: callers compare the digest with the one they trust.
//
// Errors: tag or manifest not found → fault.Denied ("tag not found",
// "manifest unknown"); mismatching or oversized content → fault.Denied;
// registry unreachable, 5xx, timeout, refused credentials →
// fault.Inconclusive.
func ResolveImage(ctx context.Context, ref name.Reference, opts Options) (Descriptor, error) {
	s := newSession(ctx, opts)
	return s.fetchManifest(ref, "image "+ref.Name())
}

// Resolver resolves many image references with one session, so that a
// verification of a bundle with many images authenticates once per
// repository. It is safe for concurrent use.
type Resolver struct{ s *session }

// NewResolver returns a Resolver bound to ctx.
func NewResolver(ctx context.Context, opts Options) *Resolver {
	return &Resolver{s: newSession(ctx, opts)}
}

// Resolve is ResolveImage on the Resolver's session.
func (r *Resolver) Resolve(ref name.Reference) (Descriptor, error) {
	return r.s.fetchManifest(ref, "image "+ref.Name())
}
