package client

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/cnabsec/cnabsec/internal/fault"
)

// Fetcher reads the files of a metadata repository.
//
// name is a slash-separated path relative to the repository base, e.g.
// "metadata/timestamp.json", "metadata/3.root.json" or
// "targets/example.com/org/app/in-toto-metadata/<sha256>.root.layout"; every
// segment is a literal file name (never "", "." or ".."). Implementations
// must honour ctx (the client puts its per-file deadline on it), must not
// read more than maxLen+1 bytes (use ReadLimited), must not retry for long,
// and must return an error wrapping ErrNotFound when the file does not exist.
// Errors should be classified with internal/fault; unclassified errors are
// treated as Inconclusive (the data could not be obtained).
type Fetcher interface {
	Fetch(ctx context.Context, name string, maxLen int64) ([]byte, error)
}

// ErrNotFound is wrapped by fetcher errors for a file the repository does not have.
var ErrNotFound = errors.New("not found")

// FetcherOptions are what a Fetcher built from a location may need.
type FetcherOptions struct {
	// HTTPClient is the client to use for HTTP traffic (never nil).
	HTTPClient *http.Client
	// ReadTimeout is the longest wait for the next byte (idle timeout).
	ReadTimeout time.Duration
}

// FetcherFactory builds a Fetcher for a location whose scheme it was
// registered for (the whole location string, e.g. "oci://reg/repo").
type FetcherFactory func(location string, opts FetcherOptions) (Fetcher, error)

var (
	schemesMu sync.RWMutex
	schemes   = map[string]FetcherFactory{}
)

// RegisterScheme makes New accept locations "scheme://..." and build their
// Fetcher with f (e.g. an OCI-registry fetcher for "oci"). The built-in
// schemes file, http and https cannot be replaced. Call it from an init
// function.
func RegisterScheme(scheme string, f FetcherFactory) {
	scheme = strings.ToLower(scheme)
	switch scheme {
	case "file", "http", "https", "":
		panic("client: RegisterScheme: scheme " + scheme + " is built in")
	}
	schemesMu.Lock()
	defer schemesMu.Unlock()
	schemes[scheme] = f
}

func registeredScheme(scheme string) FetcherFactory {
	schemesMu.RLock()
	defer schemesMu.RUnlock()
	return schemes[strings.ToLower(scheme)]
}

// ReadLimited reads r to the end, refusing more than maxLen bytes: it reads at
// most maxLen+1 bytes and fails with a Denied "exceeds N bytes: endless data"
// error naming subject when there is more.
func ReadLimited(r io.Reader, subject string, maxLen int64) ([]byte, error) {
	if maxLen < 0 {
		maxLen = 0
	}
	data, err := io.ReadAll(io.LimitReader(r, maxLen+1))
	if int64(len(data)) > maxLen {
		return nil, endless(subject, maxLen)
	}
	if err != nil {
		return nil, err
	}
	return data, nil
}

func endless(subject string, maxLen int64) error {
	return fault.Deniedf("%s exceeds %d bytes: endless data", subject, maxLen)
}

// validName reports whether name is a relative slash-separated path with no
// empty, "." or ".." segment and no backslash.
func validName(name string) bool {
	if name == "" || strings.Contains(name, "\\") || strings.ContainsRune(name, 0) {
		return false
	}
	for _, seg := range strings.Split(name, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return false
		}
	}
	return true
}
