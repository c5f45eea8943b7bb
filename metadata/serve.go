package metadata

import (
	"compress/gzip"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
)

// Handler serves a repository read-only over HTTP: DIR/metadata under
// /metadata/ and DIR/targets under /targets/. Nothing else is reachable (not
// staged/, not the settings, never keys), directories are not listed and
// dot-files (temporary files of writes in progress) are hidden. Clients use
// BASE/metadata as the metadata URL and BASE/targets as the targets URL.
//
// Metadata of 1 KiB or more is sent gzip-compressed to clients that accept
// it (Go's HTTP client asks for it by default): the snapshot of a repository
// in 4096 hash bins, which every client reads on every refresh, shrinks
// from about 300 KB to about 30 KB. Clients cap what they read after
// decompressing, so compression changes no limit.
func Handler(dir string) http.Handler {
	metaDir := http.Dir(filepath.Join(dir, metadataDir))
	meta := gzipMetadata(metaDir, http.StripPrefix("/metadata/", http.FileServer(metaDir)))
	targets := http.StripPrefix("/targets/", http.FileServer(http.Dir(filepath.Join(dir, targetsDir))))
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method != http.MethodGet && req.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		p := req.URL.Path
		if strings.HasSuffix(p, "/") || strings.Contains(p, "/.") {
			http.NotFound(w, req)
			return
		}
		w.Header().Set("X-Content-Type-Options", "nosniff")
		switch {
		case strings.HasPrefix(p, "/metadata/"):
			w.Header().Set("Cache-Control", "no-cache")
			meta.ServeHTTP(w, req)
		case strings.HasPrefix(p, "/targets/"):
			targets.ServeHTTP(w, req)
		default:
			http.NotFound(w, req)
		}
	})
}

// gzipMin is the smallest metadata file sent compressed.
const gzipMin = 1 << 10

// gzipMetadata serves a metadata file gzip-compressed when the client
// accepts gzip and asks for the whole file, and through plain otherwise.
func gzipMetadata(dir http.Dir, plain http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("Vary", "Accept-Encoding")
		if req.Header.Get("Range") != "" || !acceptsGzip(req.Header.Values("Accept-Encoding")) || !serveGzipped(w, req, dir) {
			plain.ServeHTTP(w, req)
		}
	})
}

// serveGzipped sends the file compressed and reports whether it did (false:
// not a regular file of gzipMin bytes or more; nothing was written).
func serveGzipped(w http.ResponseWriter, req *http.Request, dir http.Dir) bool {
	f, err := dir.Open(strings.TrimPrefix(req.URL.Path, "/metadata"))
	if err != nil {
		return false
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() || st.Size() < gzipMin {
		return false
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Encoding", "gzip")
	h.Set("Last-Modified", st.ModTime().UTC().Format(http.TimeFormat))
	w.WriteHeader(http.StatusOK)
	if req.Method == http.MethodHead {
		return true
	}
	zw, _ := gzip.NewWriterLevel(w, gzip.BestSpeed) // a valid level: no error
	if _, err := io.Copy(zw, f); err == nil {
		zw.Close()
	}
	return true
}

// acceptsGzip reports whether Accept-Encoding values name gzip (or *) with a
// quality above zero.
func acceptsGzip(values []string) bool {
	for _, v := range values {
		for _, part := range strings.Split(v, ",") {
			coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
			coding = strings.ToLower(strings.TrimSpace(coding))
			if (coding == "gzip" || coding == "x-gzip" || coding == "*") && qualityAboveZero(params) {
				return true
			}
		}
	}
	return false
}

// qualityAboveZero reads a "q=VALUE" parameter (absent: 1).
func qualityAboveZero(params string) bool {
	for _, p := range strings.Split(params, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
		if ok && strings.EqualFold(strings.TrimSpace(k), "q") {
			q, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return err == nil && q > 0
		}
	}
	return true
}
