package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/secure-systems-lab/go-securesystemslib/cjson"
	"github.com/theupdateframework/go-tuf/v2/metadata"
	"github.com/theupdateframework/go-tuf/v2/metadata/config"
	"github.com/theupdateframework/go-tuf/v2/metadata/trustedmetadata"
	"github.com/theupdateframework/go-tuf/v2/metadata/updater"
)

// Client is a TUF client for one repository and one trust root. It is safe
// for concurrent use (calls are serialized) and refreshes at most once.
type Client struct {
	mu       sync.Mutex
	location string
	fetcher  Fetcher
	limits   Limits
	timeout  time.Duration
	now      time.Time
	cache    *cache // nil without CacheDir
	up       *updater.Updater
	adapter  *tufFetcher

	ownHTTP    *http.Client // the default client New made, if any
	cachedRoot int64        // newest root version in the cache at start
	refreshed  bool
	refreshErr error
	// edges remembers verified delegations of the loaded roles (see
	// checkDelegationPath); guarded by mu.
	edges map[delegationEdge]error
}

// errDeadline is the cancel cause of the per-file deadline.
type errDeadline struct{ d time.Duration }

func (e errDeadline) Error() string { return fmt.Sprintf("no complete response within %s", e.d) }

// New loads the pinned trusted root (and the newer roots the cache verified
// before) and prepares a client. It does no network I/O. Errors are Input
// errors: no or a malformed trusted root, a bad location, an unusable cache.
func New(opts Options) (*Client, error) {
	if len(opts.TrustedRoot) == 0 {
		return nil, fault.WithRemedy(fault.Inputf("no trusted root given: a TUF client needs a pinned root.json (no trust on first use)"),
			fault.RemedyPinTrustRoot, "")
	}
	if err := checkPinnedRoot(opts.TrustedRoot); err != nil {
		return nil, err
	}
	total, connect, read := opts.timeouts()
	c := &Client{
		location: opts.Location,
		limits:   opts.Limits.withDefaults(),
		timeout:  total,
		now:      referenceTime(opts.Now),
	}
	if err := c.setFetcher(opts, connect, read); err != nil {
		return nil, err
	}
	root, localDir, err := c.openLocalMetadata(opts)
	if err != nil {
		return nil, err
	}
	if err := c.newUpdater(root, localDir); err != nil {
		return nil, err
	}
	return c, nil
}

// referenceTime is the run's fixed time in UTC: now unless the options fixed one.
func referenceTime(now time.Time) time.Time {
	if now.IsZero() {
		now = time.Now()
	}
	return now.UTC()
}

// setFetcher installs the configured Fetcher, or builds one for the location
// (with a default HTTP client the Client owns when none is given).
func (c *Client) setFetcher(opts Options, connect, read time.Duration) error {
	if opts.Fetcher != nil {
		c.fetcher = opts.Fetcher
		if c.location == "" {
			c.location = "the configured fetcher"
		}
		return nil
	}
	hc := opts.HTTPClient
	if hc == nil {
		hc = newHTTPClient(connect, read)
		c.ownHTTP = hc
	}
	f, err := fetcherFor(opts.Location, FetcherOptions{HTTPClient: hc, ReadTimeout: read})
	if err != nil {
		return err
	}
	c.fetcher = f
	return nil
}

// openLocalMetadata opens the metadata directory or the cache, if any, and
// returns the root to start from and the directory go-tuf reads local
// metadata from.
func (c *Client) openLocalMetadata(opts Options) (root []byte, localDir string, err error) {
	switch {
	case opts.MetadataDir != "":
		return c.openMetadataDir(opts)
	case opts.CacheDir != "":
		return c.openCacheDir(opts)
	}
	return opts.TrustedRoot, noCacheDir, nil
}

// openMetadataDir uses a flat metadata directory as the local metadata,
// starting from the pinned root.
func (c *Client) openMetadataDir(opts Options) ([]byte, string, error) {
	if opts.CacheDir != "" {
		return nil, "", fault.Inputf("a metadata directory and a metadata cache exclude each other")
	}
	ca, err := openFlatStore(opts.MetadataDir)
	if err != nil {
		return nil, "", err
	}
	if md, err := metadata.Root().FromBytes(opts.TrustedRoot); err == nil {
		c.cachedRoot = md.Signed.Version
	}
	if err := ca.checkFiles(); err != nil {
		return nil, "", err
	}
	c.cache = ca
	return opts.TrustedRoot, ca.metadataDir(), nil
}

// openCacheDir uses the metadata cache as the local metadata, starting from
// the newest root it verified before.
func (c *Client) openCacheDir(opts Options) ([]byte, string, error) {
	ca, err := openCache(opts.CacheDir, opts.TrustedRoot)
	if err != nil {
		return nil, "", err
	}
	root, cachedRoot, err := ca.latestRoot(opts.TrustedRoot)
	if err != nil {
		return nil, "", err
	}
	c.cachedRoot = cachedRoot
	if err := ca.checkFiles(); err != nil {
		return nil, "", err
	}
	c.cache = ca
	return root, ca.metadataDir(), nil
}

// newUpdater configures go-tuf's updater for the root, the local metadata
// directory, the client's fetcher adapter, limits and reference time.
func (c *Client) newUpdater(root []byte, localDir string) error {
	cfg, err := config.New(tufBase, root)
	if err != nil {
		return fault.Inputf("TUF client configuration: %w", err)
	}
	c.adapter = &tufFetcher{c: c, captured: map[string][]byte{}}
	cfg.Fetcher = c.adapter
	// go-tuf's own cache writes (not fsynced, mode 0644) are off: the
	// Client caches what go-tuf accepted itself. go-tuf still reads
	// LocalMetadataDir, which is how cached metadata becomes the floor.
	cfg.DisableLocalCache = true
	cfg.LocalMetadataDir = localDir
	cfg.LocalTargetsDir = localDir
	cfg.RootMaxLength = c.limits.Root
	cfg.TimestampMaxLength = c.limits.Timestamp
	cfg.SnapshotMaxLength = c.limits.Snapshot
	cfg.TargetsMaxLength = max(c.limits.Targets, c.limits.Delegated) // per role in limitFor
	up, err := updater.New(cfg)
	if err != nil {
		return fault.Inputf("trusted root: %v", err)
	}
	// go-tuf has no option for the reference time; this setter is the only
	// way to make every expiry check use the run's fixed time.
	up.UnsafeSetRefTime(c.now)
	c.up = up
	return nil
}

// checkPinnedRoot refuses a trusted root that is not root metadata signed
// by a threshold of its own keys, or whose top-level roles cannot be met.
func checkPinnedRoot(data []byte) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fault.Inputf("trusted root is malformed: go-tuf failed on it: %v", p)
		}
	}()
	if err := checkStructure(metadata.ROOT, data); err != nil {
		return fault.Inputf("trusted root: %v", err)
	}
	tm, err := trustedmetadata.New(data)
	if err != nil {
		return fault.WithRemedy(fault.Inputf("trusted root is not valid root metadata: %v", err),
			fault.RemedyValidTrustRoot, "")
	}
	r := tm.Root.Signed
	for _, name := range []string{metadata.ROOT, metadata.TIMESTAMP, metadata.SNAPSHOT, metadata.TARGETS} {
		if err := checkPinnedRole(&r, name); err != nil {
			return err
		}
	}
	return nil
}

// checkPinnedRole refuses a top-level role of the pinned root that is
// missing, has a threshold below 1 or lists a key the root does not hold.
func checkPinnedRole(r *metadata.RootType, name string) error {
	role, ok := r.Roles[name]
	if !ok || role == nil {
		return fault.Inputf("trusted root version %d has no %s role", r.Version, name)
	}
	if role.Threshold < 1 {
		return fault.Inputf("trusted root version %d gives role %s threshold %d: a threshold must be at least 1", r.Version, name, role.Threshold)
	}
	for _, id := range role.KeyIDs {
		if _, ok := r.Keys[id]; !ok {
			return fault.Inputf("trusted root version %d lists key %s for role %s but not the key itself", r.Version, id, name)
		}
	}
	return nil
}

func (c *Client) limitFor(role string) int64 {
	switch role {
	case metadata.ROOT:
		return c.limits.Root
	case metadata.TIMESTAMP:
		return c.limits.Timestamp
	case metadata.SNAPSHOT:
		return c.limits.Snapshot
	case metadata.TARGETS:
		return c.limits.Targets
	}
	return c.limits.Delegated
}

// fetch reads one file with the per-file deadline, classifying errors the
// fetcher left unclassified as Inconclusive.
func (c *Client) fetch(ctx context.Context, name string, limit int64) ([]byte, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	if !validName(name) {
		return nil, fault.Deniedf("refusing to fetch %q: not a plain relative path", name)
	}
	ctx, cancel := context.WithTimeoutCause(ctx, c.timeout, errDeadline{c.timeout})
	defer cancel()
	data, err := c.fetcher.Fetch(ctx, name, limit)
	if err != nil {
		if errors.Is(err, ErrNotFound) || fault.KindOf(err) != fault.Unknown {
			return nil, err
		}
		if cause := context.Cause(ctx); cause != nil {
			return nil, fault.Inconclusivef("fetching %s from %s: timed out: %v: %v", name, c.location, cause, err)
		}
		return nil, fault.Inconclusivef("fetching %s from %s: %w", name, c.location, err)
	}
	if int64(len(data)) > limit { // a third-party fetcher ignoring maxLen
		return nil, endless(name+" from "+c.location, limit)
	}
	return data, nil
}

// Refresh runs the TUF client workflow for the top-level roles (root walk,
// timestamp, snapshot, targets) against the fixed reference time. It runs
// once per Client; later calls return the first result.
func (c *Client) Refresh(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.refreshLocked(ctx)
}

func (c *Client) refreshLocked(ctx context.Context) error {
	if c.refreshed {
		return c.refreshErr
	}
	c.refreshed = true
	c.refreshErr = c.runTUF(ctx, "refreshing from "+c.location, c.up.Refresh)
	return c.refreshErr
}

// runTUF calls into go-tuf's updater with ctx for the fetcher, turns a
// panic into an error, classifies the error, caches what was accepted and
// forgets the downloaded bytes.
func (c *Client) runTUF(ctx context.Context, what string, fn func() error) error {
	c.adapter.ctx = ctx
	err := func() (err error) {
		defer noPanic(what, &err)
		return fn()
	}()
	c.adapter.ctx = nil
	if err != nil {
		err = c.tufError(err)
	}
	perr := c.persist()
	c.adapter.captured = map[string][]byte{}
	if err != nil {
		return err
	}
	return perr
}

// persist writes to the cache what go-tuf accepted: new root versions, and
// the timestamp, snapshot and targets roles that are fully valid.
func (c *Client) persist() error {
	if c.cache == nil {
		return nil
	}
	tm := c.up.GetTrustedMetadataSet()
	for _, step := range []func(trustedmetadata.TrustedMetadata) error{c.persistRoots, c.persistTimestamp, c.persistSnapshot, c.persistTargets} {
		if err := step(tm); err != nil {
			return err
		}
	}
	return nil
}

// persistRoots caches each new root version go-tuf walked through.
func (c *Client) persistRoots(tm trustedmetadata.TrustedMetadata) error {
	for v := c.cachedRoot + 1; v <= tm.Root.Signed.Version; v++ {
		data, ok := c.adapter.captured[fmt.Sprintf("%d.root.json", v)]
		if !ok {
			continue
		}
		if err := c.cache.saveRoot(v, data); err != nil {
			return err
		}
		c.cachedRoot = v
	}
	return nil
}

// persistTimestamp caches an unexpired timestamp; a newer cached one stays
// unless the trusted root's timestamp keys no longer verify it.
func (c *Client) persistTimestamp(tm trustedmetadata.TrustedMetadata) error {
	ts := tm.Timestamp
	if ts == nil || ts.Signed.IsExpired(c.now) {
		return nil
	}
	data := c.capturedMatching(metadata.TIMESTAMP, &ts.Signed)
	if data == nil {
		return nil
	}
	return c.cache.saveRole(metadata.TIMESTAMP, ts.Signed.Version, data, func(old []byte) bool {
		md, err := metadata.Timestamp().FromBytes(old)
		return err == nil && tm.Root.VerifyDelegate(metadata.TIMESTAMP, md) == nil
	})
}

// persistSnapshot caches an unexpired snapshot the trusted timestamp lists.
func (c *Client) persistSnapshot(tm trustedmetadata.TrustedMetadata) error {
	sn := tm.Snapshot
	if sn == nil || tm.Timestamp == nil || sn.Signed.IsExpired(c.now) {
		return nil
	}
	listed := tm.Timestamp.Signed.Meta["snapshot.json"]
	if listed == nil || sn.Signed.Version != listed.Version {
		return nil
	}
	data := c.capturedMatching(metadata.SNAPSHOT, &sn.Signed)
	if data == nil {
		return nil
	}
	return c.cache.saveRole(metadata.SNAPSHOT, sn.Signed.Version, data, func(old []byte) bool {
		md, err := metadata.Snapshot().FromBytes(old)
		return err == nil && tm.Root.VerifyDelegate(metadata.SNAPSHOT, md) == nil
	})
}

// persistTargets caches every targets role go-tuf loaded (it stores a role
// only once fully valid). Every one, top-level included, is replaced: its
// floor is the version the trusted snapshot lists, and snapshot itself
// cannot roll back; after a snapshot key rotation (fast-forward recovery)
// the new snapshot may list a lower version than the cached one.
func (c *Client) persistTargets(tm trustedmetadata.TrustedMetadata) error {
	for role, md := range tm.Targets {
		if !cacheableRole(role) {
			continue // never fetched by us; never a file name in the cache
		}
		if data := c.capturedMatching(role, &md.Signed); data != nil {
			if err := c.cache.saveRole(role, md.Signed.Version, data, nil); err != nil {
				return err
			}
		}
	}
	return nil
}

// capturedMatching returns the downloaded bytes of role whose signed part is
// the one go-tuf trusts, or nil (e.g. go-tuf kept the cached copy).
func (c *Client) capturedMatching(role string, trusted any) []byte {
	var want []byte
	for name, data := range c.adapter.captured {
		mf, err := parseMetaFile(name)
		if err != nil || mf.role != role {
			continue
		}
		if want == nil {
			// Encoded only when role was downloaded: a target lookup that
			// downloads nothing must not re-encode every loaded role.
			if want, err = cjson.EncodeCanonical(trusted); err != nil {
				return nil
			}
		}
		if got := canonicalSigned(role, data); got != nil && string(got) == string(want) {
			return data
		}
	}
	return nil
}

// canonicalSigned is the canonical JSON of the signed part of data parsed as
// role's metadata, or nil when it does not parse.
func canonicalSigned(role string, data []byte) []byte {
	var got []byte
	switch role {
	case metadata.TIMESTAMP:
		if m, err := metadata.Timestamp().FromBytes(data); err == nil {
			got, _ = cjson.EncodeCanonical(&m.Signed)
		}
	case metadata.SNAPSHOT:
		if m, err := metadata.Snapshot().FromBytes(data); err == nil {
			got, _ = cjson.EncodeCanonical(&m.Signed)
		}
	default:
		if m, err := metadata.Targets().FromBytes(data); err == nil {
			got, _ = cjson.EncodeCanonical(&m.Signed)
		}
	}
	return got
}

// RoleState is the trusted state of one role, e.g. for metrics.
type RoleState struct {
	Role    string    `json:"role"`
	Version int64     `json:"version"`
	Expires time.Time `json:"expires"`
}

// Roles returns the version and expiry of root, timestamp, snapshot, targets
// and every delegated role loaded so far (delegated ones sorted by name).
// Expires minus ReferenceTime is each role's remaining life. After a failed
// Refresh it shows what go-tuf had loaded, which may include metadata that
// failed a final check (useful to diagnose, not to trust). It waits for a
// call in progress (calls are serialized).
func (c *Client) Roles() []RoleState {
	c.mu.Lock()
	defer c.mu.Unlock()
	tm := c.up.GetTrustedMetadataSet()
	out := []RoleState{{metadata.ROOT, tm.Root.Signed.Version, tm.Root.Signed.Expires}}
	if tm.Timestamp != nil {
		out = append(out, RoleState{metadata.TIMESTAMP, tm.Timestamp.Signed.Version, tm.Timestamp.Signed.Expires})
	}
	if tm.Snapshot != nil {
		out = append(out, RoleState{metadata.SNAPSHOT, tm.Snapshot.Signed.Version, tm.Snapshot.Signed.Expires})
	}
	if t := tm.Targets[metadata.TARGETS]; t != nil {
		out = append(out, RoleState{metadata.TARGETS, t.Signed.Version, t.Signed.Expires})
	}
	var deleg []RoleState
	for name, t := range tm.Targets {
		if name != metadata.TARGETS {
			deleg = append(deleg, RoleState{name, t.Signed.Version, t.Signed.Expires})
		}
	}
	sort.Slice(deleg, func(i, j int) bool { return deleg[i].Role < deleg[j].Role })
	return append(out, deleg...)
}

// roleVersion is 0 unless Refresh succeeded: after a failed refresh go-tuf
// may hold metadata that did not pass every check (e.g. an expired
// timestamp kept for rollback protection).
func (c *Client) roleVersion(role string) int64 {
	c.mu.Lock()
	ok := c.refreshed && c.refreshErr == nil
	c.mu.Unlock()
	if !ok && role != metadata.ROOT {
		return 0
	}
	for _, r := range c.Roles() {
		if r.Role == role {
			return r.Version
		}
	}
	return 0
}

// TrustedRootVersion is the version of the trusted root (after Refresh: the
// newest; before: the pinned root or the newest the cache verified).
func (c *Client) TrustedRootVersion() int64 { return c.roleVersion(metadata.ROOT) }

// TrustedTimestampVersion is the trusted timestamp version, 0 unless Refresh succeeded.
func (c *Client) TrustedTimestampVersion() int64 { return c.roleVersion(metadata.TIMESTAMP) }

// TrustedSnapshotVersion is the trusted snapshot version, 0 unless Refresh succeeded.
// Callers may key caches of verification results by it.
func (c *Client) TrustedSnapshotVersion() int64 { return c.roleVersion(metadata.SNAPSHOT) }

// TrustedTargetsVersion is the trusted top-level targets version, 0 unless Refresh succeeded.
func (c *Client) TrustedTargetsVersion() int64 { return c.roleVersion(metadata.TARGETS) }

// Close releases the idle connections of the Client's own HTTP client (not
// of an Options.HTTPClient). The Client must not be used afterwards.
func (c *Client) Close() error {
	if c.ownHTTP != nil {
		c.ownHTTP.CloseIdleConnections()
	}
	return nil
}

// ReferenceTime is the fixed time every expiry check of this Client uses.
func (c *Client) ReferenceTime() time.Time { return c.now }

// Location is the repository location as given (used in messages).
func (c *Client) Location() string { return c.location }
