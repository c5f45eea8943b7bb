package client

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/internal/testing/errtest"
	"github.com/cnabsec/cnabsec/keys"
)

// listed maps name → role of AllTargets' result, failing the test on error.
func listed(t *testing.T, c *Client) map[string]string {
	t.Helper()
	all, err := c.AllTargets(ctxT(t))
	if err != nil {
		t.Fatalf("AllTargets: %v", err)
	}
	out := map[string]string{}
	for i, ti := range all {
		if i > 0 && all[i-1].Name >= ti.Name {
			t.Errorf("AllTargets not sorted by unique name: %q then %q", all[i-1].Name, ti.Name)
		}
		out[ti.Name] = ti.Role
	}
	return out
}

func wantListed(t *testing.T, got map[string]string, want map[string]string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("AllTargets lists %d targets %v, want %d %v", len(got), got, len(want), want)
	}
	for n, role := range want {
		if got[n] != role {
			t.Errorf("target %q: listed by %q, want %q (all: %v)", n, got[n], role, got)
		}
	}
}

func TestAllTargetsListsTopLevelAndDelegatedTargetsWithTheirHashes(t *testing.T) {
	r := newTestRepo(t)
	c := r.client(t)
	all, err := c.AllTargets(ctxT(t))
	if err != nil {
		t.Fatalf("AllTargets: %v", err)
	}
	wantListed(t, listed(t, c), map[string]string{layoutName: "targets", versionName: "releases", linkName: "releases"})
	for _, ti := range all {
		if ti.Name != versionName {
			continue
		}
		sum := sha256.Sum256([]byte(`{"schemaVersion":"v1.0.0","name":"app"}`))
		if ti.Hashes["sha256"] != hex.EncodeToString(sum[:]) || ti.Length != 39 {
			t.Errorf("version target: %+v", ti)
		}
		if string(ti.Custom) != `{"in-toto":["`+layoutName+`","`+linkName+`"]}` {
			t.Errorf("custom %s", ti.Custom)
		}
	}
	// Target agrees with every listed entry.
	for _, ti := range all {
		got, err := c.Target(ctxT(t), ti.Name)
		if err != nil || got.Role != ti.Role || got.Hashes["sha256"] != ti.Hashes["sha256"] {
			t.Errorf("Target(%q) = %+v, %v; AllTargets said %+v", ti.Name, got, err, ti)
		}
	}
}

func TestAllTargetsOmitsNamesOutsideTheDelegatedPaths(t *testing.T) {
	// releases is trusted for example.com/org/app only: a wrong-software
	// entry for another repository must not reach the index.
	r := newTestRepo(t)
	r.addTarget("releases", "example.com/other/app:1.0", []byte("other"), nil)
	r.writeAll()
	wantListed(t, listed(t, r.client(t)), map[string]string{layoutName: "targets", versionName: "releases", linkName: "releases"})
}

func TestAllTargetsOmitsEntriesShadowedByTerminatingOrEarlierDelegation(t *testing.T) {
	r := newTestRepo(t)
	evil := genKey(t)
	// After the terminating releases delegation comes a role for the same
	// paths; it lists a new name and a different app:1.0.
	r.delegate(metadata.TARGETS, "late", 1, []string{"example.com/org/app:*"}, []*keys.PrivateKey{evil}, nil)
	r.addTarget("late", "example.com/org/app:6.6", []byte("evil"), nil)
	r.addTarget("late", versionName, []byte("evil too"), nil)
	// The top-level role lists a name that releases lists as well: the
	// top-level entry wins, as in the TUF lookup.
	r.addTarget(metadata.TARGETS, linkName, []byte("top-level copy"), nil)
	r.writeAll()
	c := r.client(t)
	all, err := c.AllTargets(ctxT(t))
	if err != nil {
		t.Fatalf("AllTargets: %v", err)
	}
	wantListed(t, listed(t, c), map[string]string{layoutName: "targets", versionName: "releases", linkName: "targets"})
	for _, ti := range all {
		if ti.Name == versionName {
			sum := sha256.Sum256([]byte(`{"schemaVersion":"v1.0.0","name":"app"}`))
			if ti.Hashes["sha256"] != hex.EncodeToString(sum[:]) {
				t.Errorf("%s listed with the shadowed entry's hash %s", versionName, ti.Hashes["sha256"])
			}
		}
	}
}

func TestAllTargetsOmitsDiamondDelegationSignedByOtherKeys(t *testing.T) {
	// As TestDiamondDelegationDoesNotReuseRoleVerifiedByOtherKeys: X is
	// signed by A's key for X only; B's delegation to X (other keys) must
	// not make b/evil authorised.
	r := newTestRepo(t)
	ka, kb, k1, k2 := genKey(t), genKey(t), genKey(t), genKey(t)
	r.delegate(metadata.TARGETS, "A", 1, []string{"a/*"}, []*keys.PrivateKey{ka}, nil)
	r.delegate(metadata.TARGETS, "B", 1, []string{"b/*"}, []*keys.PrivateKey{kb}, nil)
	r.delegate("A", "X", 1, []string{"a/*"}, []*keys.PrivateKey{k1}, nil)
	r.delegate("B", "X", 1, []string{"b/*"}, []*keys.PrivateKey{k2}, []*keys.PrivateKey{k1})
	r.addTarget("X", "a/file", []byte("fine"), nil)
	r.addTarget("X", "b/evil", []byte("evil"), nil)
	r.writeAll()
	wantListed(t, listed(t, r.client(t)), map[string]string{
		layoutName: "targets", versionName: "releases", linkName: "releases", "a/file": "X",
	})
}

func TestAllTargetsReadsEveryHashBin(t *testing.T) {
	r := newTestRepo(t)
	k := r.releasesKeys[0]
	sr := &metadata.SuccinctRoles{KeyIDs: []string{k.Public().ID()}, Threshold: 1, BitLength: 3, NamePrefix: "releases-bin"}
	r.releases.Signed.Delegations = &metadata.Delegations{
		Keys:          map[string]*metadata.Key{k.Public().ID(): k.Public().TUFKey()},
		SuccinctRoles: sr,
	}
	for _, bin := range sr.GetRoles() {
		r.extra[bin] = metadata.Targets(r.now.Add(7 * 24 * time.Hour))
		r.extraKeys[bin] = r.releasesKeys
	}
	want := map[string]string{layoutName: "targets", linkName: "releases", versionName: "releases"}
	for _, tag := range []string{"2.0", "2.1", "2.2", "2.3", "2.4", "2.5", "2.6", "2.7"} {
		n := "example.com/org/app:" + tag
		bin := sr.GetRolesForTarget(n)[0].Name
		r.addTarget(bin, n, []byte(tag), nil)
		want[n] = bin
	}
	// A bin listing a name that hashes to another bin is not authorised for it.
	n := "example.com/org/app:9.9"
	right := sr.GetRolesForTarget(n)[0].Name
	wrong := sr.GetRoles()[0]
	if wrong == right {
		wrong = sr.GetRoles()[1]
	}
	r.addTarget(wrong, n, []byte("misplaced"), nil)
	r.bumpAll()
	got := listed(t, r.client(t))
	wantListed(t, got, want)
	bins := map[string]bool{}
	for _, role := range got {
		bins[role] = true
	}
	if len(bins) < 3 {
		t.Errorf("test repository spreads targets over too few bins: %v", bins)
	}
}

func TestAllTargetsRefusesExpiredDelegatedRole(t *testing.T) {
	// Freeze attack on a delegated role: its targets must not be indexed.
	r := newTestRepo(t)
	r.releases.Signed.Expires = r.now.Add(-time.Hour)
	r.bumpAll()
	_, err := r.client(t).AllTargets(ctxT(t))
	errtest.Want(t, err, fault.Denied, "releases version 2 expired", "freeze attack")
}

func TestAllTargetsRefusesDelegatedRoleSignedByAnUntrustedKey(t *testing.T) {
	r := newTestRepo(t)
	r.releasesKeys = []*keys.PrivateKey{genKey(t)} // not the delegated key
	r.bumpAll()
	_, err := r.client(t).AllTargets(ctxT(t))
	errtest.Want(t, err, fault.Denied, "role releases has 0 of the 1 required signatures", "threshold not met")
}

func TestAllTargetsRefusesDelegatedRoleOtherThanTheSnapshotLists(t *testing.T) {
	// Mix-and-match: the served releases file is replaced by another
	// correctly signed version than the one the snapshot lists.
	r := newTestRepo(t)
	served := filepath.Join(r.dir, "metadata", "1.releases.json")
	r.releases.Signed.Version = 7
	r.addTarget("releases", "example.com/org/app:7.0", []byte("seven"), nil)
	sign(t, r.releases, r.releasesKeys...)
	if err := os.WriteFile(served, toBytes(t, r.releases), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := r.client(t).AllTargets(ctxT(t))
	errtest.Want(t, err, fault.Denied, "metadata/1.releases.json has releases version 7 but snapshot lists version 1", "mix-and-match")
}

func TestAllTargetsRefusesRoleMissingFromSnapshot(t *testing.T) {
	r := newTestRepo(t)
	r.delegate(metadata.TARGETS, "ghost", 1, []string{"ghost/*"}, []*keys.PrivateKey{genKey(t)}, nil)
	r.writeAll()
	delete(r.extra, "ghost")
	r.snapshot.Signed.Version++
	r.timestamp.Signed.Version++
	r.writeSnapshot()
	r.writeTimestamp()
	_, err := r.client(t).AllTargets(ctxT(t))
	errtest.Want(t, err, fault.Denied, "role ghost (delegated by targets) is not listed by the trusted snapshot")
}

func TestAllTargetsRefusesTooManyHashBins(t *testing.T) {
	// Endless work: 2^14 bins is more roles than AllTargets loads.
	r := newTestRepo(t)
	k := r.releasesKeys[0]
	r.releases.Signed.Delegations = &metadata.Delegations{
		Keys:          map[string]*metadata.Key{k.Public().ID(): k.Public().TUFKey()},
		SuccinctRoles: &metadata.SuccinctRoles{KeyIDs: []string{k.Public().ID()}, Threshold: 1, BitLength: 14, NamePrefix: "bin"},
	}
	r.bumpAll()
	_, err := r.client(t).AllTargets(ctxT(t))
	errtest.Want(t, err, fault.Denied, "role releases delegates 16384 hash bins: more than the 10000 roles allowed")
}

func TestAllTargetsDoesNotChangeWhatTargetSees(t *testing.T) {
	// The roles AllTargets loads stay private: go-tuf's own set (and so the
	// cache) is unchanged by it.
	r := newTestRepo(t)
	c := r.client(t)
	if _, err := c.AllTargets(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	var roles []string
	for _, s := range c.Roles() {
		roles = append(roles, s.Role)
	}
	sort.Strings(roles)
	if len(roles) != 4 {
		t.Errorf("after AllTargets the client's trusted roles are %v, want only the top-level ones", roles)
	}
}

// roleCountingFetcher counts the files read through it.
type roleCountingFetcher struct {
	Fetcher
	mu    sync.Mutex
	count map[string]int
}

func (f *roleCountingFetcher) Fetch(ctx context.Context, name string, maxLen int64) ([]byte, error) {
	f.mu.Lock()
	f.count[name]++
	f.mu.Unlock()
	return f.Fetcher.Fetch(ctx, name, maxLen)
}

func TestAllTargetsReusesCachedDelegatedRolesAndRefusesATamperedCopy(t *testing.T) {
	r := newTestRepo(t)
	cacheDir := t.TempDir()
	list := func() (*roleCountingFetcher, map[string]string) {
		inner, err := FetcherFor(r.dir, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		f := &roleCountingFetcher{Fetcher: inner, count: map[string]int{}}
		return f, listed(t, r.client(t, func(o *Options) { o.Fetcher, o.CacheDir = f, cacheDir }))
	}
	want := map[string]string{layoutName: "targets", versionName: "releases", linkName: "releases"}
	f, got := list()
	wantListed(t, got, want)
	if f.count["metadata/1.releases.json"] != 1 {
		t.Fatalf("first listing fetched releases %d times", f.count["metadata/1.releases.json"])
	}
	f, got = list()
	wantListed(t, got, want)
	if n := f.count["metadata/1.releases.json"]; n != 0 {
		t.Fatalf("second listing fetched the unchanged releases role %d times, want 0 (cached)", n)
	}
	// A cached copy that no longer matches (tampered on disk) is not used:
	// the role is fetched again and the listing is the signed one.
	matches, _ := filepath.Glob(filepath.Join(cacheDir, "*", "metadata", "releases.json"))
	if len(matches) != 1 {
		t.Fatalf("cached releases: %v", matches)
	}
	var md map[string]any
	data, _ := os.ReadFile(matches[0])
	if err := json.Unmarshal(data, &md); err != nil {
		t.Fatal(err)
	}
	md["signed"].(map[string]any)["targets"].(map[string]any)["example.com/org/app:6.6"] = map[string]any{
		"length": 1, "hashes": map[string]any{"sha256": strings.Repeat("ab", 32)},
	}
	forged, _ := json.Marshal(md)
	if err := os.WriteFile(matches[0], forged, 0o600); err != nil {
		t.Fatal(err)
	}
	f, got = list()
	wantListed(t, got, want)
	if n := f.count["metadata/1.releases.json"]; n != 1 {
		t.Fatalf("listing over a tampered cache fetched releases %d times, want 1", n)
	}
}

func TestAllTargetsStopsAtTheTotalByteBudgetOfDelegatedRoles(t *testing.T) {
	// Endless data spread over many roles, each under its own cap.
	r := newTestRepo(t)
	for _, name := range []string{"a", "b", "c"} {
		r.delegate(metadata.TARGETS, name, 1, []string{name + "/*"}, []*keys.PrivateKey{genKey(t)}, nil)
		r.addTarget(name, name+"/file", []byte(strings.Repeat(name, 100)), nil)
	}
	r.writeAll()
	old := allTargetsBytes
	t.Cleanup(func() { allTargetsBytes = old })
	allTargetsBytes = 1500 // releases (about 1.2 kB) and part of a
	_, err := r.client(t).AllTargets(ctxT(t))
	errtest.Want(t, err, fault.Denied, "metadata/1.a.json", "endless data")
	// A budget used up exactly by releases: the next role is not read.
	st, err := os.Stat(filepath.Join(r.dir, "metadata", "1.releases.json"))
	if err != nil {
		t.Fatal(err)
	}
	allTargetsBytes = st.Size()
	_, err = r.client(t).AllTargets(ctxT(t))
	errtest.Want(t, err, fault.Denied, fmt.Sprintf("the delegated roles up to a exceed %d bytes in all", st.Size()))
	allTargetsBytes = old
	if _, err := r.client(t).AllTargets(ctxT(t)); err != nil {
		t.Fatalf("within the default budget: %v", err)
	}
}
