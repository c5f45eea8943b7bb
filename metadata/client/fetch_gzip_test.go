package client

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/cnabsec/cnabsec"
)

// TestAGzipBombFromAMirrorIsCutAtTheSizeCap: a hostile mirror answers with
// a small gzip body that inflates to far more than the file may have. The
// cap applies to the inflated bytes, so the fetch is denied as endless
// data after reading at most the cap.
func TestAGzipBombFromAMirrorIsCutAtTheSizeCap(t *testing.T) {
	var bomb bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&bomb, gzip.BestCompression)
	zeros := make([]byte, 1<<20)
	for range 64 { // 64 MiB inflated, about 64 KiB on the wire
		zw.Write(zeros)
	}
	zw.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Accept-Encoding") == "" {
			t.Error("the client did not offer gzip")
		}
		w.Header().Set("Content-Encoding", "gzip")
		w.Write(bomb.Bytes())
	}))
	defer srv.Close()
	f := &httpFetcher{base: srv.URL, client: newHTTPClient(time.Second, 5*time.Second), readTimeout: 5 * time.Second}
	const maxLen = 1 << 20
	_, err := f.Fetch(context.Background(), "timestamp.json", maxLen)
	if !errors.Is(err, cnabsec.ErrDenied) || !bytes.Contains([]byte(err.Error()), []byte("endless data")) {
		t.Fatalf("a 64 MiB gzip bomb for a 1 MiB cap: %v, want denied as endless data", err)
	}
}

// TestGzippedMetadataArrivesAsStored: a mirror sending gzip gives the
// client the stored bytes.
func TestGzippedMetadataArrivesAsStored(t *testing.T) {
	want := bytes.Repeat([]byte(`{"version":7},`), 500)
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write(want)
	zw.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "gzip")
		w.Write(z.Bytes())
	}))
	defer srv.Close()
	f := &httpFetcher{base: srv.URL, client: newHTTPClient(time.Second, 5*time.Second), readTimeout: 5 * time.Second}
	got, err := f.Fetch(context.Background(), "1.snapshot.json", 1<<20)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("got %d bytes, %v: want the %d stored bytes", len(got), err, len(want))
	}
}
