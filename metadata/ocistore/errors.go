package ocistore

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/cnabsec/cnabsec/bundle/oci"
	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/metadata/client"
)

// isNotFound reports whether a registry error says the manifest, tag, blob
// or repository does not exist.
func isNotFound(err error) bool {
	var terr *transport.Error
	if !errors.As(err, &terr) {
		return false
	}
	if terr.StatusCode == http.StatusNotFound {
		return true
	}
	for _, d := range terr.Errors {
		switch d.Code {
		case transport.ManifestUnknownErrorCode, transport.BlobUnknownErrorCode, transport.NameUnknownErrorCode:
			return true
		}
	}
	return false
}

// classify turns an error from a registry call into a fault naming what
// (e.g. "metadata file metadata/3.root.json at oci://reg/repo") and why.
// When notFound is true a missing object wraps client.ErrNotFound (what the
// TUF client expects); otherwise it is a Denied "not found".
func classify(ctx context.Context, err error, what string, notFound bool) error {
	if err == nil {
		return nil
	}
	if fault.KindOf(err) != fault.Unknown || errors.Is(err, client.ErrNotFound) {
		return err
	}
	var (
		terr    *transport.Error
		refused *oci.PlainHTTPRefusedError
		large   *oci.TooLargeError
	)
	switch {
	case isNotFound(err) && notFound:
		return fmt.Errorf("%s: not in the registry: %w", what, client.ErrNotFound)
	case isNotFound(err):
		return fault.Deniedf("%s: not found in the registry: %w", what, err)
	case errors.As(err, &refused):
		return fault.WithRemedy(fault.Inputf("%s: %w", what, err),
			fault.RemedyInsecureRegistry, refused.Host)
	case errors.As(err, &large):
		return fault.Deniedf("%s: %w: endless data", what, err)
	case errors.As(err, &terr):
		return statusError(terr, err, what)
	}
	return connectionError(ctx, err, what)
}

// statusError classifies an error response of the registry: access refused
// or another registry error.
func statusError(terr *transport.Error, err error, what string) error {
	if terr.StatusCode == http.StatusUnauthorized || terr.StatusCode == http.StatusForbidden {
		return fault.WithRemedy(fault.Inconclusivef("%s: access refused by the registry: %w", what, err),
			fault.RemedyRegistryLogin, "")
	}
	return fault.Inconclusivef("%s: registry error: %w", what, err)
}

// connectionError classifies an error reaching the registry: an untrusted
// certificate, a timeout, a cancellation, an unreachable registry.
func connectionError(ctx context.Context, err error, what string) error {
	var (
		certErr *tls.CertificateVerificationError
		unknown x509.UnknownAuthorityError
		hostErr x509.HostnameError
		nerr    net.Error
	)
	switch {
	case errors.As(err, &certErr), errors.As(err, &unknown), errors.As(err, &hostErr):
		return fault.WithRemedy(fault.Inconclusivef("%s: TLS certificate not trusted: %w", what, err),
			fault.RemedyTrustRegistryCA, "")
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(context.Cause(ctx), context.DeadlineExceeded):
		return fault.WithRemedy(fault.Inconclusivef("%s: registry timed out: %w", what, err), fault.RemedyRetryOrRaiseTimeout, "")
	case errors.Is(err, context.Canceled):
		return fault.Inconclusivef("%s: cancelled: %w", what, err)
	case errors.As(err, &nerr), errors.Is(err, io.ErrUnexpectedEOF):
		return fault.Inconclusivef("%s: registry unreachable: %w", what, err)
	}
	return fault.Inconclusivef("%s: %w", what, err)
}
