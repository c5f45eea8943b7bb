package metadata

import (
	"net/http"
	"path/filepath"
	"strings"
)

// Handler serves a repository read-only over HTTP: DIR/metadata under
// /metadata/ and DIR/targets under /targets/. Nothing else is reachable (not
// staged/, not the settings, never keys), directories are not listed and
// dot-files (temporary files of writes in progress) are hidden. Clients use
// BASE/metadata as the metadata URL and BASE/targets as the targets URL.
func Handler(dir string) http.Handler {
	meta := http.StripPrefix("/metadata/", http.FileServer(http.Dir(filepath.Join(dir, metadataDir))))
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
