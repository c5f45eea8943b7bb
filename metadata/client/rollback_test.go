package client

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/internal/testing/errtest"
	"github.com/cnabsec/cnabsec/keys"
)

// runOnce refreshes a fresh client for location with cache and looks up the
// bundle version, as one verifier run does.
func runOnce(t *testing.T, r *testRepo, location, cache string) error {
	t.Helper()
	c := r.client(t, func(o *Options) { o.Location, o.CacheDir = location, cache })
	_, err := c.Target(ctxT(t), versionName)
	return err
}

func TestRollbackOfTimestampAfterRestartIsRefused(t *testing.T) {
	r := newTestRepo(t)
	old := r.copyTo(t)
	r.bumpAll()
	cache := t.TempDir()
	if err := runOnce(t, r, r.dir, cache); err != nil {
		t.Fatalf("run 1 (v2): %v", err)
	}
	err := runOnce(t, r, old, cache)
	errtest.Want(t, err, fault.Denied, "timestamp version 1 is older than trusted version 2: rollback")
	if r, _ := fault.RemedyOf(err); r != fault.RemedyRollback {
		t.Errorf("remedy %v, want %v", r, fault.RemedyRollback)
	}
}

func TestRollbackFromOlderMirrorIsRefused(t *testing.T) {
	// The cache is per trust root, not per location: a mirror serving the
	// older copy over HTTP is caught as well.
	r := newTestRepo(t)
	mirror := httptest.NewServer(http.FileServer(http.Dir(r.copyTo(t))))
	defer mirror.Close()
	r.bumpAll()
	cache := t.TempDir()
	if err := runOnce(t, r, r.dir, cache); err != nil {
		t.Fatalf("run 1 (v2): %v", err)
	}
	errtest.Want(t, runOnce(t, r, mirror.URL, cache), fault.Denied, "timestamp version 1 is older than trusted version 2: rollback")
}

func TestRollbackWithoutCacheIsNotDetectable(t *testing.T) {
	// Documents the limit: without a cache, a first run has no floor but
	// the pinned root (TUF's design); the older copy still has to be
	// unexpired and correctly signed.
	r := newTestRepo(t)
	old := r.copyTo(t)
	r.bumpAll()
	if err := runOnce(t, r, old, ""); err != nil {
		t.Fatalf("older copy without cache: %v", err)
	}
}

func TestRollbackOfSnapshotIsRefused(t *testing.T) {
	// A compromised timestamp key signs a newer timestamp that lists the
	// older snapshot.
	r := newTestRepo(t)
	r.bumpAll() // v2
	cache := t.TempDir()
	if err := runOnce(t, r, r.dir, cache); err != nil {
		t.Fatalf("run 1: %v", err)
	}
	r.snapshot.Signed.Version = 1
	r.timestamp.Signed.Version = 3
	r.writeTimestamp()
	errtest.Want(t, runOnce(t, r, r.dir, cache), fault.Denied,
		"timestamp lists snapshot version 1, older than trusted snapshot version 2: rollback")
}

func TestRollbackOfTargetsIsRefused(t *testing.T) {
	// Compromised snapshot and timestamp keys list the older targets.
	r := newTestRepo(t)
	r.bumpAll() // v2
	cache := t.TempDir()
	if err := runOnce(t, r, r.dir, cache); err != nil {
		t.Fatalf("run 1: %v", err)
	}
	r.targets.Signed.Version = 1
	r.snapshot.Signed.Version = 3
	r.timestamp.Signed.Version = 3
	r.writeSnapshot()
	r.writeTimestamp()
	errtest.Want(t, runOnce(t, r, r.dir, cache), fault.Denied,
		"snapshot lists targets version 1, older than trusted version 2: rollback")
}

func TestRollbackOfDelegatedRoleIsRefused(t *testing.T) {
	r := newTestRepo(t)
	r.bumpAll() // v2
	cache := t.TempDir()
	if err := runOnce(t, r, r.dir, cache); err != nil {
		t.Fatalf("run 1: %v", err)
	}
	r.releases.Signed.Version = 1
	r.snapshot.Signed.Version = 3
	r.timestamp.Signed.Version = 3
	r.writeSnapshot()
	r.writeTimestamp()
	errtest.Want(t, runOnce(t, r, r.dir, cache), fault.Denied,
		"snapshot lists releases version 1, older than trusted version 2: rollback")
}

func TestCacheIsKeyedByTrustRoot(t *testing.T) {
	// Two repositories (two trust roots) share a cache directory: the newer
	// state of one is no floor for the other.
	a, b := newTestRepo(t), newTestRepo(t)
	a.bumpAll()
	a.bumpAll()
	cache := t.TempDir()
	if err := runOnce(t, a, a.dir, cache); err != nil {
		t.Fatal(err)
	}
	if err := runOnce(t, b, b.dir, cache); err != nil {
		t.Fatalf("repository b with a's cache next to it: %v", err)
	}
	if err := runOnce(t, a, a.dir, cache); err != nil {
		t.Fatalf("repository a again: %v", err)
	}
}

func TestCacheNeverGoesBackToAnOlderVersion(t *testing.T) {
	// Two runs share a cache; the one that saw older metadata may finish
	// last. Its write must not lower the floor.
	r := newTestRepo(t)
	v1 := toBytes(t, r.timestamp)
	r.bumpAll()
	v2 := toBytes(t, r.timestamp)
	ca, err := openCache(t.TempDir(), r.rootBytes[1])
	if err != nil {
		t.Fatal(err)
	}
	stillTrusted := func([]byte) bool { return true }
	if err := ca.saveRole("timestamp", 2, v2, stillTrusted); err != nil {
		t.Fatal(err)
	}
	if err := ca.saveRole("timestamp", 1, v1, stillTrusted); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(ca.metadataDir(), "timestamp.json"))
	if err != nil || string(got) != string(v2) {
		t.Fatalf("cached timestamp went back to version 1 (err %v)", err)
	}
	st, _ := os.Stat(filepath.Join(ca.metadataDir(), "timestamp.json"))
	if st.Mode().Perm() != 0o600 {
		t.Errorf("cache file mode %v, want 0600", st.Mode().Perm())
	}
}

func TestFastForwardRecoveryAfterTimestampKeyRotation(t *testing.T) {
	// A stolen timestamp key signs version 1000, which a client caches.
	// The owners rotate the timestamp key in root 2 and restart at version
	// 2: the cached 1000, signed by the revoked key, is no floor any more.
	r := newTestRepo(t)
	r.timestamp.Signed.Version = 1000
	r.writeTimestamp()
	cache := t.TempDir()
	if err := runOnce(t, r, r.dir, cache); err != nil {
		t.Fatal(err)
	}
	r.timestamp.Signed.Version = 2
	r.writeTimestamp()
	errtest.Want(t, runOnce(t, r, r.dir, cache), fault.Denied, "timestamp version 2 is older than trusted version 1000: rollback")

	r.timestampKeys = []*keys.PrivateKey{genKey(t)}
	r.root.Signed.Version = 2
	r.setRoleKeys(metadata.TIMESTAMP, 1, r.timestampKeys...)
	r.writeRoot(r.rootKeys...)
	r.writeTimestamp()
	c := r.client(t, func(o *Options) { o.CacheDir = cache })
	if err := c.Refresh(ctxT(t)); err != nil {
		t.Fatalf("after rotating the timestamp key: %v", err)
	}
	if v := c.TrustedTimestampVersion(); v != 2 {
		t.Errorf("trusted timestamp version %d, want 2", v)
	}
	// The cache now holds version 2 (the revoked 1000 was replaced), so it
	// is the floor again.
	r.timestamp.Signed.Version = 1
	r.writeTimestamp()
	errtest.Want(t, runOnce(t, r, r.dir, cache), fault.Denied, "timestamp version 1 is older than trusted version 2: rollback")
}

func TestWarmCacheFetchesOnlyTheRootProbeAndTimestamp(t *testing.T) {
	r := newTestRepo(t)
	var names []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		names = append(names, req.URL.Path)
		http.FileServer(http.Dir(r.dir)).ServeHTTP(w, req)
	}))
	defer srv.Close()
	cache := t.TempDir()
	if err := runOnce(t, r, srv.URL, cache); err != nil {
		t.Fatal(err)
	}
	cold := len(names)
	names = nil
	if err := runOnce(t, r, srv.URL, cache); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(names, " "); got != "/metadata/2.root.json /metadata/timestamp.json" {
		t.Errorf("warm run fetched %s (cold run: %d requests)", got, cold)
	}
}

func TestVersionsAreZeroAfterAFailedRefresh(t *testing.T) {
	r := newTestRepo(t)
	r.timestamp.Signed.Expires = r.now.Add(time.Minute)
	r.writeTimestamp()
	c := r.client(t, func(o *Options) { o.Now = r.now.Add(time.Hour) })
	if err := c.Refresh(ctxT(t)); err == nil {
		t.Fatal("expired timestamp accepted")
	}
	if v := c.TrustedTimestampVersion(); v != 0 {
		t.Errorf("TrustedTimestampVersion = %d after a failed refresh, want 0", v)
	}
}

func TestWarmRunDoesNotRewriteUnchangedCacheFiles(t *testing.T) {
	r := newTestRepo(t)
	cache := t.TempDir()
	if err := runOnce(t, r, r.dir, cache); err != nil {
		t.Fatal(err)
	}
	ca, _ := openCache(cache, r.rootBytes[1])
	p := filepath.Join(ca.metadataDir(), "timestamp.json")
	before, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := runOnce(t, r, r.dir, cache); err != nil {
		t.Fatal(err)
	}
	after, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(before, after) { // an atomic rewrite renames a new file in
		t.Error("unchanged timestamp.json was rewritten")
	}
	r.bumpAll()
	if err := runOnce(t, r, r.dir, cache); err != nil {
		t.Fatal(err)
	}
	if after, _ = os.Stat(p); os.SameFile(before, after) {
		t.Error("new timestamp was not cached")
	}
}

func TestSnapshotDroppingARoleIsRefused(t *testing.T) {
	// Compromised snapshot and timestamp keys drop releases from the
	// snapshot (to hide newer releases metadata).
	r := newTestRepo(t)
	r.bumpAll()
	cache := t.TempDir()
	if err := runOnce(t, r, r.dir, cache); err != nil {
		t.Fatal(err)
	}
	r.snapshot.Signed.Version, r.timestamp.Signed.Version = 3, 3
	r.snapshot.Signed.Meta = map[string]*metadata.MetaFiles{"targets.json": {Version: r.targets.Signed.Version}}
	sign(t, r.snapshot, r.snapshotKeys...)
	r.write(r.metaPath(metadata.SNAPSHOT, 3), toBytes(t, r.snapshot))
	r.writeTimestamp()
	errtest.Want(t, runOnce(t, r, r.dir, cache), fault.Denied, "metadata/3.snapshot.json no longer lists role releases, which the trusted snapshot lists: rollback")
}

func TestSnapshotWithoutTargetsIsRefused(t *testing.T) {
	r := newTestRepo(t)
	r.snapshot.Signed.Meta = map[string]*metadata.MetaFiles{"releases.json": {Version: 1}}
	sign(t, r.snapshot, r.snapshotKeys...)
	r.write(r.metaPath(metadata.SNAPSHOT, 1), toBytes(t, r.snapshot))
	errtest.Want(t, r.client(t).Refresh(ctxT(t)), fault.Denied, "snapshot does not list role targets")
}

// TestTargetsFastForwardRecoveryAfterSnapshotKeyRotation: a stolen snapshot
// key lists targets version 100, which a client caches. The owners rotate the
// snapshot key in root 2 and restart targets at version 1: the new trusted
// snapshot sets the floor, so the client trusts, and caches, version 1
// (TUF's fast-forward attack recovery; the conformance suite's
// test_targets_fast_forward_recovery). Before, the cache kept version 100.
func TestTargetsFastForwardRecoveryAfterSnapshotKeyRotation(t *testing.T) {
	r := newTestRepo(t)
	r.targets.Signed.Version = 100
	r.snapshot.Signed.Version++
	r.timestamp.Signed.Version++
	r.writeAll()
	cache := t.TempDir()
	if err := runOnce(t, r, r.dir, cache); err != nil {
		t.Fatal(err)
	}
	r.snapshotKeys = []*keys.PrivateKey{genKey(t)}
	r.root.Signed.Version = 2
	r.setRoleKeys(metadata.SNAPSHOT, 1, r.snapshotKeys...)
	r.writeRoot(r.rootKeys...)
	r.targets.Signed.Version = 1
	r.snapshot.Signed.Version++
	r.timestamp.Signed.Version++
	r.writeAll()
	c := r.client(t, func(o *Options) { o.CacheDir = cache })
	if err := c.Refresh(ctxT(t)); err != nil {
		t.Fatalf("after rotating the snapshot key: %v", err)
	}
	if v := c.TrustedTargetsVersion(); v != 1 {
		t.Fatalf("trusted targets version %d, want 1", v)
	}
	c.Close()
	// The cache holds what is trusted: version 1, not the revoked floor 100.
	ca, err := openCache(cache, r.rootBytes[1])
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(ca.metadataDir(), "targets.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cached struct {
		Signed struct{ Version int64 } `json:"signed"`
	}
	if err := json.Unmarshal(b, &cached); err != nil || cached.Signed.Version != 1 {
		t.Fatalf("cached targets version %d (%v), want 1", cached.Signed.Version, err)
	}
}
