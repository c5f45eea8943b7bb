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
