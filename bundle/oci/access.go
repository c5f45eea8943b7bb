package oci

import (
	"context"
	"io"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// RemoteOptions returns go-containerregistry remote options that apply opts
// (the plain-HTTP rule, per-host TLS, per-request timeout, manifest size cap,
// proxies, credentials) to other registry work, e.g. metadata stored as OCI
// artifacts. Errors from remote.* calls are not classified: wrap them.
func RemoteOptions(ctx context.Context, opts Options) []remote.Option {
	return newSession(ctx, opts).remoteOptions()
}

// OpenBlob streams the blob repo@digest. The reader fails (fault.Denied)
// unless exactly size bytes hashing to digest (sha256) arrive; read it to
// EOF before trusting anything read. Missing blobs are fault.Denied,
// unreachable registries fault.Inconclusive.
func OpenBlob(ctx context.Context, repo name.Repository, digest string, size int64, opts Options) (io.ReadCloser, error) {
	return newSession(ctx, opts).openBlob(repo, digest, size, "blob "+repo.Name()+"@"+digest)
}
