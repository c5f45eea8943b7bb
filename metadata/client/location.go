package client

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/cnabsec/cnabsec/internal/fault"
)

// fetcherFor builds the Fetcher for a location (see Options.Location).
func fetcherFor(location string, opts FetcherOptions) (Fetcher, error) {
	if location == "" {
		return nil, fault.Inputf("no metadata location given (a directory, file://, http(s):// or oci:// location)")
	}
	scheme, _, hasScheme := strings.Cut(location, "://")
	if !hasScheme || strings.ContainsAny(scheme, "/\\") {
		return dirFetcherFor(location, location)
	}
	switch strings.ToLower(scheme) {
	case "file":
		return fileURLFetcherFor(location)
	case "http", "https":
		return httpFetcherFor(location, opts)
	}
	return registeredFetcherFor(location, scheme, opts)
}

// fileURLFetcherFor builds the Fetcher for a file:///absolute/path location.
func fileURLFetcherFor(location string) (Fetcher, error) {
	u, err := url.Parse(location)
	if err != nil || (u.Host != "" && u.Host != "localhost") || u.Path == "" {
		return nil, fault.Inputf("metadata location %q: want file:///absolute/path", location)
	}
	return dirFetcherFor(location, u.Path)
}

// httpFetcherFor builds the Fetcher for an http(s) base URL, which takes no
// query, fragment or credentials.
func httpFetcherFor(location string, opts FetcherOptions) (Fetcher, error) {
	u, err := url.Parse(location)
	if err != nil || u.Host == "" {
		return nil, fault.Inputf("metadata location %q is not a valid URL", location)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, fault.Inputf("metadata location %q: a base URL takes no query, fragment or credentials", location)
	}
	return &httpFetcher{base: strings.TrimRight(location, "/"), client: opts.HTTPClient, readTimeout: opts.ReadTimeout}, nil
}

// registeredFetcherFor builds the Fetcher of a registered scheme (such as
// oci://), or refuses an unknown scheme.
func registeredFetcherFor(location, scheme string, opts FetcherOptions) (Fetcher, error) {
	f := registeredScheme(scheme)
	if f == nil {
		return nil, fault.Inputf("metadata location %q: unsupported scheme %q (want a directory, file://, http:// or https://)", location, scheme)
	}
	fe, err := f(location, opts)
	if err != nil {
		return nil, fault.Wrap(fault.Input, err)
	}
	return fe, nil
}

// dirFetcherFor builds the Fetcher for a local metadata directory.
func dirFetcherFor(location, dir string) (Fetcher, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fault.Inputf("metadata location %q: %w", location, err)
	}
	st, err := os.Stat(abs)
	if err != nil {
		return nil, fault.Inputf("metadata location %q: %w", location, err)
	}
	if !st.IsDir() {
		return nil, fault.Inputf("metadata location %q is not a directory", location)
	}
	return &dirFetcher{dir: abs}, nil
}
