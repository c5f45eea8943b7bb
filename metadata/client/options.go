package client

import (
	"net/http"
	"time"
)

// Options configure a Client. TrustedRoot and Location are required.
type Options struct {
	// TrustedRoot is the pinned initial root metadata (the bytes of the
	// user's ROOT.json). There is no trust on first use: without it New fails.
	TrustedRoot []byte
	// Location is where the repository is served: a directory path,
	// file:///path, an http:// or https:// base URL (the directory holding
	// metadata/ and targets/), or scheme://... for a scheme added with
	// RegisterScheme (e.g. oci://). Ignored when Fetcher is set.
	Location string
	// Fetcher, when set, reads the repository instead of the one Location
	// names (Location is then only used in messages).
	Fetcher Fetcher
	// CacheDir, when set, keeps trusted metadata across runs under
	// CacheDir/<sha256 of TrustedRoot>/, so newer metadata seen once (from
	// any location) is the floor for every later run: older metadata is a
	// rollback.
	CacheDir string
	// MetadataDir, when set, keeps trusted metadata in this directory under
	// the unversioned names of a TUF client's local metadata store:
	// root.json (the newest trusted root), timestamp.json, snapshot.json,
	// targets.json and ROLE.json, written atomically once the TUF workflow
	// accepted them and read back as the rollback floor. TrustedRoot is
	// still required (callers pass the content of MetadataDir/root.json).
	// It excludes CacheDir.
	MetadataDir string
	// Timeout is the deadline for each file download (default 30s).
	Timeout time.Duration
	// ConnectTimeout bounds TCP connect and TLS handshake of the default
	// HTTP client (default 10s, never more than Timeout).
	ConnectTimeout time.Duration
	// ReadTimeout is the longest wait for the next byte of a response,
	// headers included (default 10s, never more than Timeout).
	ReadTimeout time.Duration
	// HTTPClient replaces the default HTTP client (its own Transport,
	// proxies from HTTPS_PROXY/NO_PROXY, connect and header timeouts).
	HTTPClient *http.Client
	// Now is the fixed reference time of the run: every expiry check uses
	// it. Zero means the time New is called.
	Now time.Time
	// Limits caps every download; zero fields take DefaultLimits.
	Limits Limits
}

// Limits are the largest files accepted, in bytes. A file larger than its
// cap (or than the length its signed metadata gives) is refused while it is
// read: "exceeds N bytes: endless data".
type Limits struct {
	Root      int64 // each N.root.json
	Timestamp int64 // timestamp.json
	Snapshot  int64 // snapshot.json (when timestamp does not sign its length)
	Targets   int64 // top-level targets.json (when snapshot does not sign its length)
	Delegated int64 // each delegated targets role, e.g. releases
	Target    int64 // a target file, when Download is given no maximum
}

// DefaultLimits are the caps used for zero Limits fields.
var DefaultLimits = Limits{
	Root:      512 << 10,
	Timestamp: 16 << 10,
	Snapshot:  2 << 20,
	Targets:   5 << 20,
	Delegated: 10 << 20,
	Target:    32 << 20,
}

func (l Limits) withDefaults() Limits {
	def := func(v, d int64) int64 {
		if v <= 0 {
			return d
		}
		return v
	}
	return Limits{
		Root:      def(l.Root, DefaultLimits.Root),
		Timestamp: def(l.Timestamp, DefaultLimits.Timestamp),
		Snapshot:  def(l.Snapshot, DefaultLimits.Snapshot),
		Targets:   def(l.Targets, DefaultLimits.Targets),
		Delegated: def(l.Delegated, DefaultLimits.Delegated),
		Target:    def(l.Target, DefaultLimits.Target),
	}
}

// Default timeouts.
const (
	DefaultTimeout        = 30 * time.Second
	DefaultConnectTimeout = 10 * time.Second
	DefaultReadTimeout    = 10 * time.Second
)

func (o *Options) timeouts() (total, connect, read time.Duration) {
	total, connect, read = o.Timeout, o.ConnectTimeout, o.ReadTimeout
	if total <= 0 {
		total = DefaultTimeout
	}
	if connect <= 0 {
		connect = DefaultConnectTimeout
	}
	if read <= 0 {
		read = DefaultReadTimeout
	}
	return total, min(connect, total), min(read, total)
}
