package server

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/verifier"
)

// tamper lets a test make the upstream registry misbehave for one path.
type tamper struct {
	path atomic.Pointer[string]
	body atomic.Pointer[[]byte]
	// hook, when set, answers any request it returns true for.
	hook atomic.Pointer[func(http.ResponseWriter, *http.Request) bool]
}

// gatewayFixture is an in-memory upstream registry, a gateway in front of it
// and the test verifier behind the gateway.
type gatewayFixture struct {
	upstream *httptest.Server
	up       string // upstream host:port
	gw       *httptest.Server
	gwHost   string
	g        *Gateway
	f        *fakeVerifier
	tamper   *tamper
}

func newGatewayFixture(t *testing.T) *gatewayFixture {
	t.Helper()
	tm := &tamper{}
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h := tm.hook.Load(); h != nil && (*h)(w, r) {
			return
		}
		if p := tm.path.Load(); p != nil && r.URL.Path == *p && r.Method == http.MethodGet {
			w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
			w.Write(*tm.body.Load())
			return
		}
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(upstream.Close)
	f := newFake(map[string]entry{})
	g, err := NewGateway(GatewayOptions{Verifier: f, Upstream: upstream.URL})
	if err != nil {
		t.Fatal(err)
	}
	gw := httptest.NewServer(g.Handler())
	t.Cleanup(gw.Close)
	return &gatewayFixture{upstream: upstream, up: strings.TrimPrefix(upstream.URL, "http://"), gw: gw, gwHost: strings.TrimPrefix(gw.URL, "http://"), g: g, f: f, tamper: tm}
}

// push writes an image (or index) upstream and returns its manifest digest.
func (x *gatewayFixture) push(t *testing.T, ref string, img remote.Taggable) v1.Hash {
	t.Helper()
	r, err := name.ParseReference(x.up + "/" + ref)
	if err != nil {
		t.Fatal(err)
	}
	switch v := img.(type) {
	case v1.Image:
		err = remote.Write(r, v)
	case v1.ImageIndex:
		err = remote.WriteIndex(r, v)
	}
	if err != nil {
		t.Fatal(err)
	}
	d, err := img.(interface{ Digest() (v1.Hash, error) }).Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// sign makes ref (REPO:TAG or REPO@sha256:HEX under the upstream's name) a
// signed image target at level lvl with digest d, in a new snapshot.
func (x *gatewayFixture) sign(t *testing.T, ref string, d v1.Hash, lvl verifier.Level) {
	t.Helper()
	n := x.up + "/" + ref
	x.f.mu.Lock()
	x.f.targets = append(x.f.targets, verifier.TargetRef{Name: n, SHA256: d.Hex, Kind: "image"})
	x.f.table[n] = entry{achieved: lvl}
	x.f.mu.Unlock()
	if err := x.g.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func (x *gatewayFixture) pull(ref string) (v1.Image, error) {
	r, err := name.ParseReference(x.gwHost + "/" + ref)
	if err != nil {
		return nil, err
	}
	img, err := remote.Image(r)
	if err != nil {
		return nil, err
	}
	return img, validate.Image(img) // fetches and checks every blob through the gateway
}

func randomImage(t *testing.T) v1.Image {
	t.Helper()
	img, err := random.Image(256, 2)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func wantDenied(t *testing.T, err error, reason string) {
	t.Helper()
	if err == nil {
		t.Fatal("pull succeeded, want DENIED")
	}
	if !strings.Contains(err.Error(), "DENIED") || !strings.Contains(err.Error(), reason) {
		t.Fatalf("err = %v\nwant DENIED with %q", err, reason)
	}
}

func mustRef(t *testing.T, s string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestGatewayServesAVerifiedImageToARealClient(t *testing.T) {
	x := newGatewayFixture(t)
	d := x.push(t, "team/app:1.0", randomImage(t))
	x.sign(t, "team/app:1.0", d, verifier.Level2)
	img, err := x.pull("team/app:1.0")
	if err != nil {
		t.Fatalf("verified image refused: %v", err)
	}
	if got, _ := img.Digest(); got != d {
		t.Fatalf("served %s, signed %s", got, d)
	}
	if _, err := x.pull("team/app@" + d.String()); err != nil {
		t.Fatalf("verified image by digest refused: %v", err)
	}
	if x.f.calls(x.up+"/team/app:1.0") != 1 {
		t.Fatalf("verifier called %d times for the tag (cache)", x.f.calls(x.up+"/team/app:1.0"))
	}
}

func TestGatewayRefusesAnUnsignedImage(t *testing.T) {
	x := newGatewayFixture(t)
	x.push(t, "team/unsigned:1.0", randomImage(t))
	x.sign(t, "team/other:1.0", v1.Hash{Algorithm: "sha256", Hex: hex64('a')}, verifier.Level2)
	_, err := x.pull("team/unsigned:1.0")
	wantDenied(t, err, x.up+"/team/unsigned:1.0: no signed target of that name")
}

func TestGatewayRefusesAMovedTag(t *testing.T) {
	x := newGatewayFixture(t)
	signed := x.push(t, "team/app:1.0", randomImage(t))
	x.sign(t, "team/app:1.0", signed, verifier.Level2)
	evil := x.push(t, "team/app:1.0", randomImage(t)) // the tag now names other content
	_, err := x.pull("team/app:1.0")
	wantDenied(t, err, fmt.Sprintf("the tag points upstream to %s, but the signed target is %s (re-tagged or moved tag)", evil, signed))
	// Its unsigned content by digest is refused too.
	_, err = x.pull("team/app@" + evil.String())
	wantDenied(t, err, "neither a signed target nor a platform manifest of a verified index")
}

func TestGatewayRefusesSignedContentReTaggedUnderAnUnsignedTagOrRepository(t *testing.T) {
	x := newGatewayFixture(t)
	img := randomImage(t)
	d := x.push(t, "team/app:1.0", img)
	x.sign(t, "team/app:1.0", d, verifier.Level2)
	x.push(t, "team/app:latest", img)
	x.push(t, "attacker/app:1.0", img)
	_, err := x.pull("team/app:latest")
	wantDenied(t, err, x.up+"/team/app:latest: no signed target of that name")
	_, err = x.pull("attacker/app@" + d.String())
	wantDenied(t, err, "signed only under another repository ("+x.up+"/team/app:1.0)")
}

func TestGatewayRefusesAnImageBelowTheRequiredLevel(t *testing.T) {
	x := newGatewayFixture(t)
	g, err := NewGateway(GatewayOptions{Verifier: x.f, Upstream: x.upstream.URL, Level: verifier.Level4})
	if err != nil {
		t.Fatal(err)
	}
	gw := httptest.NewServer(g.Handler())
	defer gw.Close()
	d := x.push(t, "team/app:1.0", randomImage(t))
	x.sign(t, "team/app:1.0", d, verifier.Level2)
	g.Refresh(context.Background())
	_, err = remote.Image(mustRef(t, strings.TrimPrefix(gw.URL, "http://")+"/team/app:1.0"))
	wantDenied(t, err, "at level 4: "+x.up+"/team/app:1.0: achieved level 2 does not meet the required level 4")
}

func TestGatewayServesPlatformManifestsOfAVerifiedIndexOnly(t *testing.T) {
	x := newGatewayFixture(t)
	idx, err := random.Index(128, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	d := x.push(t, "team/multi:1.0", idx)
	x.sign(t, "team/multi:1.0", d, verifier.Level2)
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	child := im.Manifests[0].Digest
	// Before the index was pulled, its child is unknown to the gateway.
	_, err = x.pull("team/multi@" + child.String())
	wantDenied(t, err, "neither a signed target nor a platform manifest of a verified index")
	ri, err := remote.Index(mustRef(t, x.gwHost+"/team/multi:1.0"))
	if err != nil {
		t.Fatalf("verified index refused: %v", err)
	}
	for _, m := range im.Manifests {
		img, err := ri.Image(m.Digest)
		if err != nil {
			t.Fatal(err)
		}
		if err := validate.Image(img); err != nil {
			t.Fatalf("platform manifest %s of a verified index refused: %v", m.Digest, err)
		}
	}
	// The children are admitted for that repository only.
	x.push(t, "attacker/multi:1.0", idx)
	_, err = x.pull("attacker/multi@" + child.String())
	wantDenied(t, err, "neither a signed target")
}

func TestGatewayPassesBlobsThrough(t *testing.T) {
	x := newGatewayFixture(t)
	img := randomImage(t)
	x.push(t, "team/unsigned:1.0", img)
	layers, _ := img.Layers()
	ld, _ := layers[0].Digest()
	resp, err := http.Get(x.gw.URL + "/v2/team/unsigned/blobs/" + ld.String())
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	sum := sha256.Sum256(body)
	if resp.StatusCode != 200 || hex.EncodeToString(sum[:]) != ld.Hex {
		t.Fatalf("blob: HTTP %d, %d bytes", resp.StatusCode, len(body))
	}
	// Base endpoint and tag lists are proxied.
	for _, p := range []string{"/v2/", "/v2/team/unsigned/tags/list"} {
		resp, err := http.Get(x.gw.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || (strings.Contains(p, "tags") && !strings.Contains(string(b), `"1.0"`)) {
			t.Fatalf("%s: HTTP %d %s", p, resp.StatusCode, b)
		}
	}
}

// rawRequest sends a request target exactly as given (no client-side cleaning).
func rawRequest(t *testing.T, host, method, target string) (int, string) {
	t.Helper()
	conn, err := net.Dial("tcp", host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", method, target, host)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestGatewayRefusesPathTraversalAndEncodedSlashes(t *testing.T) {
	x := newGatewayFixture(t)
	d := x.push(t, "team/app:1.0", randomImage(t))
	x.sign(t, "team/app:1.0", d, verifier.Level2)
	x.push(t, "evil:1.0", randomImage(t))
	for target, want := range map[string]string{
		"/v2/team/app/../../evil/manifests/1.0":                     "dot segments (..) are refused",
		"/v2/team/./app/manifests/1.0":                              "dot segments (.) are refused",
		"/v2/team%2Fapp/manifests/1.0":                              "percent-encoded characters are refused",
		"/v2/team/app/manifests/1.0%2F..":                           "percent-encoded characters are refused",
		"/v2/team//app/manifests/1.0":                               "empty path segment",
		"/v2/team/app/manifests/\xc3\xa9":                           "not printable ASCII",
		"/v2/Team/App/manifests/1.0":                                "not a valid repository name",
		"/v2/team/app/manifests/sha512:" + strings.Repeat("a", 128): "neither a tag nor a sha256 digest",
		"/v2/team/app/blobs/uploads/x":                              "only manifest and blob reads",
		"/v2/team/app/referrers/sha256:" + hex64('a'):               "only manifest and blob reads",
	} {
		code, body := rawRequest(t, x.gwHost, "GET", target)
		if code < 400 || code >= 500 || !strings.Contains(body, want) || !strings.Contains(body, `"code":"`) {
			t.Errorf("%s: HTTP %d %s\nwant a 4xx registry error with %q", target, code, body, want)
		}
	}
	if x.f.verifyCalls.Load() != 0 {
		t.Fatalf("refused paths reached the verifier %d times", x.f.verifyCalls.Load())
	}
}

func TestGatewayRefusesWrites(t *testing.T) {
	x := newGatewayFixture(t)
	x.sign(t, "team/app:1.0", v1.Hash{Algorithm: "sha256", Hex: hex64('a')}, verifier.Level2)
	for _, m := range []string{"PUT", "DELETE", "POST", "PATCH"} {
		code, body := rawRequest(t, x.gwHost, m, "/v2/team/app/manifests/1.0")
		if code != http.StatusForbidden || !strings.Contains(body, `"code":"DENIED"`) || !strings.Contains(body, "only serves pulls") {
			t.Errorf("%s: HTTP %d %s", m, code, body)
		}
	}
	err := remote.Write(mustRef(t, x.gwHost+"/team/app:2.0"), randomImage(t))
	if err == nil || !strings.Contains(err.Error(), "DENIED") {
		t.Fatalf("push through the gateway: %v", err)
	}
}

func TestGatewayRefusesManifestBytesThatDoNotHashToTheSignedDigest(t *testing.T) {
	x := newGatewayFixture(t)
	d := x.push(t, "team/app:1.0", randomImage(t))
	x.sign(t, "team/app:1.0", d, verifier.Level2)
	// A malicious upstream answers the digest request with other bytes.
	p := "/v2/team/app/manifests/" + d.String()
	evil := []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","layers":[]}`)
	x.tamper.body.Store(&evil)
	x.tamper.path.Store(&p)
	_, err := x.pull("team/app@" + d.String())
	wantDenied(t, err, "upstream served manifest bytes hashing to sha256:")
	// And the tag request with other bytes is a moved tag.
	p2 := "/v2/team/app/manifests/1.0"
	x.tamper.path.Store(&p2)
	_, err = x.pull("team/app:1.0")
	wantDenied(t, err, "re-tagged or moved tag")
}

func TestGatewayRefusesEndlessManifests(t *testing.T) {
	x := newGatewayFixture(t)
	d := x.push(t, "team/app:1.0", randomImage(t))
	x.sign(t, "team/app:1.0", d, verifier.Level2)
	p := "/v2/team/app/manifests/" + d.String()
	big := []byte(strings.Repeat(" ", MaxManifestSize+1))
	x.tamper.body.Store(&big)
	x.tamper.path.Store(&p)
	_, err := x.pull("team/app@" + d.String())
	wantDenied(t, err, "upstream manifest larger than 4194304 bytes")
}

func TestGatewayFailsClosedBeforeTheFirstRefresh(t *testing.T) {
	x := newGatewayFixture(t)
	d := x.push(t, "team/app:1.0", randomImage(t))
	x.f.mu.Lock()
	x.f.targets = append(x.f.targets, verifier.TargetRef{Name: x.up + "/team/app:1.0", SHA256: d.Hex, Kind: "image"})
	x.f.table[x.up+"/team/app:1.0"] = entry{achieved: verifier.Level2}
	x.f.mu.Unlock()
	x.f.setRefreshErr(fault.Inconclusivef("metadata server: connection refused"))
	_, err := x.pull("team/app:1.0")
	wantDenied(t, err, "inconclusive: no trusted TUF metadata yet")
}

func TestGatewayDigestIndexFollowsTheSnapshotAndIsNotRebuiltPerRequest(t *testing.T) {
	x := newGatewayFixture(t)
	d := x.push(t, "team/app:1.0", randomImage(t))
	x.sign(t, "team/app:1.0", d, verifier.Level2)
	before := x.f.targetsCalls.Load()
	for range 5 {
		if _, err := x.pull("team/app@" + d.String()); err != nil {
			t.Fatal(err)
		}
	}
	if x.f.targetsCalls.Load() != before {
		t.Fatalf("Targets listed %d times for 5 pulls of one snapshot", x.f.targetsCalls.Load()-before)
	}
	// Revocation: the target leaves the metadata in a new snapshot.
	x.f.mu.Lock()
	x.f.targets = nil
	x.f.mu.Unlock()
	if err := x.g.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	_, err := x.pull("team/app@" + d.String())
	wantDenied(t, err, "neither a signed target")
}

func TestGatewayTargetRegistryNamesTheTargets(t *testing.T) {
	x := newGatewayFixture(t)
	g, err := NewGateway(GatewayOptions{Verifier: x.f, Upstream: x.upstream.URL, TargetRegistry: "registry.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	gw := httptest.NewServer(g.Handler())
	defer gw.Close()
	d := x.push(t, "team/app:1.0", randomImage(t))
	x.f.mu.Lock()
	x.f.targets = append(x.f.targets, verifier.TargetRef{Name: "registry.example.com/team/app:1.0", SHA256: d.Hex, Kind: "image"})
	x.f.table["registry.example.com/team/app:1.0"] = entry{achieved: verifier.Level2}
	x.f.mu.Unlock()
	if err := g.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(mustRef(t, strings.TrimPrefix(gw.URL, "http://")+"/team/app:1.0"))
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := img.Digest(); got != d {
		t.Fatalf("served %s", got)
	}
}

func TestGatewayRefusesAnUpstreamWithPathOrCredentials(t *testing.T) {
	for _, u := range []string{"registry.example.com", "ftp://r.example.com", "https://r.example.com/v2", "https://user:pw@r.example.com", "https://r.example.com?x=1"} {
		_, err := NewGateway(GatewayOptions{Verifier: newFake(nil), Upstream: u})
		if !fault.Is(err, fault.Input) || !strings.Contains(err.Error(), "want http(s)://HOST[:PORT]") {
			t.Errorf("%s: %v", u, err)
		}
	}
}

func TestGatewayHeadOfAVerifiedManifestCarriesTheSignedDigest(t *testing.T) {
	x := newGatewayFixture(t)
	d := x.push(t, "team/app:1.0", randomImage(t))
	x.sign(t, "team/app:1.0", d, verifier.Level2)
	desc, err := remote.Head(mustRef(t, x.gwHost+"/team/app:1.0"))
	if err != nil {
		t.Fatal(err)
	}
	if desc.Digest != d || desc.Size == 0 {
		t.Fatalf("HEAD: %+v, want digest %s", desc, d)
	}
	x.push(t, "team/unsigned:1.0", randomImage(t))
	if _, err := remote.Head(mustRef(t, x.gwHost+"/team/unsigned:1.0")); err == nil || !strings.Contains(err.Error(), "403") {
		t.Fatalf("HEAD of an unsigned manifest: %v", err)
	}
}

func TestGatewayReadinessAndMetrics(t *testing.T) {
	x := newGatewayFixture(t)
	get := func(p string) (int, string) {
		resp, err := http.Get(x.gw.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := get("/readyz"); code != http.StatusServiceUnavailable {
		t.Fatalf("ready before the first refresh: %d", code)
	}
	d := x.push(t, "team/app:1.0", randomImage(t))
	x.sign(t, "team/app:1.0", d, verifier.Level2)
	if code, _ := get("/readyz"); code != http.StatusOK {
		t.Fatalf("not ready after a refresh: %d", code)
	}
	x.pull("team/app:1.0")
	x.pull("team/evil:1.0")
	_, body := get("/metrics")
	for _, want := range []string{
		`cnabsec_requests_total{endpoint="gateway_manifest",verdict="verified"} 1`,
		`cnabsec_requests_total{endpoint="gateway_manifest",verdict="denied"} 1`,
		`cnabsec_requests_total{endpoint="gateway_blob",verdict="verified"}`,
		`cnabsec_tuf_snapshot_version 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("gateway metrics lack %q", want)
		}
	}
}
