package metadata

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// servedRepo is a repository directory with a large and a small metadata
// file, served by Handler.
func servedRepo(t *testing.T) (base string, large, small []byte) {
	t.Helper()
	dir := t.TempDir()
	md := filepath.Join(dir, metadataDir)
	if err := os.MkdirAll(md, 0o755); err != nil {
		t.Fatal(err)
	}
	large = []byte(`{"signed":{"meta":{` + strings.Repeat(`"bins-0a3.json":{"version":7},`, 200) + `"x":{}}}}`)
	small = []byte(`{"signed":{}}`)
	for name, b := range map[string][]byte{
		metadataDir + "/1.snapshot.json": large, metadataDir + "/timestamp.json": small,
		metadataDir + "/.1.snapshot.json.tmp": large, "settings.json": large, // hidden ones
	} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewServer(Handler(dir))
	t.Cleanup(srv.Close)
	return srv.URL, large, small
}

// get asks for a path with the given Accept-Encoding (none when empty),
// without the transport's own decompression, and returns the response and
// its raw body.
func get(t *testing.T, method, url, acceptEncoding string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if acceptEncoding != "" {
		req.Header.Set("Accept-Encoding", acceptEncoding)
	}
	resp, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

func gunzip(t *testing.T, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestLargeMetadataIsServedGzippedToClientsThatAcceptIt(t *testing.T) {
	base, large, _ := servedRepo(t)
	for _, ae := range []string{"gzip", "br, gzip;q=0.5", "GZIP", "*", "deflate, x-gzip"} {
		resp, body := get(t, http.MethodGet, base+"/metadata/1.snapshot.json", ae)
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Encoding") != "gzip" {
			t.Fatalf("Accept-Encoding %q: HTTP %d, Content-Encoding %q: want gzip", ae, resp.StatusCode, resp.Header.Get("Content-Encoding"))
		}
		if len(body) >= len(large)/4 {
			t.Errorf("Accept-Encoding %q: %d compressed bytes for %d", ae, len(body), len(large))
		}
		if got := gunzip(t, body); !bytes.Equal(got, large) {
			t.Fatalf("Accept-Encoding %q: the compressed body is not the file", ae)
		}
		if !strings.Contains(resp.Header.Get("Vary"), "Accept-Encoding") || resp.Header.Get("Cache-Control") != "no-cache" {
			t.Errorf("Accept-Encoding %q: Vary %q, Cache-Control %q", ae, resp.Header.Get("Vary"), resp.Header.Get("Cache-Control"))
		}
	}
}

func TestMetadataIsServedAsStoredWithoutGzipSmallOrRanged(t *testing.T) {
	base, large, small := servedRepo(t)
	for _, c := range []struct {
		what, path, ae string
		want           []byte
	}{
		{"no Accept-Encoding", "/metadata/1.snapshot.json", "", large},
		{"gzip refused with q=0", "/metadata/1.snapshot.json", "gzip;q=0, br", large},
		{"gzip refused with q=0.000", "/metadata/1.snapshot.json", "gzip; q=0.000", large},
		{"another coding only", "/metadata/1.snapshot.json", "br", large},
		{"a file under 1 KiB", "/metadata/timestamp.json", "gzip", small},
	} {
		resp, body := get(t, http.MethodGet, base+c.path, c.ae)
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Encoding") != "" || !bytes.Equal(body, c.want) {
			t.Fatalf("%s: HTTP %d, Content-Encoding %q, %d bytes: want the file as stored", c.what, resp.StatusCode, resp.Header.Get("Content-Encoding"), len(body))
		}
	}
	req, _ := http.NewRequest(http.MethodGet, base+"/metadata/1.snapshot.json", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	req.Header.Set("Range", "bytes=0-9")
	resp, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusPartialContent || resp.Header.Get("Content-Encoding") != "" {
		t.Fatalf("a Range request: HTTP %d, Content-Encoding %q: want 206 of the stored bytes", resp.StatusCode, resp.Header.Get("Content-Encoding"))
	}
}

// TestGzipPathReachesNothingTheHandlerHides: asking for compression does
// not open files the plain path refuses (dot-files of writes in progress,
// the repository's other files, missing files).
func TestGzipPathReachesNothingTheHandlerHides(t *testing.T) {
	base, _, _ := servedRepo(t)
	for _, p := range []string{"/metadata/.1.snapshot.json.tmp", "/metadata/../settings.json", "/metadata/%2e%2e/keys/root.key", "/metadata/missing.json", "/staged/1.snapshot.json"} {
		resp, body := get(t, http.MethodGet, base+p, "gzip")
		if resp.StatusCode == http.StatusOK || resp.Header.Get("Content-Encoding") == "gzip" {
			t.Fatalf("%s: HTTP %d, Content-Encoding %q, %d bytes: want it refused", p, resp.StatusCode, resp.Header.Get("Content-Encoding"), len(body))
		}
	}
}
