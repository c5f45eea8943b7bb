package client

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/internal/testing/errtest"
)

func TestEndlessTimestampIsRefusedWithTheCap(t *testing.T) {
	r := newTestRepo(t)
	// Local directory: caught from the file size.
	r.write("metadata/timestamp.json", []byte(strings.Repeat(" ", 20000)))
	err := r.client(t).Refresh(ctxT(t))
	errtest.Want(t, err, fault.Denied, "metadata/timestamp.json (20000 bytes) exceeds 16384 bytes: endless data")

	// HTTP without Content-Length: caught while reading.
	var sent atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Path != "/metadata/timestamp.json" {
			http.FileServer(http.Dir(r.dir)).ServeHTTP(w, req)
			return
		}
		chunk := []byte(strings.Repeat(" ", 1024))
		for i := 0; i < 1024 && req.Context().Err() == nil; i++ { // at most 1 MiB
			if _, err := w.Write(chunk); err != nil {
				return
			}
			sent.Add(int64(len(chunk)))
			w.(http.Flusher).Flush()
		}
	}))
	defer srv.Close()
	err = r.client(t, func(o *Options) { o.Location = srv.URL }).Refresh(ctxT(t))
	errtest.Want(t, err, fault.Denied, srv.URL+"/metadata/timestamp.json exceeds 16384 bytes: endless data")
}

func TestEndlessRootIsRefusedWithTheConfiguredCap(t *testing.T) {
	r := newTestRepo(t)
	r.write("metadata/2.root.json", []byte(strings.Repeat("x", 5000)))
	err := r.client(t, func(o *Options) { o.Limits.Root = 4096 }).Refresh(ctxT(t))
	errtest.Want(t, err, fault.Denied, "metadata/2.root.json (5000 bytes) exceeds 4096 bytes: endless data")
}

func TestEndlessContentLengthIsRefusedBeforeReading(t *testing.T) {
	r := newTestRepo(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Path == "/metadata/timestamp.json" {
			w.Header().Set("Content-Length", "1000000000")
			w.WriteHeader(200)
			return
		}
		http.FileServer(http.Dir(r.dir)).ServeHTTP(w, req)
	}))
	defer srv.Close()
	err := r.client(t, func(o *Options) { o.Location = srv.URL }).Refresh(ctxT(t))
	errtest.Want(t, err, fault.Denied, "(Content-Length 1000000000) exceeds 16384 bytes: endless data")
}

// dripServer serves the repository but drips timestamp.json one byte per
// interval (bounded to 30 bytes; it stops when the client goes away).
func dripServer(t *testing.T, r *testRepo, interval time.Duration) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Path != "/metadata/timestamp.json" {
			http.FileServer(http.Dir(r.dir)).ServeHTTP(w, req)
			return
		}
		w.WriteHeader(200)
		for i := 0; i < 30; i++ {
			if _, err := w.Write([]byte(" ")); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			select {
			case <-req.Context().Done():
				return
			case <-time.After(interval):
			}
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestSlowRetrievalTimesOut(t *testing.T) {
	// One byte per second under a 1 s timeout (the idle timeout is capped
	// by it, so either may fire first).
	r := newTestRepo(t)
	srv := dripServer(t, r, time.Second)
	c := r.client(t, func(o *Options) { o.Location, o.Timeout = srv.URL, time.Second })
	err := c.Refresh(ctxT(t))
	errtest.Want(t, err, fault.Inconclusive, "fetching "+srv.URL+"/metadata/timestamp.json: timed out", "slow or stalled server")
}

func TestSlowRetrievalKeepingTheConnectionAliveStillHitsTheDeadline(t *testing.T) {
	// A byte every 100 ms keeps resetting a 500 ms idle timeout: only the
	// per-file deadline stops the download.
	r := newTestRepo(t)
	srv := dripServer(t, r, 100*time.Millisecond)
	c := r.client(t, func(o *Options) {
		o.Location, o.Timeout, o.ReadTimeout = srv.URL, time.Second, 500*time.Millisecond
	})
	err := c.Refresh(ctxT(t))
	errtest.Want(t, err, fault.Inconclusive, "fetching "+srv.URL+"/metadata/timestamp.json: timed out: no complete response within 1s")
}

func TestStalledServerHitsTheIdleTimeout(t *testing.T) {
	r := newTestRepo(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Path != "/metadata/timestamp.json" {
			http.FileServer(http.Dir(r.dir)).ServeHTTP(w, req)
			return
		}
		select { // headers never come
		case <-req.Context().Done():
		case <-time.After(30 * time.Second):
		}
	}))
	defer srv.Close()
	c := r.client(t, func(o *Options) { o.Location, o.Timeout, o.ReadTimeout = srv.URL, 20*time.Second, time.Second })
	err := c.Refresh(ctxT(t))
	// Our idle timer or the transport's header timeout (both 1s; generous so the root probe is never the one timing out on a loaded machine) fires.
	errtest.Want(t, err, fault.Inconclusive, "fetching "+srv.URL+"/metadata/timestamp.json: timed out: ", "slow or stalled server")
}

func TestUnreachableServerIsInconclusive(t *testing.T) {
	r := newTestRepo(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	err = r.client(t, func(o *Options) { o.Location = "http://" + addr }).Refresh(ctxT(t))
	errtest.Want(t, err, fault.Inconclusive, "fetching http://"+addr+"/metadata/2.root.json", "connection refused")
}

func TestServerErrorIsInconclusiveAndNotRetried(t *testing.T) {
	r := newTestRepo(t)
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		n.Add(1)
		http.Error(w, "boom", http.StatusInternalServerError)
	}))
	defer srv.Close()
	err := r.client(t, func(o *Options) { o.Location = srv.URL }).Refresh(ctxT(t))
	errtest.Want(t, err, fault.Inconclusive, srv.URL+"/metadata/2.root.json: HTTP 500 Internal Server Error")
	if n.Load() != 1 {
		t.Errorf("%d requests, want 1 (no retries)", n.Load())
	}
}

func TestMissingTimestampIsInconclusiveAndNamesTheLocation(t *testing.T) {
	r := newTestRepo(t)
	if err := os.Remove(filepath.Join(r.dir, "metadata", "timestamp.json")); err != nil {
		t.Fatal(err)
	}
	err := r.client(t).Refresh(ctxT(t))
	errtest.Want(t, err, fault.Inconclusive, "metadata/timestamp.json not found at "+r.dir)
}

func TestCallerCancellationStopsTheRefresh(t *testing.T) {
	r := newTestRepo(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := r.client(t).Refresh(ctx)
	errtest.Want(t, err, fault.Inconclusive, "context canceled")
}

func TestNoCacheNeverReadsWorkingDirectory(t *testing.T) {
	// go-tuf reads "<LocalMetadataDir>/timestamp.json" even with its cache
	// disabled; an empty LocalMetadataDir would be the working directory.
	// A stray timestamp.json there (here a validly signed version 99) must
	// not become the rollback floor of a cache-less run.
	r := newTestRepo(t)
	r.timestamp.Signed.Version = 99
	sign(t, r.timestamp, r.timestampKeys...)
	wd := t.TempDir()
	if err := os.WriteFile(filepath.Join(wd, "timestamp.json"), toBytes(t, r.timestamp), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(wd)
	if err := r.client(t).Refresh(ctxT(t)); err != nil {
		t.Fatalf("refresh read metadata from the working directory: %v", err)
	}
}

// countingFetcher is a Fetcher plugged in through Options.Fetcher, as an
// oci:// fetcher would be.
type countingFetcher struct {
	inner Fetcher
	names []string
}

func (f *countingFetcher) Fetch(ctx context.Context, name string, maxLen int64) ([]byte, error) {
	f.names = append(f.names, name)
	return f.inner.Fetch(ctx, name, maxLen)
}

func TestPluggableFetcherAndRegisteredScheme(t *testing.T) {
	r := newTestRepo(t)
	cf := &countingFetcher{inner: &dirFetcher{dir: r.dir}}
	RegisterScheme("testrepo", func(location string, opts FetcherOptions) (Fetcher, error) {
		if location != "testrepo://x" || opts.HTTPClient == nil || opts.HTTPClient == http.DefaultClient {
			return nil, errors.New("bad factory call")
		}
		return cf, nil
	})
	c := r.client(t, func(o *Options) { o.Location = "testrepo://x" })
	if _, _, err := c.Download(ctxT(t), versionName, 0); err != nil {
		t.Fatal(err)
	}
	got := strings.Join(cf.names, " ")
	want := "metadata/2.root.json metadata/timestamp.json metadata/1.snapshot.json metadata/1.targets.json metadata/1.releases.json targets/example.com/org/"
	if !strings.HasPrefix(got, want) {
		t.Errorf("fetched %s\nwant prefix %s", got, want)
	}
}

func TestFetcherIgnoringMaxLenIsStillCapped(t *testing.T) {
	r := newTestRepo(t)
	c := r.client(t, func(o *Options) { o.Fetcher = greedyFetcher{}; o.Location = "greedy" })
	err := c.Refresh(ctxT(t))
	errtest.Want(t, err, fault.Denied, "metadata/2.root.json from greedy exceeds 524288 bytes: endless data")
}

type greedyFetcher struct{}

func (greedyFetcher) Fetch(context.Context, string, int64) ([]byte, error) {
	return make([]byte, 1<<20), nil
}

func TestReadLimited(t *testing.T) {
	got, err := ReadLimited(strings.NewReader("12345"), "x", 5)
	if err != nil || string(got) != "12345" {
		t.Fatalf("exactly the cap: %q, %v", got, err)
	}
	_, err = ReadLimited(strings.NewReader("123456"), "x", 5)
	errtest.Want(t, err, fault.Denied, "x exceeds 5 bytes: endless data")
}

func TestNotFoundIsGoTUFs404(t *testing.T) {
	// go-tuf ends the root walk only on *metadata.ErrDownloadHTTP{404}.
	r := newTestRepo(t)
	c := r.client(t)
	_, err := c.adapter.DownloadFile(tufBase+"/7.root.json", 100, 0)
	var h *metadata.ErrDownloadHTTP
	if !errors.As(err, &h) || h.StatusCode != 404 || !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing root: %v (want ErrDownloadHTTP 404 and ErrNotFound)", err)
	}
}

func TestDefaultHTTPClientIsOwnWithProxyAndTimeouts(t *testing.T) {
	r := newTestRepo(t)
	c := r.client(t, func(o *Options) {
		o.Location, o.Timeout, o.ReadTimeout = "https://example.invalid/repo", 5*time.Second, 2*time.Second
	})
	defer c.Close()
	hc := c.ownHTTP
	if hc == nil || hc == http.DefaultClient {
		t.Fatal("the client must make its own http.Client")
	}
	tr, ok := hc.Transport.(*http.Transport)
	if !ok || tr == http.DefaultTransport {
		t.Fatalf("transport %T must be the client's own", hc.Transport)
	}
	if tr.Proxy == nil {
		t.Error("HTTPS_PROXY/NO_PROXY are not honoured (no Proxy func)")
	}
	if tr.ResponseHeaderTimeout != 2*time.Second || tr.TLSHandshakeTimeout != 5*time.Second { // connect timeout capped by Timeout
		t.Errorf("header timeout %s, TLS handshake timeout %s", tr.ResponseHeaderTimeout, tr.TLSHandshakeTimeout)
	}
	if hf := c.fetcher.(*httpFetcher); hf.client != hc || hf.readTimeout != 2*time.Second {
		t.Error("the HTTP fetcher does not use the client's own HTTP client and read timeout")
	}
}

func TestEscapeSegmentKeepsEncodedRoleNamesAndEscapesTheRest(t *testing.T) {
	for in, want := range map[string]string{
		"1.%3F.json": "1.%3F.json", "..%2Fdelegatedrole.json": "..%2Fdelegatedrole.json",
		"a b": "a%20b", "100%": "100%25", "%zz": "%25zz", "x?y#z": "x%3Fy%23z",
	} {
		if got := escapeSegment(in); got != want {
			t.Errorf("escapeSegment(%q) = %q, want %q", in, got, want)
		}
	}
}
