package oci

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/cnabsec/cnabsec/internal/fault"
)

// ErrTagNotFound: the registry has no manifest under the tag (or no such
// repository). Callers that may go on when a version is not pushed yet test
// for it with errors.Is.
var ErrTagNotFound = errors.New("tag not found")

// classify turns a registry error into a fault naming what failed (what, e.g.
// "image index.docker.io/library/x:1") and why. Errors that already carry a
// kind keep it.
func classify(err error, what string, ref name.Reference) error {
	if err == nil {
		return nil
	}
	if fault.KindOf(err) != fault.Unknown {
		return err
	}
	var (
		terr    *transport.Error
		refused *PlainHTTPRefusedError
		large   *TooLargeError
		unknown x509.UnknownAuthorityError
		hostErr x509.HostnameError
		certErr *tls.CertificateVerificationError
	)
	switch {
	case errors.As(err, &refused):
		return fault.WithRemedy(fault.Inputf("%s: %w", what, err),
			fault.RemedyInsecureRegistry, refused.Host)
	case errors.As(err, &large):
		return fault.Deniedf("%s: %w", what, err)
	case errors.As(err, &terr):
		return classifyStatus(terr, what, ref)
	case errors.As(err, &certErr), errors.As(err, &unknown), errors.As(err, &hostErr):
		return fault.WithRemedy(fault.Inconclusivef("%s: TLS certificate not trusted: %w", what, err),
			fault.RemedyTrustRegistryCA, "")
	case errors.Is(err, context.DeadlineExceeded):
		return fault.WithRemedy(fault.Inconclusivef("%s: registry timed out: %w", what, err),
			fault.RemedyRetryOrRaiseTimeout, "")
	case errors.Is(err, context.Canceled):
		return fault.Inconclusivef("%s: cancelled: %w", what, err)
	}
	var nerr net.Error
	if errors.As(err, &nerr) {
		return fault.Inconclusivef("%s: registry unreachable: %w", what, err)
	}
	return fault.Inconclusivef("%s: %w", what, err)
}

// classifyStatus classifies a registry's error response: a tag that is not
// there, missing content, content refused or access refused.
func classifyStatus(terr *transport.Error, what string, ref name.Reference) error {
	codes := map[transport.ErrorCode]bool{}
	for _, d := range terr.Errors {
		codes[d.Code] = true
	}
	if _, byTag := ref.(name.Tag); byTag {
		if err := tagNotFound(terr, codes, what); err != nil {
			return err
		}
	}
	if err := contentNotFound(terr, codes, what); err != nil {
		return err
	}
	return refusedStatus(terr, codes, what)
}

// tagNotFound is ErrTagNotFound when the registry has no such repository or
// no manifest under the tag; otherwise nil.
func tagNotFound(terr *transport.Error, codes map[transport.ErrorCode]bool, what string) error {
	switch {
	case codes[transport.NameUnknownErrorCode]:
		return fault.Deniedf("%s: %w (no such repository): %w", what, ErrTagNotFound, terr)
	case codes[transport.ManifestUnknownErrorCode] ||
		terr.StatusCode == http.StatusNotFound && !codes[transport.BlobUnknownErrorCode]:
		return fault.Deniedf("%s: %w: %w", what, ErrTagNotFound, terr)
	}
	return nil
}

// contentNotFound names the manifest, repository or blob the registry does
// not have; nil when the response is not about missing content.
func contentNotFound(terr *transport.Error, codes map[transport.ErrorCode]bool, what string) error {
	switch {
	case codes[transport.ManifestUnknownErrorCode]:
		return fault.Deniedf("%s: manifest unknown: %w", what, terr)
	case codes[transport.NameUnknownErrorCode]:
		return fault.Deniedf("%s: repository not found: %w", what, terr)
	case codes[transport.BlobUnknownErrorCode], codes[transport.ManifestBlobUnknownErrorCode]:
		return fault.Deniedf("%s: blob unknown: %w", what, terr)
	case terr.StatusCode == http.StatusNotFound:
		return fault.Deniedf("%s: not found: %w", what, terr)
	}
	return nil
}

// refusedStatus classifies the other error responses: content refused,
// access refused, rate limits, and any other registry error.
func refusedStatus(terr *transport.Error, codes map[transport.ErrorCode]bool, what string) error {
	switch {
	case codes[transport.DigestInvalidErrorCode], codes[transport.SizeInvalidErrorCode]:
		return fault.Deniedf("%s: content does not match its digest or size: %w", what, terr)
	case terr.StatusCode == http.StatusUnauthorized, terr.StatusCode == http.StatusForbidden,
		codes[transport.UnauthorizedErrorCode], codes[transport.DeniedErrorCode]:
		return fault.WithRemedy(fault.Inconclusivef("%s: access refused by the registry: %w", what, terr),
			fault.RemedyRegistryLogin, "")
	case terr.StatusCode == http.StatusTooManyRequests, codes[transport.TooManyRequestsErrorCode]:
		return fault.WithRemedy(fault.Inconclusivef("%s: rate-limited by the registry: %w", what, terr),
			fault.RemedyRetryLater, "")
	}
	return fault.Inconclusivef("%s: registry error: %w", what, terr)
}
