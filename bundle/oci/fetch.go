package oci

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/cnabsec/cnabsec/internal/fault"
)

// Media types cnabsec reads and writes.
const (
	MediaTypeOCIIndex        = "application/vnd.oci.image.index.v1+json"
	MediaTypeOCIManifest     = "application/vnd.oci.image.manifest.v1+json"
	MediaTypeDockerManifest  = "application/vnd.docker.distribution.manifest.v2+json"
	MediaTypeDockerList      = "application/vnd.docker.distribution.manifest.list.v2+json"
	MediaTypeCNABConfig      = "application/vnd.cnab.config.v1+json"
	MediaTypeCNABSpecConfig  = "application/vnd.cnab.bundle.config.v1+json"
	MediaTypeOCIConfig       = "application/vnd.oci.image.config.v1+json"
	MediaTypeDockerConfig    = "application/vnd.docker.container.image.v1+json"
	ArtifactTypeCNABManifest = "application/vnd.cnab.manifest.v1"
)

var manifestMediaTypes = []string{MediaTypeOCIIndex, MediaTypeOCIManifest, MediaTypeDockerList, MediaTypeDockerManifest}

// Descriptor is what a registry serves for a manifest reference.
type Descriptor struct {
	// Digest is sha256:HEX of RawManifest, the bytes the registry served.
	Digest string `json:"digest"`
	// Size is len(RawManifest).
	Size int64 `json:"size"`
	// MediaType is the manifest's media type (an index for multi-platform images).
	MediaType string `json:"mediaType"`
	// RawManifest is the manifest exactly as served.
	RawManifest []byte `json:"-"`
}

// session holds the registry clients of one operation: an authenticated
// transport per repository and scope, built on the guarded stack.
type session struct {
	ctx  context.Context
	opts Options
	base http.RoundTripper

	mu      sync.Mutex
	clients map[string]*http.Client
}

func newSession(ctx context.Context, opts Options) *session {
	opts = opts.withDefaults()
	return &session{ctx: ctx, opts: opts, base: newTransport(opts), clients: map[string]*http.Client{}}
}

// remoteOptions are the ggcr options for copies done by remote.*.
func (s *session) remoteOptions(extra ...remote.Option) []remote.Option {
	o := []remote.Option{
		remote.WithContext(s.ctx),
		remote.WithTransport(s.base),
		remote.WithAuthFromKeychain(s.opts.Keychain),
		remote.WithUserAgent("cnabsec"),
		remote.WithRetryBackoff(remote.Backoff{Duration: 500 * time.Millisecond, Factor: 2, Jitter: 0.1, Steps: 2}),
		remote.WithJobs(4),
	}
	return append(o, extra...)
}

func (s *session) client(repo name.Repository, scope string) (*http.Client, error) {
	key := repo.Name() + " " + scope
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.clients[key]; ok {
		return c, nil
	}
	auth, err := authn.Resolve(s.ctx, s.opts.Keychain, repo)
	if err != nil {
		return nil, fault.Inputf("credentials for %s: %w", repo.RegistryStr(), err)
	}
	tr, err := transport.NewWithContext(s.ctx, repo.Registry, auth, s.base, []string{repo.Scope(scope)})
	if err != nil {
		return nil, err
	}
	c := &http.Client{Transport: tr, CheckRedirect: sameSchemeRedirect}
	s.clients[key] = c
	return c, nil
}

// sameSchemeRedirect refuses redirects from HTTPS to HTTP and long chains.
func sameSchemeRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 5 {
		return errors.New("too many redirects")
	}
	if via[0].URL.Scheme == "https" && req.URL.Scheme != "https" {
		return fmt.Errorf("refusing redirect from HTTPS to %s", req.URL.Redacted())
	}
	return nil
}

func registryURL(repo name.Repository, kind, id string) string {
	u := url.URL{Scheme: repo.Scheme(), Host: repo.RegistryStr(), Path: fmt.Sprintf("/v2/%s/%s/%s", repo.RepositoryStr(), kind, id)}
	return u.String()
}

// fetchManifest GETs the manifest ref names and checks it: at most
// MaxManifestSize bytes; when ref is a digest, the bytes hash to it; when the
// registry states a Docker-Content-Digest, the bytes hash to that too.
func (s *session) fetchManifest(ref name.Reference, what string) (Descriptor, error) {
	repo := ref.Context()
	c, err := s.client(repo, transport.PullScope)
	if err != nil {
		return Descriptor{}, classify(err, what, ref)
	}
	resp, err := s.get(c, registryURL(repo, "manifests", ref.Identifier()), strings.Join(manifestMediaTypes, ", "))
	if err != nil {
		return Descriptor{}, classify(err, what, ref)
	}
	defer resp.Body.Close()
	if resp.ContentLength > s.opts.MaxManifestSize {
		return Descriptor{}, fault.Deniedf("%s: the registry announces a %d-byte manifest, over the %d-byte limit", what, resp.ContentLength, s.opts.MaxManifestSize)
	}
	raw, err := io.ReadAll(resp.Body) // capped by guardTransport
	if err != nil {
		return Descriptor{}, classify(err, what, ref)
	}
	sum := sha256.Sum256(raw)
	got := "sha256:" + hex.EncodeToString(sum[:])
	if d, ok := ref.(name.Digest); ok && d.DigestStr() != got {
		return Descriptor{}, fault.Deniedf("%s: manifest bytes hash to %s, not to the requested digest %s", what, got, d.DigestStr())
	}
	if claimed := resp.Header.Get("Docker-Content-Digest"); claimed != "" && claimed != got {
		return Descriptor{}, fault.Deniedf("%s: the registry claims digest %s but the manifest bytes it served hash to %s", what, claimed, got)
	}
	mt := mediaTypeOf(raw, resp.Header.Get("Content-Type"))
	return Descriptor{Digest: got, Size: int64(len(raw)), MediaType: mt, RawManifest: raw}, nil
}

// retryStatus are the answers worth asking again: rate limits and
// gateways or registries that are briefly unavailable.
var retryStatus = map[int]bool{
	http.StatusTooManyRequests: true, http.StatusBadGateway: true,
	http.StatusServiceUnavailable: true, http.StatusGatewayTimeout: true,
}

// retryDelays are the pauses before the second and third attempts.
var retryDelays = []time.Duration{300 * time.Millisecond, time.Second}

// get GETs url and returns a 200 response, or the registry's error after up
// to three attempts when it answers with a status in retryStatus.
func (s *session) get(c *http.Client, url, accept string) (*http.Response, error) {
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(s.ctx, http.MethodGet, url, nil)
		if err != nil {
			return nil, fault.Inputf("%s: %w", url, err)
		}
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		resp, err := c.Do(req)
		if err != nil {
			return nil, err
		}
		err = transport.CheckError(resp, http.StatusOK)
		if err == nil {
			return resp, nil
		}
		resp.Body.Close()
		if !retryStatus[resp.StatusCode] || attempt >= len(retryDelays) {
			return nil, err
		}
		slog.Debug("registry busy, retrying", "url", url, "status", resp.StatusCode)
		select {
		case <-time.After(retryDelays[attempt]):
		case <-s.ctx.Done():
			return nil, err
		}
	}
}

// mediaTypeOf prefers the manifest's own mediaType field over Content-Type.
func mediaTypeOf(raw []byte, contentType string) string {
	var m struct {
		MediaType string `json:"mediaType"`
	}
	if err := jsonUnmarshal(raw, &m); err == nil && m.MediaType != "" {
		return m.MediaType
	}
	if i := strings.IndexByte(contentType, ';'); i >= 0 {
		contentType = contentType[:i]
	}
	return strings.TrimSpace(contentType)
}

// openBlob GETs a blob and returns a reader that fails unless exactly size
// bytes hashing to digest arrive.
func (s *session) openBlob(repo name.Repository, digest string, size int64, what string) (io.ReadCloser, error) {
	if !strings.HasPrefix(digest, "sha256:") {
		return nil, fault.Deniedf("%s: blob digest %q: only sha256 digests are supported", what, digest)
	}
	if size < 0 {
		return nil, fault.Deniedf("%s: blob %s has a negative size %d", what, digest, size)
	}
	ref, err := repoDigest(repo, digest)
	if err != nil {
		return nil, err
	}
	c, err := s.client(repo, transport.PullScope)
	if err != nil {
		return nil, classify(err, what, ref)
	}
	resp, err := s.get(c, registryURL(repo, "blobs", digest), "")
	if err != nil {
		return nil, classify(err, what, ref)
	}
	if resp.ContentLength >= 0 && resp.ContentLength != size {
		resp.Body.Close()
		return nil, fault.Deniedf("%s: the registry announces %d bytes for blob %s, the descriptor says %d", what, resp.ContentLength, digest, size)
	}
	return &verifyReader{rc: resp.Body, h: sha256.New(), left: size, size: size, digest: digest, what: what, ref: ref}, nil
}

// fetchBlob reads a whole small blob through openBlob.
func (s *session) fetchBlob(repo name.Repository, digest string, size int64, what string) ([]byte, error) {
	rc, err := s.openBlob(repo, digest, size, what)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	var buf bytes.Buffer
	buf.Grow(int(size))
	if _, err := io.Copy(&buf, rc); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// verifyReader checks length and sha256 while reading; at EOF it fails unless
// both match the descriptor, and it never returns more than size bytes.
type verifyReader struct {
	rc     io.ReadCloser
	h      hash.Hash
	left   int64
	size   int64
	digest string
	what   string
	ref    name.Reference
}

func (v *verifyReader) Read(p []byte) (int, error) {
	if v.left < 0 {
		return 0, fault.Deniedf("%s: blob %s is larger than the %d bytes announced", v.what, v.digest, v.size)
	}
	if int64(len(p)) > v.left+1 {
		p = p[:v.left+1]
	}
	n, err := v.rc.Read(p)
	if int64(n) > v.left {
		// One byte past the announced size: stop here, return nothing extra.
		n = int(v.left)
		v.h.Write(p[:n])
		v.left = -1
		return n, fault.Deniedf("%s: blob %s is larger than the %d bytes announced", v.what, v.digest, v.size)
	}
	v.h.Write(p[:n])
	v.left -= int64(n)
	if err == io.EOF {
		if v.left > 0 {
			return n, fault.Deniedf("%s: blob %s ended after %d of the %d bytes announced", v.what, v.digest, v.size-v.left, v.size)
		}
		if got := "sha256:" + hex.EncodeToString(v.h.Sum(nil)); got != v.digest {
			return n, fault.Deniedf("%s: blob bytes hash to %s, not to %s", v.what, got, v.digest)
		}
		return n, io.EOF
	}
	if err != nil {
		return n, classify(err, v.what, v.ref)
	}
	return n, nil
}

func (v *verifyReader) Close() error { return v.rc.Close() }
