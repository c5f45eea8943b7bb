package client

import "time"

// FetcherFor builds the Fetcher New would use for a location (directory,
// file://, http(s)://, or a registered scheme), with the default HTTP client
// and timeouts. Callers wrap it, e.g. to record what a verification read.
func FetcherFor(location string, timeout time.Duration) (Fetcher, error) {
	o := Options{Location: location, Timeout: timeout}
	_, connect, read := o.timeouts()
	return fetcherFor(location, FetcherOptions{HTTPClient: newHTTPClient(connect, read), ReadTimeout: read})
}
