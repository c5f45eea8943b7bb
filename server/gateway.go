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
	"sync/atomic"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/hashicorp/golang-lru/v2/expirable"
	"golang.org/x/sync/singleflight"

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
	// CacheTTL and CacheSize bound the verdict cache (defaults 5m, 10000).
	CacheTTL  time.Duration
	CacheSize int
	Logger    *slog.Logger
	Now       func() time.Time
}

// Gateway is a pull-through gate in front of an OCI registry: manifests are
// served only for verified content, by digest, exactly as verified; blobs
// (content-addressed), the base endpoint, the catalog and tag lists pass
// through; everything else is refused with the registry error DENIED.
type Gateway struct {
	upstream  *url.URL
	targetReg string
	level     verifier.Level
	timeout   time.Duration
	client    *http.Client
	proxy     *httputil.ReverseProxy
	v         Verifier
	trust     *trust
	checker   *checker
	metrics   *metrics
	log       *slog.Logger
	index     atomic.Pointer[digestIndex]
	indexSF   singleflight.Group
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
		v:         o.Verifier,
		trust:     t,
		checker:   newChecker(o.Verifier, t, o.CacheSize, o.CacheTTL, m),
		metrics:   m,
		log:       o.Logger,
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
		return nil, "", fault.Inputf("--upstream %q: want http(s)://HOST[:PORT] with no path, query or credentials", upstream)
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
		g.proxy.ServeHTTP(w, r)
		g.metrics.observe("gateway_blob", "proxied", start)
	default:
		g.proxy.ServeHTTP(w, r)
		g.metrics.observe("gateway_proxy", "proxied", start)
	}
}

// ensureIndex returns the digest index of the current snapshot, rebuilding it
// when the snapshot changed.
func (g *Gateway) ensureIndex(ctx context.Context) (*digestIndex, error) {
	st := g.v.State()
	if idx := g.index.Load(); idx != nil && idx.snapshot == st.SnapshotVersion {
		return idx, nil
	}
	v, err, _ := g.indexSF.Do("index", func() (any, error) {
		if idx := g.index.Load(); idx != nil && idx.snapshot == g.v.State().SnapshotVersion {
			return idx, nil
		}
		idx, err := buildIndex(ctx, g.v)
		if err != nil {
			return nil, err
		}
		g.index.Store(idx)
		g.log.Info("digest index rebuilt", "snapshotVersion", idx.snapshot, "images", len(idx.byName))
		return idx, nil
	})
	if err != nil {
		return nil, err
	}
	idx := v.(*digestIndex)
	if idx.snapshot != st.SnapshotVersion && idx.snapshot != g.v.State().SnapshotVersion {
		return nil, fault.Inconclusivef("digest index of snapshot %d does not match the trusted snapshot %d", idx.snapshot, g.v.State().SnapshotVersion)
	}
	return idx, nil
}

// serveManifest admits a manifest read only for verified content and serves
// exactly the bytes whose digest the decision was made on.
func (g *Gateway) serveManifest(w http.ResponseWriter, r *http.Request, rt route, start time.Time) {
	ctx := r.Context()
	repoRef, err := name.NewRepository(g.targetReg + "/" + rt.name)
	if err != nil {
		g.deny(w, r, "gateway_manifest", start, fmt.Sprintf("repository %s: %v", rt.name, err))
		return
	}
	repo := repoRef.Name()
	if err := g.trust.ensureFresh(ctx); err != nil {
		g.deny(w, r, "gateway_manifest", start, fmt.Sprintf("%s:%s: inconclusive: %v", repo, rt.ref, err))
		return
	}
	idx, err := g.ensureIndex(ctx)
	if err != nil {
		g.deny(w, r, "gateway_manifest", start, fmt.Sprintf("%s:%s: inconclusive: %v", repo, rt.ref, err))
		return
	}
	var (
		digest string // hex sha256 the decision is about
		data   []byte // exactly the bytes that hash to digest
		hdr    http.Header
	)
	if rt.isDigest() {
		digest = strings.TrimPrefix(rt.ref, "sha256:")
		if msg := g.admitDigest(ctx, idx, repo, digest); msg != "" {
			g.deny(w, r, "gateway_manifest", start, msg)
			return
		}
		var status int
		data, status, hdr, err = g.fetchManifest(ctx, r, rt.name, digest)
		if err != nil {
			g.deny(w, r, "gateway_manifest", start, fmt.Sprintf("%s@sha256:%s: %v", repo, digest, err))
			return
		}
		if status != http.StatusOK {
			relay(w, status, hdr, data)
			g.metrics.observe("gateway_manifest", "upstream_"+strconv.Itoa(status), start)
			return
		}
	} else {
		target := repo + ":" + rt.ref
		signed, ok := idx.byName[target]
		if !ok {
			g.deny(w, r, "gateway_manifest", start, fmt.Sprintf("%s: no signed target of that name in the trusted TUF metadata (unsigned image, or a tag that was never signed)", target))
			return
		}
		if _, err := g.checker.check(ctx, verifier.Request{Reference: target, Level: g.level, Image: true}); err != nil {
			g.deny(w, r, "gateway_manifest", start, denialText(target, g.level, err))
			return
		}
		// The tag must still name the signed content upstream: a re-tagged
		// or moved tag is refused, not silently served other content. The
		// bytes read are hashed here, and served only when they are the
		// signed ones.
		var (
			cur    string
			status int
		)
		data, cur, status, hdr, err = g.readTag(ctx, r, rt)
		if err != nil {
			g.deny(w, r, "gateway_manifest", start, fmt.Sprintf("%s: %v", target, err))
			return
		}
		if status != http.StatusOK {
			relay(w, status, hdr, data)
			g.metrics.observe("gateway_manifest", "upstream_"+strconv.Itoa(status), start)
			return
		}
		if cur != signed {
			g.deny(w, r, "gateway_manifest", start, fmt.Sprintf("%s: the tag points upstream to sha256:%s, but the signed target is sha256:%s (re-tagged or moved tag)", target, cur, signed))
			return
		}
		digest = signed
	}
	g.rememberChildren(idx.snapshot, repo, hdr.Get("Content-Type"), data)
	w.Header().Set("Content-Type", hdr.Get("Content-Type"))
	w.Header().Set("Docker-Content-Digest", "sha256:"+digest)
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		w.Write(data)
	}
	g.log.Info("gateway served", "method", r.Method, "repository", repo, "ref", rt.ref, "digest", "sha256:"+digest)
	g.metrics.observe("gateway_manifest", "verified", start)
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

func denialText(target string, lvl verifier.Level, err error) string {
	if fault.KindOf(err) == fault.Inconclusive {
		return fmt.Sprintf("%s at level %s: inconclusive: %v", target, lvl, err)
	}
	return fmt.Sprintf("%s at level %s: %v", target, lvl, err)
}

// upstreamRequest builds a request to the upstream registry carrying the
// client's credentials and accepted media types.
func (g *Gateway) upstreamRequest(ctx context.Context, in *http.Request, method, path string) (*http.Request, error) {
	u := *g.upstream
	u.Path = path
	req, err := http.NewRequestWithContext(ctx, method, u.String(), nil)
	if err != nil {
		return nil, err
	}
	if a := in.Header.Get("Authorization"); a != "" {
		req.Header.Set("Authorization", a)
	}
	accept := in.Header.Values("Accept")
	if len(accept) == 0 {
		req.Header.Set("Accept", defaultManifestAccept)
	} else {
		req.Header["Accept"] = accept
	}
	return req, nil
}

// readTag reads the manifest the tag names upstream and returns its bytes and
// their hex sha256. A non-200 answer (e.g. 401 with a challenge) is returned
// for relaying to the client.
func (g *Gateway) readTag(ctx context.Context, in *http.Request, rt route) ([]byte, string, int, http.Header, error) {
	req, err := g.upstreamRequest(ctx, in, http.MethodGet, "/v2/"+rt.name+"/manifests/"+rt.ref)
	if err != nil {
		return nil, "", 0, nil, err
	}
	resp, err := g.client.Do(req)
	if err != nil {
		return nil, "", 0, nil, fmt.Errorf("inconclusive: reading the tag upstream: %w", err)
	}
	defer resp.Body.Close()
	data, err := readCapped(resp.Body, MaxManifestSize)
	if err != nil {
		return nil, "", 0, nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return data, "", resp.StatusCode, resp.Header, nil
	}
	// Hash what was served rather than trusting the Docker-Content-Digest header.
	sum := sha256.Sum256(data)
	return data, hex.EncodeToString(sum[:]), http.StatusOK, resp.Header, nil
}

// fetchManifest reads the manifest by digest from upstream and checks that
// its bytes hash to the digest.
func (g *Gateway) fetchManifest(ctx context.Context, in *http.Request, repoName, digest string) ([]byte, int, http.Header, error) {
	req, err := g.upstreamRequest(ctx, in, http.MethodGet, "/v2/"+repoName+"/manifests/sha256:"+digest)
	if err != nil {
		return nil, 0, nil, err
	}
	resp, err := g.client.Do(req)
	if err != nil {
		return nil, 0, nil, fmt.Errorf("inconclusive: fetching the manifest upstream: %w", err)
	}
	defer resp.Body.Close()
	data, err := readCapped(resp.Body, MaxManifestSize)
	if err != nil {
		return nil, 0, nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return data, resp.StatusCode, resp.Header, nil
	}
	sum := sha256.Sum256(data)
	if got := hex.EncodeToString(sum[:]); got != digest {
		return nil, 0, nil, fmt.Errorf("upstream served manifest bytes hashing to sha256:%s for sha256:%s (malicious or broken registry)", got, digest)
	}
	return data, http.StatusOK, resp.Header, nil
}

// readCapped reads at most max bytes and fails beyond.
func readCapped(r io.Reader, max int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, fmt.Errorf("inconclusive: reading the manifest upstream: %w", err)
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("upstream manifest larger than %d bytes (endless data)", max)
	}
	return data, nil
}

// relay answers with an upstream's non-200 response (for example a 401 with
// the token challenge the client needs, or a 404).
func relay(w http.ResponseWriter, status int, hdr http.Header, body []byte) {
	for _, k := range []string{"Content-Type", "Www-Authenticate", "Docker-Distribution-Api-Version"} {
		if v := hdr.Values(k); len(v) > 0 {
			w.Header()[k] = v
		}
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
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
	if json.NewDecoder(bytes.NewReader(data)).Decode(&idx) != nil {
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
