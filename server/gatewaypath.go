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
	p, _, _ := strings.Cut(requestURI, "?")
	if err := checkPathBytes(p); err != nil {
		return route{}, err
	}
	if p == "/v2" || p == "/v2/" {
		return route{kind: routeBase}, nil
	}
	if !strings.HasPrefix(p, "/v2/") {
		return route{}, refuse(404, "DENIED", "request path %q: not a registry API path (/v2/...)", p)
	}
	segs := strings.Split(p[len("/v2/"):], "/")
	if err := checkSegments(p, segs); err != nil {
		return route{}, err
	}
	if len(segs) == 1 && segs[0] == "_catalog" {
		return route{kind: routeCatalog}, nil
	}
	if len(segs) < 3 {
		return route{}, refuse(404, "DENIED", "request path %q: not a manifest, blob or tag list path", p)
	}
	r, err := routeOf(p, segs[len(segs)-2], segs[len(segs)-1])
	if err != nil {
		return route{}, err
	}
	r.name = strings.Join(segs[:len(segs)-2], "/")
	if len(r.name) > maxNameLength || !nameRE.MatchString(r.name) {
		return route{}, refuse(400, "NAME_INVALID", "request path %q: %q is not a valid repository name", p, r.name)
	}
	return r, nil
}

// checkPathBytes refuses anything but printable ASCII, and percent-encoding.
func checkPathBytes(p string) error {
	for i := 0; i < len(p); i++ {
		if c := p[i]; c < 0x21 || c > 0x7e {
			return refuse(400, "DENIED", "request path: byte 0x%02x at offset %d is not printable ASCII", c, i)
		}
	}
	if strings.Contains(p, "%") {
		return refuse(400, "DENIED", "request path %q: percent-encoded characters are refused", p)
	}
	return nil
}

// checkSegments refuses empty and dot segments.
func checkSegments(p string, segs []string) error {
	for _, s := range segs {
		switch s {
		case "":
			return refuse(400, "DENIED", "request path %q: empty path segment", p)
		case ".", "..":
			return refuse(400, "DENIED", "request path %q: dot segments (%s) are refused", p, s)
		}
	}
	return nil
}

// routeOf reads the last two segments: tags/list, manifests/REF or
// blobs/DIGEST, with the reference checked against the grammar.
func routeOf(p, kind, ref string) (route, error) {
	switch {
	case kind == "tags" && ref == "list":
		return route{kind: routeTags}, nil
	case kind == "manifests":
		if !tagRE.MatchString(ref) && !sha256RE.MatchString(ref) {
			return route{}, refuse(400, "MANIFEST_UNKNOWN", "request path %q: %q is neither a tag nor a sha256 digest", p, ref)
		}
		return route{kind: routeManifest, ref: ref}, nil
	case kind == "blobs":
		if !blobDigestRE.MatchString(ref) {
			return route{}, refuse(400, "DIGEST_INVALID", "request path %q: %q is not a sha256 or sha512 digest", p, ref)
		}
		return route{kind: routeBlob, ref: ref}, nil
	}
	return route{}, refuse(403, "DENIED", "request path %q: only manifest and blob reads and tag lists pass this gateway", p)
}
