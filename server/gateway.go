package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/hashicorp/golang-lru/v2/expirable"

	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/verifier"
)

// MaxManifestSize caps a manifest the gateway reads from upstream.
const MaxManifestSize = 4 << 20

// defaultManifestAccept is sent upstream when the client named no media types.
var defaultManifestAccept = strings.Join([]string{
	"application/vnd.oci.image.manifest.v1+json",
	"application/vnd.oci.image.index.v1+json",
	"application/vnd.docker.distribution.manifest.v2+json",
	"application/vnd.docker.distribution.manifest.list.v2+json",
}, ", ")

// GatewayOptions configures a Gateway.
type GatewayOptions struct {
	// Verifier verifies against the trusted TUF state (required).
	Verifier Verifier
	// Upstream is the registry's base URL, e.g. https://registry.example.com.
	Upstream string
	// TargetRegistry is the registry name targets are signed under (default:
	// the upstream's host[:port]).
	TargetRegistry string
	// Level is required of every image (default 2).
	Level verifier.Level
	// RefreshInterval is how often the TUF state is refreshed (default 5m).
	RefreshInterval time.Duration
	// Timeout bounds each upstream request for a manifest, and the wait for
	// the response headers of proxied requests (default 30s).
	Timeout time.Duration
	// Transport reaches the upstream (default: an http.Transport with timeouts).
	Transport http.RoundTripper
	// MaxBlobSize caps a blob the gateway streams from upstream (default
	// DefaultMaxBlobSize).
	MaxBlobSize int64
	// CacheTTL and CacheSize bound the verdict cache (defaults 5m, 10000).
	CacheTTL  time.Duration
	CacheSize int
	Logger    *slog.Logger
	Now       func() time.Time
}

// Gateway is a pull-through gate in front of an OCI registry: manifests are
// served only for verified content, by digest, exactly as verified; blobs
// are streamed only as far as their bytes hash to their digest; the base
// endpoint, the catalog and tag lists pass through; everything else is
// refused with the registry error DENIED.
type Gateway struct {
	upstream  *url.URL
	targetReg string
	level     verifier.Level
	timeout   time.Duration
	client    *http.Client
	blobs     *http.Client // no overall timeout: a blob may be large
	maxBlob   int64
	proxy     *httputil.ReverseProxy
	v         Verifier
	trust     *trust
	checker   *checker
	metrics   *metrics
	log       *slog.Logger
	index     *indexHolder
	children  *expirable.LRU[childKey, struct{}]
	mux       *http.ServeMux
}

// childKey remembers a platform manifest of a verified index, per snapshot.
type childKey struct {
	snapshot int64
	repo     string
	digest   string
}

// NewGateway builds a Gateway. It does not contact anything; Run does.
func NewGateway(o GatewayOptions) (*Gateway, error) {
	if o.Verifier == nil {
		return nil, fault.Inputf("gateway: no verifier")
	}
	u, targetReg, err := ParseUpstream(o.Upstream, o.TargetRegistry)
	if err != nil {
		return nil, err
	}
	if o.Level == "" {
		o.Level = verifier.Level2
	}
	if _, err := imageLevel(string(o.Level)); err != nil {
		return nil, err
	}
	if o.RefreshInterval <= 0 {
		o.RefreshInterval = 5 * time.Minute
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	if o.Transport == nil {
		o.Transport = &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: o.Timeout, KeepAlive: 30 * time.Second}).DialContext,
			TLSHandshakeTimeout:   o.Timeout,
			ResponseHeaderTimeout: o.Timeout,
			MaxIdleConnsPerHost:   32,
			IdleConnTimeout:       90 * time.Second,
		}
	}
	if o.MaxBlobSize <= 0 {
		o.MaxBlobSize = DefaultMaxBlobSize
	}
	if o.CacheTTL <= 0 {
		o.CacheTTL = 5 * time.Minute
	}
	if o.CacheSize <= 0 {
		o.CacheSize = 10000
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	m := newMetrics()
	m.watchState(o.Verifier.State, o.Now)
	t := newTrust(o.Verifier, o.RefreshInterval, o.Now, o.Logger, m)
	g := &Gateway{
		upstream:  u,
		targetReg: targetReg,
		level:     o.Level,
		timeout:   o.Timeout,
		client:    &http.Client{Transport: o.Transport, Timeout: o.Timeout},
		blobs:     &http.Client{Transport: o.Transport},
		maxBlob:   o.MaxBlobSize,
		v:         o.Verifier,
		trust:     t,
		checker:   newChecker(o.Verifier, t, o.CacheSize, o.CacheTTL, m),
		metrics:   m,
		log:       o.Logger,
		index:     &indexHolder{v: o.Verifier, log: o.Logger},
		children:  expirable.NewLRU[childKey, struct{}](o.CacheSize, nil, o.CacheTTL),
		mux:       http.NewServeMux(),
	}
	t.onRefresh = append(t.onRefresh, func(ctx context.Context, st verifier.State) {
		if _, err := g.ensureIndex(ctx); err != nil {
			g.log.Error("rebuilding the digest index", "error", err.Error())
		}
	})
	g.proxy = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Scheme = u.Scheme
			pr.Out.URL.Host = u.Host
			pr.Out.Host = u.Host
			// The path was validated and holds no escapes: send it as received.
			pr.Out.URL.Path = pr.In.URL.Path
			pr.Out.URL.RawPath = ""
		},
		Transport: o.Transport,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			g.log.Warn("upstream", "path", r.URL.Path, "error", err.Error())
			registryError(w, http.StatusBadGateway, "UNAVAILABLE", fmt.Sprintf("upstream %s: %v", u.Host, err))
		},
	}
	g.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok\n") })
	g.mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if !t.ready.Load() {
			http.Error(w, "not ready: no successful TUF refresh yet: "+t.lastError(), http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "ready\n")
	})
	g.mux.Handle("GET /metrics", m.handler())
	return g, nil
}

// ParseUpstream checks --upstream (http(s)://HOST[:PORT], nothing more) and
// returns it with the registry name targets are looked up under:
// targetRegistry when given, else the upstream's host[:port], normalized as
// go-containerregistry does (docker.io becomes index.docker.io).
func ParseUpstream(upstream, targetRegistry string) (*url.URL, string, error) {
	u, err := url.Parse(upstream)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil || u.Fragment != "" {
		return nil, "", fault.Inputf("upstream %q: want http(s)://HOST[:PORT] with no path, query or credentials", upstream)
	}
	u.Path = ""
	reg := targetRegistry
	if reg == "" {
		reg = u.Host
	}
	r, err := name.NewRegistry(reg, name.StrictValidation)
	if err != nil {
		return nil, "", fault.Inputf("target registry %q: %w", reg, err)
	}
	return u, r.RegistryStr(), nil
}

// Run refreshes the TUF state at once and then every interval, until ctx is done.
func (g *Gateway) Run(ctx context.Context) { g.trust.run(ctx) }

// Refresh runs one TUF refresh now and rebuilds the digest index.
func (g *Gateway) Refresh(ctx context.Context) error { return g.trust.refresh(ctx) }

// Handler is the gateway's HTTP handler: the registry API under /v2/, and
// /healthz, /readyz, /metrics.
func (g *Gateway) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.RequestURI, "/v2") {
			g.serveRegistry(w, r)
			return
		}
		g.mux.ServeHTTP(w, r)
	})
}

// registryError writes a distribution-spec error.
func registryError(w http.ResponseWriter, status int, code, msg string) {
	type e struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	body, _ := json.Marshal(struct {
		Errors []e `json:"errors"`
	}{[]e{{code, msg}}})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)+1))
	w.WriteHeader(status)
	w.Write(append(body, '\n'))
}

func (g *Gateway) deny(w http.ResponseWriter, r *http.Request, endpoint string, start time.Time, msg string) {
	g.log.Info("gateway denied", "method", r.Method, "path", r.URL.Path, "reason", msg)
	registryError(w, http.StatusForbidden, "DENIED", msg)
	g.metrics.observe(endpoint, "denied", start)
}

func (g *Gateway) serveRegistry(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rt, err := parseRegistryPath(r.RequestURI)
	if err != nil {
		pe := err.(*pathError)
		g.log.Info("gateway refused path", "method", r.Method, "uri", r.RequestURI, "reason", pe.msg)
		registryError(w, pe.status, pe.code, pe.msg)
		g.metrics.observe("gateway", "bad_request", start)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		g.deny(w, r, "gateway", start, fmt.Sprintf("method %s: this gateway only serves pulls (GET, HEAD)", r.Method))
		return
	}
	switch rt.kind {
	case routeManifest:
		g.serveManifest(w, r, rt, start)
	case routeBlob:
		g.serveBlob(w, r, rt, start)
	default:
		g.proxy.ServeHTTP(w, r)
		g.metrics.observe("gateway_proxy", "proxied", start)
	}
}

// ensureIndex returns the digest index of the current snapshot, rebuilding it
// when the snapshot changed.
func (g *Gateway) ensureIndex(ctx context.Context) (*digestIndex, error) {
	return g.index.get(ctx)
}

// servedManifest is a manifest the gateway decided to serve: exactly the
// bytes it hashed, and the digest the decision was about.
type servedManifest struct {
	repo        string
	digest      string // hex sha256 of data
	data        []byte
	contentType string
}

// refusal is a read the gateway does not serve: its own denial, or the
// upstream's failure (never with a body the gateway did not verify).
type refusal struct {
	status  int
	code    string
	msg     string
	outcome string      // metrics label
	hdr     http.Header // upstream headers a client needs (WWW-Authenticate, Retry-After)
}

func denied(format string, args ...any) *refusal {
	return &refusal{status: http.StatusForbidden, code: "DENIED", msg: fmt.Sprintf(format, args...), outcome: "denied"}
}

// refuse answers a refusal with a distribution-spec error of the gateway's own.
func (g *Gateway) refuse(w http.ResponseWriter, r *http.Request, endpoint string, start time.Time, f *refusal) {
	g.log.Info("gateway refused", "method", r.Method, "path", r.URL.Path, "status", f.status, "reason", f.msg)
	for _, k := range []string{"Www-Authenticate", "Retry-After"} {
		if v := f.hdr.Values(k); len(v) > 0 {
			w.Header()[k] = v
		}
	}
	registryError(w, f.status, f.code, f.msg)
	g.metrics.observe(endpoint, f.outcome, start)
}

// serveManifest admits a manifest read only for verified content and serves
// exactly the bytes whose digest the decision was made on.
func (g *Gateway) serveManifest(w http.ResponseWriter, r *http.Request, rt route, start time.Time) {
	m, f := g.verifiedManifest(r, rt)
	if f != nil {
		g.refuse(w, r, "gateway_manifest", start, f)
		return
	}
	w.Header().Set("Content-Type", m.contentType)
	w.Header().Set("Docker-Content-Digest", "sha256:"+m.digest)
	w.Header().Set("Content-Length", strconv.Itoa(len(m.data)))
	w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		w.Write(m.data)
	}
	g.log.Info("gateway served", "method", r.Method, "repository", m.repo, "ref", rt.ref, "digest", "sha256:"+m.digest)
	g.metrics.observe("gateway_manifest", "verified", start)
}

// verifiedManifest decides a manifest read and returns the bytes to serve:
// those of the one upstream response that was hashed and matched the digest
// the decision is about. Nothing is fetched again after the check.
func (g *Gateway) verifiedManifest(r *http.Request, rt route) (*servedManifest, *refusal) {
	ctx := r.Context()
	repoRef, err := name.NewRepository(g.targetReg + "/" + rt.name)
	if err != nil {
		return nil, denied("repository %s: %v", rt.name, err)
	}
	repo := repoRef.Name()
	if err := g.trust.ensureFresh(ctx); err != nil {
		return nil, denied("%s:%s: inconclusive: %v", repo, rt.ref, err)
	}
	idx, err := g.ensureIndex(ctx)
	if err != nil {
		return nil, denied("%s:%s: inconclusive: %v", repo, rt.ref, err)
	}
	var m *servedManifest
	var f *refusal
	if rt.isDigest() {
		m, f = g.manifestByDigest(ctx, r, idx, rt, repo)
	} else {
		m, f = g.manifestByTag(ctx, r, idx, rt, repo)
	}
	if f == nil {
		g.rememberChildren(idx.snapshot, repo, m.contentType, m.data)
	}
	return m, f
}

// manifestByDigest admits a digest read when the digest is signed for the
// repository (or is a platform manifest of a verified index), then reads it
// upstream and checks that its bytes hash to it.
func (g *Gateway) manifestByDigest(ctx context.Context, r *http.Request, idx *digestIndex, rt route, repo string) (*servedManifest, *refusal) {
	digest := strings.TrimPrefix(rt.ref, "sha256:")
	subject := repo + "@sha256:" + digest
	if msg := g.admitDigest(ctx, idx, repo, digest); msg != "" {
		return nil, denied("%s", msg)
	}
	data, hdr, f := g.readManifest(ctx, r, rt.name, rt.ref, subject)
	if f != nil {
		return nil, f
	}
	if got := sha256Hex(data); got != digest {
		return nil, denied("%s: upstream served manifest bytes hashing to sha256:%s for sha256:%s (malicious or broken registry)", subject, got, digest)
	}
	return &servedManifest{repo: repo, digest: digest, data: data, contentType: hdr.Get("Content-Type")}, nil
}

// manifestByTag admits a tag read when the tag is a signed target that
// verifies at the gateway's level and the tag still names the signed content
// upstream: a re-tagged or moved tag is refused, not silently served other
// content. The bytes read are hashed here, and served only when they are the
// signed ones.
func (g *Gateway) manifestByTag(ctx context.Context, r *http.Request, idx *digestIndex, rt route, repo string) (*servedManifest, *refusal) {
	target := repo + ":" + rt.ref
	signed, ok := idx.byName[target]
	if !ok {
		return nil, denied("%s: no signed target of that name in the trusted TUF metadata (unsigned image, or a tag that was never signed)", target)
	}
	if _, err := g.checker.check(ctx, verifier.Request{Reference: target, Level: g.level, Image: true}); err != nil {
		return nil, denied("%s", denialText(target, g.level, err))
	}
	data, hdr, f := g.readManifest(ctx, r, rt.name, rt.ref, target)
	if f != nil {
		return nil, f
	}
	// Hash what was served rather than trusting the Docker-Content-Digest header.
	if cur := sha256Hex(data); cur != signed {
		return nil, denied("%s: the tag points upstream to sha256:%s, but the signed target is sha256:%s (re-tagged or moved tag)", target, cur, signed)
	}
	return &servedManifest{repo: repo, digest: signed, data: data, contentType: hdr.Get("Content-Type")}, nil
}

func sha256Hex(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

func denialText(target string, lvl verifier.Level, err error) string {
	if fault.KindOf(err) == fault.Inconclusive {
		return fmt.Sprintf("%s at level %s: inconclusive: %v", target, lvl, err)
	}
	return fmt.Sprintf("%s at level %s: %v", target, lvl, err)
}

// admitDigest decides a manifest read by digest; it returns the denial
// reason, or "" when admitted.
func (g *Gateway) admitDigest(ctx context.Context, idx *digestIndex, repo, digest string) string {
	names := idx.namesIn(repo, digest)
	var reasons []string
	for i, target := range names {
		if i == 4 {
			break
		}
		_, err := g.checker.check(ctx, verifier.Request{Reference: target, Level: g.level, Image: true})
		if err == nil {
			return ""
		}
		reasons = append(reasons, denialText(target, g.level, err))
	}
	if len(reasons) > 0 {
		return strings.Join(reasons, "; ")
	}
	if g.children.Contains(childKey{idx.snapshot, repo, digest}) {
		return ""
	}
	if others := idx.byDigest[digest]; len(others) > 0 {
		return fmt.Sprintf("%s@sha256:%s: signed only under another repository (%s), not for %s", repo, digest, others[0], repo)
	}
	return fmt.Sprintf("%s@sha256:%s: neither a signed target nor a platform manifest of a verified index", repo, digest)
}

// upstreamRequest builds a request to the upstream registry carrying the
// client's credentials and, for a manifest, its accepted media types. No
// other header (Range, If-None-Match...) is forwarded: the gateway reads
// whole objects, so that it can hash them.
func (g *Gateway) upstreamRequest(ctx context.Context, in *http.Request, method, path string, manifest bool) (*http.Request, error) {
	u := *g.upstream
	u.Path = path
	req, err := http.NewRequestWithContext(ctx, method, u.String(), nil)
	if err != nil {
		return nil, err
	}
	if a := in.Header.Get("Authorization"); a != "" {
		req.Header.Set("Authorization", a)
	}
	if !manifest {
		return req, nil
	}
	accept := in.Header.Values("Accept")
	if len(accept) == 0 {
		req.Header.Set("Accept", defaultManifestAccept)
	} else {
		req.Header["Accept"] = accept
	}
	return req, nil
}

// readManifest reads a manifest (by tag or digest) upstream, at most
// MaxManifestSize bytes. Only an HTTP 200 yields bytes, which the caller
// hashes before serving them; any other answer is a refusal that carries none
// of the upstream's body (see upstreamRefusal).
func (g *Gateway) readManifest(ctx context.Context, in *http.Request, repoName, ref, subject string) ([]byte, http.Header, *refusal) {
	req, err := g.upstreamRequest(ctx, in, http.MethodGet, "/v2/"+repoName+"/manifests/"+ref, true)
	if err != nil {
		return nil, nil, denied("%s: %v", subject, err)
	}
	resp, err := g.client.Do(req)
	if err != nil {
		return nil, nil, denied("%s: inconclusive: reading the manifest upstream: %v", subject, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, nil, g.upstreamRefusal(resp, "MANIFEST_UNKNOWN", subject)
	}
	data, err := readCapped(resp.Body, resp.ContentLength, MaxManifestSize)
	if err != nil {
		return nil, nil, denied("%s: %v", subject, err)
	}
	return data, resp.Header, nil
}

// upstreamRefusal turns an upstream answer other than 200 into the gateway's
// own: a client error or server error (4xx, 5xx) keeps its status and the
// headers a client needs to authenticate or back off, with a registry error
// of the gateway's (the upstream's body is never relayed: nothing unverified
// reaches the client); any other status (a 2xx other than 200 such as 203
// or 206, a 1xx or an unfollowed 3xx) is a broken or malicious upstream: 502.
func (g *Gateway) upstreamRefusal(resp *http.Response, notFound, subject string) *refusal {
	st := resp.StatusCode
	if st < 400 || st > 599 {
		return &refusal{status: http.StatusBadGateway, code: "UNAVAILABLE", outcome: "upstream_bad_status",
			msg: fmt.Sprintf("%s: upstream %s answered HTTP %d; only a 200 whose bytes hash to the digest is served (broken or malicious registry)", subject, g.upstream.Host, st)}
	}
	code := "UNKNOWN"
	switch {
	case st == http.StatusUnauthorized:
		code = "UNAUTHORIZED"
	case st == http.StatusForbidden:
		code = "DENIED"
	case st == http.StatusNotFound:
		code = notFound
	case st == http.StatusTooManyRequests:
		code = "TOOMANYREQUESTS"
	case st >= 500:
		code = "UNAVAILABLE"
	}
	return &refusal{status: st, code: code, outcome: "upstream_" + strconv.Itoa(st), hdr: resp.Header,
		msg: fmt.Sprintf("%s: upstream %s answered HTTP %d", subject, g.upstream.Host, st)}
}

// readCapped reads at most limit bytes and fails beyond. size is the length
// the upstream announced (-1 if none): the buffer starts that large (plus
// one byte, to see the end without growing), up to manifestPrealloc, so
// that a manifest is usually read into one allocation rather than into a
// buffer grown from 512 bytes. The cap is on the bytes read, whatever
// length was announced.
func readCapped(r io.Reader, size, limit int64) ([]byte, error) {
	data := make([]byte, 0, min(max(size, 511), manifestPrealloc, limit)+1)
	lr := io.LimitReader(r, limit+1)
	for {
		if len(data) == cap(data) {
			data = append(data, 0)[:len(data)]
		}
		n, err := lr.Read(data[len(data):cap(data)])
		data = data[:len(data)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("inconclusive: reading the manifest upstream: %w", err)
		}
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("upstream manifest larger than %d bytes (endless data)", limit)
	}
	return data, nil
}

// manifestPrealloc bounds the buffer readCapped allocates on the upstream's
// word alone: an announced length does not make it allocate more than this
// before the bytes arrive.
const manifestPrealloc = 64 << 10

// mayListManifests reports whether data could decode to a manifests list,
// so that an image manifest skips a decode that would find none (it was half
// the gateway's CPU per manifest read). encoding/json matches keys whatever
// their case, after unescaping, folding some non-ASCII letters: only pure
// ASCII without escapes that nowhere spells "manifests" in any case is
// certain to list none.
func mayListManifests(data []byte) bool {
	const key = "manifests"
	for i, c := range data {
		if c >= utf8.RuneSelf || c == '\\' {
			return true
		}
		if c|0x20 == 'm' && i+len(key) <= len(data) && bytes.EqualFold(data[i:i+len(key)], []byte(key)) {
			return true
		}
	}
	return false
}

// rememberChildren records the platform manifests of a verified index: they
// are admitted by digest for the same repository and snapshot.
func (g *Gateway) rememberChildren(snapshot int64, repo, contentType string, data []byte) {
	var idx struct {
		MediaType string `json:"mediaType"`
		Manifests []struct {
			Digest string `json:"digest"`
		} `json:"manifests"`
	}
	if !mayListManifests(data) || json.NewDecoder(bytes.NewReader(data)).Decode(&idx) != nil {
		return
	}
	mt := idx.MediaType
	if mt == "" {
		mt = contentType
	}
	if mt != "application/vnd.oci.image.index.v1+json" && mt != "application/vnd.docker.distribution.manifest.list.v2+json" {
		return
	}
	for _, m := range idx.Manifests {
		if sha256RE.MatchString(m.Digest) {
			g.children.Add(childKey{snapshot, repo, strings.TrimPrefix(m.Digest, "sha256:")}, struct{}{})
		}
	}
}
