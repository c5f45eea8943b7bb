package ocistore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/cnabsec/cnabsec/bundle/oci"
	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/metadata/client"
)

// maxFileManifest caps the manifest of a stored file (about 600 bytes).
const maxFileManifest = 64 << 10

func init() {
	client.RegisterScheme(Scheme, func(location string, o client.FetcherOptions) (client.Fetcher, error) {
		// The client's deadline for each file is on the Fetch context; the
		// per-request timeout here bounds a registry that stops answering.
		timeout := o.ReadTimeout
		if timeout <= 0 {
			timeout = oci.DefaultTimeout
		}
		return NewFetcher(location, oci.Options{Timeout: timeout})
	})
}

// ParseLocation parses "oci://REG/REPO" (no tag, digest, query or
// credentials) into the repository holding the metadata. Hosts listed in
// opts.Insecure keep their plain-HTTP permission.
func ParseLocation(location string, opts oci.Options) (name.Repository, error) {
	rest, ok := strings.CutPrefix(location, Scheme+"://")
	if !ok {
		return name.Repository{}, fault.Inputf("metadata location %q: want oci://REGISTRY/REPOSITORY", location)
	}
	rest = strings.TrimRight(rest, "/")
	if strings.ContainsAny(rest, "?#@") || !strings.Contains(rest, "/") {
		return name.Repository{}, fault.Inputf("metadata location %q: want oci://REGISTRY/REPOSITORY (no tag, digest, query or credentials)", location)
	}
	if _, err := name.NewRepository(rest, name.StrictValidation); err != nil {
		return name.Repository{}, fault.Inputf("metadata location %q: %v", location, err)
	}
	ref, err := oci.ParseRef(rest, opts)
	if err != nil {
		return name.Repository{}, err
	}
	return ref.Context(), nil
}

// Fetcher reads a metadata repository stored by Push (see the package
// documentation for the layout). It implements client.Fetcher.
type Fetcher struct {
	repo     name.Repository
	location string
	puller   *remote.Puller
}

// NewFetcher builds the Fetcher for location "oci://REG/REPO". opts says how
// to reach the registry (timeouts, --insecure-registry hosts, credentials);
// manifests are capped at 64 KiB whatever opts.MaxManifestSize says.
func NewFetcher(location string, opts oci.Options) (*Fetcher, error) {
	repo, err := ParseLocation(location, opts)
	if err != nil {
		return nil, err
	}
	if opts.MaxManifestSize <= 0 || opts.MaxManifestSize > maxFileManifest {
		opts.MaxManifestSize = maxFileManifest
	}
	// One puller: one transport, reused connections, one authentication
	// per repository; each Fetch passes its own context.
	puller, err := remote.NewPuller(oci.RemoteOptions(context.Background(), opts)...)
	if err != nil {
		return nil, fault.Inputf("metadata location %q: %v", location, err)
	}
	return &Fetcher{repo: repo, location: location, puller: puller}, nil
}

// Repository is where the Fetcher reads.
func (f *Fetcher) Repository() name.Repository { return f.repo }

// Fetch returns the file name ("metadata/F" or "targets/.../<sha256>.<base>")
// of at most maxLen bytes. Missing files wrap client.ErrNotFound; bytes that
// do not match their digest, or more than maxLen of them, are Denied; an
// unreachable or failing registry is Inconclusive.
func (f *Fetcher) Fetch(ctx context.Context, fileName string, maxLen int64) ([]byte, error) {
	what := fmt.Sprintf("%s at %s", fileName, f.location)
	if err := ctx.Err(); err != nil {
		return nil, fault.Inconclusivef("%s: %v", what, context.Cause(ctx))
	}
	if file, ok := strings.CutPrefix(fileName, "metadata/"); ok && !strings.Contains(file, "/") {
		return f.fetchMetadata(ctx, file, maxLen, what)
	}
	if h, ok := targetBlobHex(fileName); ok {
		return f.fetchBlob(ctx, h, -1, maxLen, what, true)
	}
	// sha512-named target copies and paths outside the layout are never stored.
	return nil, fmt.Errorf("%s: an OCI metadata store keeps only metadata/* and sha256-named target files: %w", what, client.ErrNotFound)
}

func (f *Fetcher) fetchMetadata(ctx context.Context, file string, maxLen int64, what string) ([]byte, error) {
	tag, err := TagForMetadata(file)
	if err != nil {
		return nil, fmt.Errorf("%s: %v: %w", what, err, client.ErrNotFound)
	}
	desc, err := f.puller.Get(ctx, f.repo.Tag(tag))
	if err != nil {
		return nil, classify(ctx, err, what+" (tag "+tag+")", true)
	}
	l, err := parseFileManifest(desc.Manifest, MediaTypeMetadata, what+" (tag "+tag+")")
	if err != nil {
		return nil, fault.Wrap(fault.Denied, err)
	}
	if l.Size > maxLen {
		return nil, fault.Deniedf("%s exceeds %d bytes (its manifest says %d): endless data", what, maxLen, l.Size)
	}
	// The tag exists: a missing blob is a broken registry, not an absent file
	// (which would, e.g., end the client's walk of root versions early).
	return f.fetchBlob(ctx, strings.TrimPrefix(l.Digest, "sha256:"), l.Size, maxLen, what, false)
}

// fetchBlob reads blob sha256:<h> (size bytes, or -1 when unknown), at most
// maxLen bytes, and checks its digest and size. A missing blob wraps
// client.ErrNotFound when missingIsNotFound, else it is Inconclusive.
func (f *Fetcher) fetchBlob(ctx context.Context, h string, size, maxLen int64, what string, missingIsNotFound bool) ([]byte, error) {
	digest := "sha256:" + h
	what = what + " (blob " + digest + ")"
	layer, err := f.puller.Layer(ctx, f.repo.Digest(digest))
	if err == nil {
		var rc io.ReadCloser
		if rc, err = layer.Compressed(); err == nil {
			defer rc.Close()
			return readBlob(ctx, rc, h, size, maxLen, what)
		}
	}
	if isNotFound(err) && !missingIsNotFound {
		return nil, fault.Inconclusivef("%s: its manifest is in the registry but the blob is not: %v", what, err)
	}
	return nil, classify(ctx, err, what, true)
}

// readBlob reads at most maxLen bytes of blob sha256:<h> from rc and checks
// its digest and size.
func readBlob(ctx context.Context, rc io.Reader, h string, size, maxLen int64, what string) ([]byte, error) {
	data, rerr := io.ReadAll(io.LimitReader(rc, maxLen+1))
	if int64(len(data)) > maxLen {
		return nil, fault.Deniedf("%s exceeds %d bytes: endless data", what, maxLen)
	}
	if rerr != nil && (isTransient(ctx, rerr)) {
		return nil, classify(ctx, rerr, what, false)
	}
	if got := sha256Hex(data); got != h {
		return nil, fault.Deniedf("%s: the registry served %d bytes hashing to sha256:%s, not to the digest it was asked for", what, len(data), got)
	}
	if size >= 0 && int64(len(data)) != size {
		return nil, fault.Deniedf("%s: %d bytes, its manifest says %d", what, len(data), size)
	}
	if rerr != nil {
		return nil, classify(ctx, rerr, what, false)
	}
	return data, nil
}

// isTransient reports whether a read error means the data did not arrive
// (network, timeout, cancellation), as opposed to wrong data.
func isTransient(ctx context.Context, err error) bool {
	var nerr net.Error
	return ctx.Err() != nil || errors.As(err, &nerr) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)
}
