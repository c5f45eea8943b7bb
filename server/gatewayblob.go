package server

import (
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DefaultMaxBlobSize caps a blob the gateway streams from upstream (16 GiB).
const DefaultMaxBlobSize = 16 << 30

// blobChunk is how much of a blob is read, hashed and sent at a time. At
// 256 KiB the gateway spends less CPU per GiB than at 32 KiB (fewer, larger
// socket reads and writes) and than at 1 MiB (a chunk no longer stays in the
// CPU's cache between hashing and sending it).
const blobChunk = 256 << 10

// blobHold is how much of what was read is held back, at the least, until the
// whole blob hashed to its digest: a client never receives a complete body
// that does not.
const blobHold = 32 << 10

// blobBufs recycles the chunk buffers: one per blob in flight.
var blobBufs = sync.Pool{New: func() any {
	b := make([]byte, blobChunk)
	return &b
}}

// serveBlob streams a blob from upstream and serves it only as far as its
// bytes hash to the digest it was asked by: the last blobHold bytes read (or
// more) are held back until the whole blob hashed to the digest, and on a
// mismatch, a short or an oversized body the response is cut (the client
// never receives a complete body). A blob shorter than a chunk is answered
// with an error instead (nothing was sent when it ended). Only an upstream 200 is streamed: see upstreamRefusal. The
// client's Range header is not forwarded: the whole blob is read (and
// answered with 200), so that it can be hashed.
func (g *Gateway) serveBlob(w http.ResponseWriter, r *http.Request, rt route, start time.Time) {
	subject := rt.name + "@" + rt.ref
	req, err := g.upstreamRequest(r.Context(), r, r.Method, "/v2/"+rt.name+"/blobs/"+rt.ref, false)
	if err != nil {
		g.refuse(w, r, "gateway_blob", start, denied("%s: %v", subject, err))
		return
	}
	resp, err := g.blobs.Do(req)
	if err != nil {
		g.refuse(w, r, "gateway_blob", start, &refusal{status: http.StatusBadGateway, code: "UNAVAILABLE", outcome: "inconclusive",
			msg: fmt.Sprintf("%s: inconclusive: reading the blob upstream: %v", subject, err)})
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		g.refuse(w, r, "gateway_blob", start, g.upstreamRefusal(resp, "BLOB_UNKNOWN", subject))
		return
	}
	if resp.ContentLength > g.maxBlob {
		g.refuse(w, r, "gateway_blob", start, &refusal{status: http.StatusBadGateway, code: "SIZE_INVALID", outcome: "upstream_bad_blob",
			msg: fmt.Sprintf("%s: upstream announces %d bytes, more than the %d bytes a blob may have", subject, resp.ContentLength, g.maxBlob)})
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Docker-Content-Digest", rt.ref)
	w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
	if resp.ContentLength >= 0 {
		w.Header().Set("Content-Length", strconv.FormatInt(resp.ContentLength, 10))
	}
	if r.Method == http.MethodHead {
		w.WriteHeader(http.StatusOK)
		g.metrics.observe("gateway_blob", "head", start)
		return
	}
	bs := &blobStream{w: w, want: rt.ref, length: resp.ContentLength, max: g.maxBlob}
	if err := bs.copy(resp.Body); err != nil {
		g.log.Warn("gateway cut a blob", "path", r.URL.Path, "reason", err.Error())
		if !bs.started {
			// Nothing was sent yet: answer with an error.
			w.Header().Del("Content-Length")
			w.Header().Del("Docker-Content-Digest")
			g.refuse(w, r, "gateway_blob", start, &refusal{status: http.StatusBadGateway, code: "DIGEST_INVALID", outcome: "upstream_bad_blob", msg: subject + ": " + err.Error()})
			return
		}
		g.metrics.observe("gateway_blob", "cut", start)
		panic(http.ErrAbortHandler) // cut the response: the client sees an incomplete body
	}
	g.metrics.observe("gateway_blob", "verified", start)
}

// errBlobMismatch is a blob whose bytes are not the ones its digest names.
var errBlobMismatch = errors.New("upstream served blob bytes that do not match the digest (malicious or broken registry)")

// blobStream copies a blob to the client, holding back at least the last
// blobHold bytes read until the whole blob was read and hashed to want.
type blobStream struct {
	w       http.ResponseWriter
	want    string // ALGORITHM:HEX
	length  int64  // announced length, or -1
	max     int64
	started bool // the status line and some bytes were sent
	total   int64
}

func newBlobHash(digest string) hash.Hash {
	if strings.HasPrefix(digest, "sha512:") {
		return sha512.New()
	}
	return sha256.New()
}

// copy reads body a chunk at a time into one buffer, hashes each chunk once,
// and sends all of a full buffer but its last blobHold bytes, which move to
// its front; what remains is sent only once the blob's length and digest
// matched.
func (b *blobStream) copy(body io.Reader) error {
	h := newBlobHash(b.want)
	bp := blobBufs.Get().(*[]byte)
	defer blobBufs.Put(bp)
	buf := *bp
	held := 0 // buf[:held] was read and hashed, not sent
	for {
		n, rerr := io.ReadFull(body, buf[held:])
		if err := b.count(n); err != nil {
			return err
		}
		h.Write(buf[held : held+n])
		held += n
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			break
		}
		if rerr != nil {
			return fmt.Errorf("inconclusive: reading the blob upstream: %w", rerr)
		}
		if err := b.send(buf[:held-blobHold]); err != nil {
			return err
		}
		held = copy(buf, buf[held-blobHold:held])
	}
	if err := b.check(h); err != nil {
		return err
	}
	return b.send(buf[:held])
}

// count adds n bytes read and fails beyond the cap or the announced length.
func (b *blobStream) count(n int) error {
	b.total += int64(n)
	if b.total > b.max {
		return fmt.Errorf("%w: more than the %d bytes a blob may have", errBlobMismatch, b.max)
	}
	if b.length >= 0 && b.total > b.length {
		return fmt.Errorf("%w: more than the %d bytes announced", errBlobMismatch, b.length)
	}
	return nil
}

// check fails unless the whole blob had the announced length and hashed to want.
func (b *blobStream) check(h hash.Hash) error {
	if b.length >= 0 && b.total != b.length {
		return fmt.Errorf("%w: %d bytes of the %d announced", errBlobMismatch, b.total, b.length)
	}
	algo, _, _ := strings.Cut(b.want, ":")
	if got := algo + ":" + hex.EncodeToString(h.Sum(nil)); got != b.want {
		return fmt.Errorf("%w: the bytes hash to %s", errBlobMismatch, got)
	}
	return nil
}

// send writes a chunk, sending the status line first.
func (b *blobStream) send(p []byte) error {
	if len(p) == 0 {
		return nil
	}
	if !b.started {
		b.started = true
		b.w.WriteHeader(http.StatusOK)
	}
	_, err := b.w.Write(p)
	return err
}
