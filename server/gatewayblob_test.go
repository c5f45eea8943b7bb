package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// blobBoundarySizes are blob sizes around the gateway's read chunk and the
// part of it held back: where an off-by-one in the streaming would show.
var blobBoundarySizes = []int{1, blobHold, blobChunk - 1, blobChunk, blobChunk + 1,
	2*blobChunk - blobHold, 2*blobChunk - blobHold + 1, 3*blobChunk + 17}

// serveBlobUpstream makes the fixture's upstream answer the blob's path with
// body, announcing its length or not (chunked).
func serveBlobUpstream(x *gatewayFixture, digest string, body []byte, announce bool) {
	x.onUpstream("/v2/team/app/blobs/"+digest, func(w http.ResponseWriter, r *http.Request) {
		if announce {
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		}
		w.Write(body)
	})
}

// wantWrongBlobWithheld checks what a client received for a blob of size
// bytes the upstream lied about: an error answer when the blob is shorter
// than a chunk (nothing was sent before it ended), else a cut stream lacking
// at least the held-back bytes.
func wantWrongBlobWithheld(t *testing.T, size, status int, body []byte, rerr error) {
	t.Helper()
	if size < blobChunk {
		if status != http.StatusBadGateway || !strings.Contains(string(body), "DIGEST_INVALID") {
			t.Fatalf("HTTP %d with %d bytes (read error %v), want 502 DIGEST_INVALID", status, len(body), rerr)
		}
		return
	}
	if rerr == nil || len(body) > size-blobHold {
		t.Fatalf("the client received %d of %d bytes (read error %v): want a cut stream without the last %d bytes", len(body), size, rerr, blobHold)
	}
}

func TestGatewayCutsAWrongBlobAtEveryChunkBoundary(t *testing.T) {
	x := newGatewayFixture(t)
	for _, size := range blobBoundarySizes {
		for _, flip := range []string{"first", "last"} {
			for _, announce := range []bool{true, false} {
				t.Run(fmt.Sprintf("%d-bytes-%s-byte-wrong-length-announced-%t", size, flip, announce), func(t *testing.T) {
					blob, d := blobOf(t, size)
					evil := bytes.Clone(blob)
					evil[map[string]int{"first": 0, "last": size - 1}[flip]] ^= 0xff
					serveBlobUpstream(x, d, evil, announce)
					status, _, body, rerr := x.gatewayGet(t, http.MethodGet, "/v2/team/app/blobs/"+d, nil)
					wantWrongBlobWithheld(t, size, status, body, rerr)
				})
			}
		}
	}
}

func TestGatewayCutsABlobShorterThanItsAnnouncedLength(t *testing.T) {
	x := newGatewayFixture(t)
	for _, size := range []int{blobChunk - 1, blobChunk + 1, 3*blobChunk + 17} {
		blob, d := blobOf(t, size)
		// The upstream announces the whole blob and closes after all but its last byte.
		x.onUpstream("/v2/team/app/blobs/"+d, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", strconv.Itoa(size))
			w.Write(blob[:size-1])
		})
		status, _, body, rerr := x.gatewayGet(t, http.MethodGet, "/v2/team/app/blobs/"+d, nil)
		wantWrongBlobWithheld(t, size, status, body, rerr)
	}
}

// The sizes go up and then down: a smaller blob after a larger one reuses a
// buffer that held the larger one's bytes, none of which may be sent.
func TestGatewayStreamsEveryByteOfAVerifiedBlobAtEveryChunkBoundary(t *testing.T) {
	x := newGatewayFixture(t)
	sizes := slices.Concat(blobBoundarySizes, blobBoundarySizes)
	slices.Reverse(sizes[len(blobBoundarySizes):])
	for _, size := range sizes {
		for _, announce := range []bool{true, false} {
			blob, d := blobOf(t, size)
			serveBlobUpstream(x, d, blob, announce)
			status, hdr, body, rerr := x.gatewayGet(t, http.MethodGet, "/v2/team/app/blobs/"+d, nil)
			if rerr != nil || status != http.StatusOK || hdr.Get("Docker-Content-Digest") != d || !bytes.Equal(body, blob) {
				t.Fatalf("%d bytes (length announced %t): HTTP %d, %d bytes, equal %t, %v", size, announce, status, len(body), bytes.Equal(body, blob), rerr)
			}
		}
	}
}

// An upstream that streams without announcing a length is stopped at the
// blob size cap, before anything beyond it is read or the rest is sent.
func TestGatewayCutsAnEndlessBlobAtTheSizeCap(t *testing.T) {
	blob, d := blobOf(t, 3*blobChunk)
	rec := httptest.NewRecorder()
	bs := &blobStream{w: rec, want: d, length: -1, max: 2 * blobChunk}
	err := bs.copy(bytes.NewReader(blob))
	if !errors.Is(err, errBlobMismatch) || !strings.Contains(err.Error(), "bytes a blob may have") {
		t.Fatalf("got %v, want the size cap", err)
	}
	if rec.Body.Len() > 2*blobChunk-blobHold {
		t.Fatalf("%d bytes were sent past the point the cap allows", rec.Body.Len())
	}
}

// The decode an image manifest skips must never be skipped for an index:
// whatever spelling of the manifests key encoding/json accepts, the platform
// manifests of a verified index are remembered exactly as a full decode
// finds them (a skipped index would refuse its platform manifests; a
// remembered non-index would admit digests nobody signed).
func TestIndexPlatformManifestsAreRememberedHoweverTheKeyIsSpelled(t *testing.T) {
	g, err := NewGateway(GatewayOptions{Verifier: newFake(map[string]entry{}), Upstream: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	child := strings.Repeat("ab", 32)
	const index = `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json",%s:[{"digest":"sha256:` + "%s" + `"}]}`
	for i, key := range []string{`"manifests"`, `"MANIFESTS"`, `"Manifests"`, `"\u006danifests"`, `"manifeſts"`, `"layers"`} {
		d := fmt.Sprintf("%s%02d", child[:62], i)
		data := []byte(fmt.Sprintf(index, key, d))
		var full struct {
			Manifests []struct{ Digest string } `json:"manifests"`
		}
		if err := json.Unmarshal(data, &full); err != nil {
			t.Fatal(err)
		}
		g.rememberChildren(1, "r/app", "", data)
		if got, want := g.children.Contains(childKey{1, "r/app", d}), len(full.Manifests) == 1; got != want {
			t.Errorf("key %s: remembered %t, a full decode finds the platform manifest: %t", key, got, want)
		}
	}
}

func TestAnImageManifestSkipsTheIndexDecode(t *testing.T) {
	m := []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"digest":"sha256:00"},"layers":[{"digest":"sha256:11","size":1}]}`)
	if mayListManifests(m) {
		t.Fatal("an ASCII image manifest without a manifests key is decoded for platform manifests")
	}
}
