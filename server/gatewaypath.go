package server

import (
	"fmt"
	"regexp"
	"strings"
)

// The distribution spec's grammar for repository names, tags and digests.
var (
	nameComponent = `[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*`
	nameRE        = regexp.MustCompile(`^` + nameComponent + `(?:/` + nameComponent + `)*$`)
	tagRE         = regexp.MustCompile(`^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$`)
	sha256RE      = regexp.MustCompile(`^sha256:[a-f0-9]{64}$`)
	blobDigestRE  = regexp.MustCompile(`^(?:sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$`)
)

// maxNameLength bounds a repository name (the distribution spec suggests 255
// for host and name together).
const maxNameLength = 255

// routeKind is what a registry API request asks for.
type routeKind int

const (
	routeBase     routeKind = iota + 1 // /v2/
	routeCatalog                       // /v2/_catalog
	routeTags                          // /v2/<name>/tags/list
	routeManifest                      // /v2/<name>/manifests/<tag|digest>
	routeBlob                          // /v2/<name>/blobs/<digest>
)

// route is a parsed registry API path.
type route struct {
	kind routeKind
	name string // repository name
	ref  string // tag or digest (manifest), digest (blob)
}

// isDigest reports whether a manifest route names a digest.
func (r route) isDigest() bool { return strings.HasPrefix(r.ref, "sha256:") }

// pathError is a refused request path: code is the distribution error code,
// status the HTTP status.
type pathError struct {
	status int
	code   string
	msg    string
}

func (e *pathError) Error() string { return e.msg }

func refuse(status int, code, format string, args ...any) *pathError {
	return &pathError{status: status, code: code, msg: fmt.Sprintf(format, args...)}
}

// parseRegistryPath parses the raw request target (as sent, before any
// decoding) of a distribution API request. It is strict: no percent-encoding
// (a name or reference never needs one, and "%2F" would smuggle a "/" past a
// proxy's routing), only printable ASCII, no empty, "." or ".." segments.
func parseRegistryPath(requestURI string) (route, error) {
	p := requestURI
	if i := strings.IndexByte(p, '?'); i >= 0 {
		p = p[:i]
	}
	for i := 0; i < len(p); i++ {
		if c := p[i]; c < 0x21 || c > 0x7e {
			return route{}, refuse(400, "DENIED", "request path: byte 0x%02x at offset %d is not printable ASCII", c, i)
		}
	}
	if strings.Contains(p, "%") {
		return route{}, refuse(400, "DENIED", "request path %q: percent-encoded characters are refused", p)
	}
	if p == "/v2" || p == "/v2/" {
		return route{kind: routeBase}, nil
	}
	if !strings.HasPrefix(p, "/v2/") {
		return route{}, refuse(404, "DENIED", "request path %q: not a registry API path (/v2/...)", p)
	}
	segs := strings.Split(p[len("/v2/"):], "/")
	for _, s := range segs {
		switch s {
		case "":
			return route{}, refuse(400, "DENIED", "request path %q: empty path segment", p)
		case ".", "..":
			return route{}, refuse(400, "DENIED", "request path %q: dot segments (%s) are refused", p, s)
		}
	}
	n := len(segs)
	if n == 1 && segs[0] == "_catalog" {
		return route{kind: routeCatalog}, nil
	}
	if n < 3 {
		return route{}, refuse(404, "DENIED", "request path %q: not a manifest, blob or tag list path", p)
	}
	var r route
	switch {
	case segs[n-2] == "tags" && segs[n-1] == "list":
		r = route{kind: routeTags}
	case segs[n-2] == "manifests":
		r = route{kind: routeManifest, ref: segs[n-1]}
		if !tagRE.MatchString(r.ref) && !sha256RE.MatchString(r.ref) {
			return route{}, refuse(400, "MANIFEST_UNKNOWN", "request path %q: %q is neither a tag nor a sha256 digest", p, r.ref)
		}
	case segs[n-2] == "blobs":
		r = route{kind: routeBlob, ref: segs[n-1]}
		if !blobDigestRE.MatchString(r.ref) {
			return route{}, refuse(400, "DIGEST_INVALID", "request path %q: %q is not a sha256 or sha512 digest", p, r.ref)
		}
	default:
		return route{}, refuse(403, "DENIED", "request path %q: only manifest and blob reads and tag lists pass this gateway", p)
	}
	r.name = strings.Join(segs[:n-2], "/")
	if len(r.name) > maxNameLength || !nameRE.MatchString(r.name) {
		return route{}, refuse(400, "NAME_INVALID", "request path %q: %q is not a valid repository name", p, r.name)
	}
	return r, nil
}
