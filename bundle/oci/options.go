package oci

import (
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"

	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/internal/names"
)

// Defaults applied to zero fields of Options.
const (
	DefaultTimeout         = 30 * time.Second
	DefaultMaxManifestSize = 4 << 20 // what Docker Distribution itself accepts
	DefaultMaxConfigSize   = 8 << 20
)

// Options says how to reach registries. The zero value is usable: 30s per
// request, Docker credentials, TLS everywhere except loopback.
type Options struct {
	// Timeout bounds each HTTP request, reading its body included (a
	// registry that drips bytes cannot stall a caller). Copying very large
	// layers over a slow link needs a larger value.
	Timeout time.Duration
	// Insecure lists registry hosts ("host" or "host:port") for which plain
	// HTTP and TLS certificates that do not verify are accepted. Loopback
	// hosts (127.0.0.0/8, ::1, localhost) may use plain HTTP without being
	// listed; every other host must use verified HTTPS.
	Insecure []string
	// Keychain provides registry credentials; nil means authn.DefaultKeychain
	// (the Docker config and its credential helpers).
	Keychain authn.Keychain
	// Progress, when set, is called with the progress of each image copy or
	// thick pull (at most every 100 ms, and when it finishes); nil means no
	// reports. The CLI draws them on a terminal.
	Progress func(Progress)
	// MaxManifestSize caps every manifest or index read from a registry.
	MaxManifestSize int64
	// MaxConfigSize caps the bundle config blob (bundle.json).
	MaxConfigSize int64

	// transport replaces the network under the security checks (tests only).
	transport http.RoundTripper
}

func (o Options) withDefaults() Options {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Keychain == nil {
		o.Keychain = authn.DefaultKeychain
	}
	if o.MaxManifestSize <= 0 {
		o.MaxManifestSize = DefaultMaxManifestSize
	}
	if o.MaxConfigSize <= 0 {
		o.MaxConfigSize = DefaultMaxConfigSize
	}
	return o
}

// IsLoopback reports whether host ("name" or "name:port", IPv6 in brackets)
// names the local machine: localhost, 127.0.0.0/8 or ::1.
func IsLoopback(host string) bool {
	h := hostname(host)
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// AllowsPlainHTTP reports whether cnabsec may talk plain HTTP (or accept a TLS
// certificate that does not verify) to the registry host: only loopback hosts
// and hosts listed in o.Insecure. go-containerregistry on its own would also
// use HTTP for RFC 1918 addresses and *.local names; cnabsec refuses that.
func (o Options) AllowsPlainHTTP(host string) bool {
	return IsLoopback(host) || o.isListedInsecure(host)
}

func (o Options) isListedInsecure(host string) bool {
	for _, h := range o.Insecure {
		h = strings.TrimSpace(h)
		h = strings.TrimPrefix(strings.TrimPrefix(h, "http://"), "https://")
		h = strings.TrimSuffix(h, "/")
		switch {
		case h == "":
		case hasPort(h):
			if strings.EqualFold(h, host) {
				return true
			}
		case strings.EqualFold(hostname(h), hostname(host)):
			return true
		}
	}
	return false
}

func hostname(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		return h
	}
	return strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
}

func hasPort(host string) bool {
	_, _, err := net.SplitHostPort(host)
	return err == nil
}

// ParseRef parses an image or bundle reference. Docker Hub short names are
// normalized (nginx → index.docker.io/library/nginx:latest); a reference
// without tag or digest means :latest. A malformed reference is an Input
// error.
func ParseRef(s string, opts Options) (name.Reference, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, fault.Inputf("empty image reference")
	}
	ref, err := names.ParseReference(s)
	if err != nil {
		return nil, fault.WithRemedy(fault.Inputf("reference %q: %w", s, err),
			fault.RemedyReferenceSyntax, s)
	}
	if opts.isListedInsecure(ref.Context().RegistryStr()) {
		ref, err = name.ParseReference(s, name.Insecure)
		if err != nil {
			return nil, fault.Inputf("reference %q: %w", s, err)
		}
	}
	return ref, nil
}

// Normalize returns the TUF target name of an image or bundle reference:
// REGISTRY/REPOSITORY:TAG or REGISTRY/REPOSITORY@sha256:HEX with Docker Hub
// short names expanded (cnab/app:1 → index.docker.io/cnab/app:1). A string
// that does not parse as a reference is returned unchanged; use ParseRef to
// validate.
func Normalize(s string) string {
	ref, err := name.ParseReference(strings.TrimSpace(s))
	if err != nil {
		return s
	}
	return ref.Name()
}

// repoDigest returns repo@digest, keeping repo's registry settings (the
// insecure flag ParseRef sets). digest must be sha256:<64 hex>; digests come
// from registries or bundles, so a malformed one is a denial.
func repoDigest(repo name.Repository, digest string) (name.Digest, error) {
	if !isSHA256Digest(digest) {
		return name.Digest{}, fault.Deniedf("digest %q in repository %s: not sha256:<64 hex>", digest, repo.Name())
	}
	return repo.Digest(digest), nil
}
