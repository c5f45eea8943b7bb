package server

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/cnabsec/cnabsec/verifier"
)

// evilMarker is in every body a misbehaving upstream serves; it must never
// reach a client of the gateway.
const evilMarker = "EVIL-UPSTREAM-CONTENT"

var evilManifest = []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","annotations":{"x":"` + evilMarker + `"},"layers":[]}`)

// onUpstream makes the fixture's upstream answer requests for path (any
// method) with answer.
func (x *gatewayFixture) onUpstream(path string, answer func(w http.ResponseWriter, r *http.Request)) {
	h := func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path != path {
			return false
		}
		answer(w, r)
		return true
	}
	x.tamper.hook.Store(&h)
}

// gatewayGet sends one request to the gateway and returns its status,
// headers and body (and the error reading the body).
func (x *gatewayFixture) gatewayGet(t *testing.T, method, path string, hdr http.Header) (int, http.Header, []byte, error) {
	t.Helper()
	req, err := http.NewRequest(method, x.gw.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, rerr := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, body, rerr
}

func wantNoEvil(t *testing.T, body []byte) {
	t.Helper()
	if bytes.Contains(body, []byte(evilMarker)) {
		t.Fatalf("the upstream's unverified body reached the client: %s", body)
	}
}

// signedApp pushes and signs team/app:1.0 and returns its digest.
func signedApp(t *testing.T, x *gatewayFixture) v1.Hash {
	t.Helper()
	d := x.push(t, "team/app:1.0", randomImage(t))
	x.sign(t, "team/app:1.0", d, verifier.Level2)
	return d
}

func TestGatewayDoesNotRelayA203BodyFromUpstream(t *testing.T) {
	x := newGatewayFixture(t)
	d := signedApp(t, x)
	for _, ref := range []string{"1.0", d.String()} {
		x.onUpstream("/v2/team/app/manifests/"+ref, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
			w.WriteHeader(http.StatusNonAuthoritativeInfo)
			w.Write(evilManifest)
		})
		for _, method := range []string{http.MethodGet, http.MethodHead} {
			status, _, body, _ := x.gatewayGet(t, method, "/v2/team/app/manifests/"+ref, nil)
			wantNoEvil(t, body)
			if status != http.StatusBadGateway {
				t.Fatalf("%s %s: HTTP %d, want 502: %s", method, ref, status, body)
			}
			if method == http.MethodGet && !strings.Contains(string(body), "answered HTTP 203; only a 200 whose bytes hash to the digest is served") {
				t.Fatalf("%s: reason %s", ref, body)
			}
		}
	}
}

func TestGatewayDoesNotRelayA206PartialManifest(t *testing.T) {
	x := newGatewayFixture(t)
	img := randomImage(t)
	d := x.push(t, "team/app:1.0", img)
	x.sign(t, "team/app:1.0", d, verifier.Level2)
	raw, err := img.RawManifest()
	if err != nil {
		t.Fatal(err)
	}
	// A prefix of the signed manifest followed by other bytes, as a range.
	partial := append(append([]byte{}, raw[:len(raw)/2]...), evilMarker...)
	for _, ref := range []string{"1.0", d.String()} {
		x.onUpstream("/v2/team/app/manifests/"+ref, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
			w.Header().Set("Content-Range", "bytes 0-10/100")
			w.WriteHeader(http.StatusPartialContent)
			w.Write(partial)
		})
		status, _, body, _ := x.gatewayGet(t, http.MethodGet, "/v2/team/app/manifests/"+ref, http.Header{"Range": {"bytes=0-10"}})
		wantNoEvil(t, body)
		if status != http.StatusBadGateway || !strings.Contains(string(body), "answered HTTP 206") {
			t.Fatalf("%s: HTTP %d %s, want 502 naming the 206", ref, status, body)
		}
		if bytes.Contains(body, raw[:len(raw)/2]) {
			t.Fatal("part of the manifest was relayed")
		}
	}
}

func TestGatewayRelaysAnUpstreamErrorStatusButNotItsBody(t *testing.T) {
	x := newGatewayFixture(t)
	d := signedApp(t, x)
	cases := []struct {
		status int
		code   string
	}{{401, "UNAUTHORIZED"}, {404, "MANIFEST_UNKNOWN"}, {429, "TOOMANYREQUESTS"}, {503, "UNAVAILABLE"}}
	for _, c := range cases {
		for _, ref := range []string{"1.0", d.String()} {
			x.onUpstream("/v2/team/app/manifests/"+ref, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Www-Authenticate", `Bearer realm="https://auth.example.com/token"`)
				w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
				w.WriteHeader(c.status)
				w.Write(evilManifest)
			})
			status, hdr, body, _ := x.gatewayGet(t, http.MethodGet, "/v2/team/app/manifests/"+ref, nil)
			wantNoEvil(t, body)
			if status != c.status || !strings.Contains(string(body), `"code":"`+c.code+`"`) || !strings.Contains(string(body), "answered HTTP") {
				t.Fatalf("upstream %d for %s: HTTP %d %s", c.status, ref, status, body)
			}
			if hdr.Get("Content-Type") != "application/json" || hdr.Get("Www-Authenticate") == "" {
				t.Fatalf("upstream %d: headers %v (want the gateway's JSON error and the upstream's challenge)", c.status, hdr)
			}
		}
	}
}

func TestGatewayServesTheBytesItVerifiedNotASecondFetch(t *testing.T) {
	x := newGatewayFixture(t)
	img := randomImage(t)
	d := x.push(t, "team/app:1.0", img)
	x.sign(t, "team/app:1.0", d, verifier.Level2)
	raw, err := img.RawManifest()
	if err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{"1.0", d.String()} {
		// The upstream answers the first request with the signed manifest
		// and every later one with other bytes.
		var n atomic.Int64
		x.onUpstream("/v2/team/app/manifests/"+ref, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
			if n.Add(1) == 1 {
				w.Write(raw)
				return
			}
			w.Write(evilManifest)
		})
		status, hdr, body, _ := x.gatewayGet(t, http.MethodGet, "/v2/team/app/manifests/"+ref, nil)
		if status != 200 || !bytes.Equal(body, raw) || hdr.Get("Docker-Content-Digest") != d.String() {
			t.Fatalf("%s: HTTP %d, %d bytes, digest %s: not the verified manifest", ref, status, len(body), hdr.Get("Docker-Content-Digest"))
		}
		if n.Load() != 1 {
			t.Fatalf("%s: %d upstream reads for one pull: the served bytes must be those verified", ref, n.Load())
		}
		// The next pull reads the other bytes and refuses them.
		status, _, body, _ = x.gatewayGet(t, http.MethodGet, "/v2/team/app/manifests/"+ref, nil)
		wantNoEvil(t, body)
		if status != http.StatusForbidden {
			t.Fatalf("%s: other bytes: HTTP %d %s", ref, status, body)
		}
	}
}

// blobOf is a blob's bytes and digest.
func blobOf(t *testing.T, size int) ([]byte, string) {
	t.Helper()
	b := make([]byte, size)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return b, "sha256:" + hex.EncodeToString(sum[:])
}

func TestGatewayCutsABlobWhoseBytesDoNotHashToItsDigest(t *testing.T) {
	for _, size := range []int{100, 300 << 10} {
		x := newGatewayFixture(t)
		_, d := blobOf(t, size)
		evil := bytes.Repeat([]byte(evilMarker), size/len(evilMarker)+1)[:size]
		x.onUpstream("/v2/team/app/blobs/"+d, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", strconv.Itoa(len(evil)))
			w.Write(evil)
		})
		status, _, body, rerr := x.gatewayGet(t, http.MethodGet, "/v2/team/app/blobs/"+d, nil)
		if size < blobChunk {
			// Nothing was sent yet: an error answer.
			wantNoEvil(t, body)
			if status != http.StatusBadGateway || !strings.Contains(string(body), "upstream served blob bytes that do not match the digest") {
				t.Fatalf("small blob: HTTP %d %s", status, body)
			}
			continue
		}
		if rerr == nil || len(body) >= size {
			t.Fatalf("large blob: the client received %d of %d bytes, read error %v: want a cut stream", len(body), size, rerr)
		}
	}
}

func TestGatewayDoesNotRelayA206PartialBlob(t *testing.T) {
	x := newGatewayFixture(t)
	blob, d := blobOf(t, 1000)
	var sawRange atomic.Bool
	x.onUpstream("/v2/team/app/blobs/"+d, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Range") != "" {
			sawRange.Store(true)
		}
		w.Header().Set("Content-Range", "bytes 0-99/1000")
		w.WriteHeader(http.StatusPartialContent)
		w.Write(append(blob[:50:50], evilMarker...))
	})
	status, _, body, _ := x.gatewayGet(t, http.MethodGet, "/v2/team/app/blobs/"+d, http.Header{"Range": {"bytes=0-99"}})
	wantNoEvil(t, body)
	if status != http.StatusBadGateway || !strings.Contains(string(body), "answered HTTP 206") {
		t.Fatalf("HTTP %d %s, want 502 naming the 206", status, body)
	}
	if sawRange.Load() {
		t.Fatal("the client's Range was forwarded: the gateway could not hash a part")
	}
}

func TestGatewayStreamsAVerifiedBlobWholeEvenForARangeRequest(t *testing.T) {
	x := newGatewayFixture(t)
	img := randomImage(t)
	x.push(t, "team/app:1.0", img)
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	ld, _ := layers[0].Digest()
	for _, method := range []string{http.MethodGet, http.MethodHead} {
		status, hdr, body, rerr := x.gatewayGet(t, method, "/v2/team/app/blobs/"+ld.String(), http.Header{"Range": {"bytes=0-9"}})
		if rerr != nil || status != 200 || hdr.Get("Docker-Content-Digest") != ld.String() {
			t.Fatalf("%s: HTTP %d %v %v", method, status, hdr, rerr)
		}
		if method == http.MethodGet {
			sum := sha256.Sum256(body)
			if hex.EncodeToString(sum[:]) != ld.Hex {
				t.Fatalf("served %d bytes that do not hash to %s", len(body), ld)
			}
		}
	}
	// A real client pulls the whole image (manifest and blobs) through it.
	d, _ := img.Digest()
	x.sign(t, "team/app:1.0", d, verifier.Level2)
	if _, err := x.pull("team/app:1.0"); err != nil {
		t.Fatal(err)
	}
	// An unknown blob is the upstream's 404, as a registry error.
	_, missing := blobOf(t, 10)
	status, _, body, _ := x.gatewayGet(t, http.MethodGet, "/v2/team/app/blobs/"+missing, nil)
	if status != 404 || !strings.Contains(string(body), "BLOB_UNKNOWN") {
		t.Fatalf("missing blob: HTTP %d %s", status, body)
	}
}
