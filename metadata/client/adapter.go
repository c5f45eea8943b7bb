package client

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/theupdateframework/go-tuf/v2/metadata"
)

// tufBase is the metadata URL go-tuf is configured with. It is never
// dialled: the adapter strips it and reads "metadata/<file>" through the
// Client's Fetcher, whatever the location's scheme.
const tufBase = "https://cnabsec.invalid/metadata"

// maxRoleName bounds a role name (TUF sets no limit; file names do).
const maxRoleName = 200

// roleFile is a role name as it appears in a metadata file name and URL:
// every byte but ASCII letters, digits and "_.-~" percent-encoded, as
// python-tuf's quote(role, safe="") does. No role name can then add a path
// segment ("/", "..") to a URL or to a file of the cache: "../x" is
// "..%2Fx", one segment. Roles of cnabsec's own repositories (letters,
// digits, '.', '_', '-') are their own file names.
func roleFile(role string) string {
	var b strings.Builder
	for i := 0; i < len(role); i++ {
		c := role[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("_.-~", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}

// cacheableRole reports whether role may be kept in the cache under its
// encoded name: not empty, not "." or ".." once encoded, and not too long.
func cacheableRole(role string) bool {
	f := roleFile(role)
	return role != "" && f != "." && f != ".." && len(f) <= 3*maxRoleName
}

// tufFetcher is the go-tuf fetcher.Fetcher of one Client. go-tuf's
// interface carries no context: the Client sets ctx before each call into
// the updater (calls are serialized by the Client's mutex).
type tufFetcher struct {
	c   *Client
	ctx context.Context
	// captured holds the bytes of every metadata file downloaded, by file
	// name ("timestamp.json", "3.root.json", "2.releases.json"), so the
	// Client can cache exactly the bytes go-tuf accepted.
	captured map[string][]byte
	// last is the metadata file most recently requested.
	last metaFile
}

// metaFile is a parsed metadata file name.
type metaFile struct {
	name    string // as requested, e.g. "3.root.json"
	role    string
	version int64 // 0 when unversioned
}

func parseMetaFile(file string) (metaFile, error) {
	base, ok := strings.CutSuffix(file, ".json")
	if !ok {
		return metaFile{}, fmt.Errorf("not a metadata file name")
	}
	mf := metaFile{name: file}
	if v, rest, found := strings.Cut(base, "."); found {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n > 0 {
			mf.version, base = n, rest
		}
	}
	role, err := url.PathUnescape(base)
	if err != nil {
		return metaFile{}, err
	}
	mf.role = role
	return mf, nil
}

// DownloadFile implements go-tuf's fetcher.Fetcher.
func (a *tufFetcher) DownloadFile(u string, maxLength int64, _ time.Duration) ([]byte, error) {
	file, ok := strings.CutPrefix(u, tufBase+"/")
	if !ok {
		return nil, fault.Deniedf("refusing to fetch %q: outside the metadata repository", u)
	}
	mf, err := parseMetaFile(file)
	if err != nil {
		return nil, fault.Deniedf("refusing to fetch metadata file %q: %v", file, err)
	}
	a.last = mf
	if !cacheableRole(mf.role) || len(mf.role) > maxRoleName {
		return nil, fault.Deniedf("role name %q: empty, a dot segment or longer than %d bytes: refusing to fetch it", mf.role, maxRoleName)
	}
	limit := a.c.limitFor(mf.role)
	if maxLength > 0 && maxLength < limit {
		limit = maxLength
	}
	// The file name is rebuilt from the role, encoded here: never the
	// string go-tuf built (it escapes fewer characters than python-tuf).
	mf.name = roleFile(mf.role) + ".json"
	if mf.version > 0 {
		mf.name = strconv.FormatInt(mf.version, 10) + "." + mf.name
	}
	name := "metadata/" + mf.name
	data, err := a.c.fetch(a.ctx, name, limit)
	if err != nil {
		return nil, a.fetchError(err, name, mf.role)
	}
	if err := checkStructure(mf.role, data); err != nil {
		return nil, fault.Deniedf("%s from %s: %w", name, a.c.location, err)
	}
	a.captured[mf.name] = data
	return data, nil
}

// fetchError turns a missing file into go-tuf's 404 (which ends its root
// walk, and only a 404 does), pointing at the location when the timestamp
// is missing; other errors pass unchanged.
func (a *tufFetcher) fetchError(err error, name, role string) error {
	if !errors.Is(err, ErrNotFound) {
		return err
	}
	nf := fault.Wrap(fault.Inconclusive, &notFoundError{
		msg:  fmt.Sprintf("%s not found at %s", name, a.c.location),
		http: &metadata.ErrDownloadHTTP{StatusCode: 404, URL: name},
	})
	if role == metadata.TIMESTAMP {
		nf = fault.WithRemedy(nf, fault.RemedyCheckMetadataLocation, a.c.location)
	}
	return nf
}

// notFoundError reads well and is both ErrNotFound and go-tuf's 404.
type notFoundError struct {
	msg  string
	http *metadata.ErrDownloadHTTP
}

func (e *notFoundError) Error() string   { return e.msg }
func (e *notFoundError) Unwrap() []error { return []error{ErrNotFound, e.http} }
