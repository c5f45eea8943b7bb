package client

import (
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/secure-systems-lab/go-securesystemslib/cjson"
	"github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/cnabsec/cnabsec/keys"
)

// Target names used by the fixture repository (CNAB-Sec 301 shapes).
const (
	layoutName  = "example.com/org/app/in-toto-metadata/root.layout"
	versionName = "example.com/org/app:1.0"
	linkName    = "example.com/org/app/in-toto-metadata/5640bfdf/package.abcdef12.link"
)

// testRepo builds a TUF repository on disk with go-tuf's metadata API and
// keys from our keys package (so key IDs are ours), laid out as docs/cli.md
// "Metadata repository" says: dir/metadata/{N.root,N.targets,N.releases,
// N.snapshot}.json, dir/metadata/timestamp.json, dir/targets/<dir>/<hash>.<base>.
type testRepo struct {
	t   testing.TB
	dir string
	now time.Time

	rootKeys, timestampKeys, snapshotKeys, targetsKeys, releasesKeys []*keys.PrivateKey

	root      *metadata.Metadata[metadata.RootType]
	targets   *metadata.Metadata[metadata.TargetsType]
	releases  *metadata.Metadata[metadata.TargetsType]
	snapshot  *metadata.Metadata[metadata.SnapshotType]
	timestamp *metadata.Metadata[metadata.TimestampType]
	rootBytes map[int64][]byte

	// extra delegated roles (listed in snapshot, written by writeAll).
	extra     map[string]*metadata.Metadata[metadata.TargetsType]
	extraKeys map[string][]*keys.PrivateKey
}

func genKey(t testing.TB) *keys.PrivateKey {
	t.Helper()
	k, err := keys.Generate(keys.GenEd25519)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// newTestRepo publishes version 1 of every role: layout in targets, a
// bundle version and a link in releases (delegated by targets).
func newTestRepo(t testing.TB) *testRepo {
	t.Helper()
	now := time.Now().UTC().Truncate(time.Second)
	r := &testRepo{
		t: t, dir: t.TempDir(), now: now,
		rootKeys: []*keys.PrivateKey{genKey(t)}, timestampKeys: []*keys.PrivateKey{genKey(t)},
		snapshotKeys: []*keys.PrivateKey{genKey(t)}, targetsKeys: []*keys.PrivateKey{genKey(t)},
		releasesKeys: []*keys.PrivateKey{genKey(t)},
		rootBytes:    map[int64][]byte{},
		extra:        map[string]*metadata.Metadata[metadata.TargetsType]{},
		extraKeys:    map[string][]*keys.PrivateKey{},
	}
	for _, d := range []string{"metadata", "targets"} {
		if err := os.MkdirAll(filepath.Join(r.dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	r.root = metadata.Root(now.Add(365 * 24 * time.Hour))
	r.setRoleKeys(metadata.ROOT, 1, r.rootKeys...)
	r.setRoleKeys(metadata.TIMESTAMP, 1, r.timestampKeys...)
	r.setRoleKeys(metadata.SNAPSHOT, 1, r.snapshotKeys...)
	r.setRoleKeys(metadata.TARGETS, 1, r.targetsKeys...)

	r.targets = metadata.Targets(now.Add(90 * 24 * time.Hour))
	r.targets.Signed.Delegations = &metadata.Delegations{Keys: map[string]*metadata.Key{}}
	rel := metadata.DelegatedRole{
		Name: "releases", Threshold: 1, Terminating: true,
		Paths: []string{"example.com/org/app:*", "example.com/org/app@*", "example.com/org/app/in-toto-metadata/*/*.link"},
	}
	for _, k := range r.releasesKeys {
		r.targets.Signed.Delegations.Keys[k.Public().ID()] = k.Public().TUFKey()
		rel.KeyIDs = append(rel.KeyIDs, k.Public().ID())
	}
	r.targets.Signed.Delegations.Roles = []metadata.DelegatedRole{rel}
	r.releases = metadata.Targets(now.Add(7 * 24 * time.Hour))
	r.snapshot = metadata.Snapshot(now.Add(24 * time.Hour))
	r.timestamp = metadata.Timestamp(now.Add(24 * time.Hour))

	r.addTarget(metadata.TARGETS, layoutName, []byte(`{"_type":"layout"}`), nil)
	r.addTarget("releases", versionName, []byte(`{"schemaVersion":"v1.0.0","name":"app"}`),
		json.RawMessage(`{"in-toto":["`+layoutName+`","`+linkName+`"]}`))
	r.addTarget("releases", linkName, []byte(`{"signed":{"_type":"link"}}`), nil)
	r.writeRoot(r.rootKeys...)
	r.writeAll()
	return r
}

// setRoleKeys replaces the keys of a top-level role in the working root.
func (r *testRepo) setRoleKeys(role string, threshold int, ks ...*keys.PrivateKey) {
	rl := r.root.Signed.Roles[role]
	rl.KeyIDs, rl.Threshold = nil, threshold
	for _, k := range ks {
		if err := r.root.Signed.AddKey(k.Public().TUFKey(), role); err != nil {
			r.t.Fatal(err)
		}
	}
}

// sign replaces md's signatures with one per key, as keys.SignHex makes
// them over the canonical signed part (so the key IDs are ours).
func sign[T metadata.Roles](t testing.TB, md *metadata.Metadata[T], ks ...*keys.PrivateKey) {
	t.Helper()
	md.Signatures = nil
	payload, err := cjson.EncodeCanonical(md.Signed)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range ks {
		sig, err := keys.SignHex(context.Background(), k, payload)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := hex.DecodeString(sig)
		md.Signatures = append(md.Signatures, metadata.Signature{KeyID: k.Public().ID(), Signature: raw})
	}
}

func toBytes[T metadata.Roles](t testing.TB, md *metadata.Metadata[T]) []byte {
	t.Helper()
	b, err := md.ToBytes(true)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (r *testRepo) write(name string, data []byte) {
	r.t.Helper()
	p := filepath.Join(r.dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		r.t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		r.t.Fatal(err)
	}
}

func (r *testRepo) metaPath(role string, version int64) string {
	if role == metadata.TIMESTAMP {
		return "metadata/timestamp.json"
	}
	return "metadata/" + strconv.FormatInt(version, 10) + "." + roleFile(role) + ".json"
}

// writeRoot signs the working root with ks and publishes it as N.root.json.
func (r *testRepo) writeRoot(ks ...*keys.PrivateKey) []byte {
	sign(r.t, r.root, ks...)
	b := toBytes(r.t, r.root)
	r.rootBytes[r.root.Signed.Version] = b
	r.write(r.metaPath(metadata.ROOT, r.root.Signed.Version), b)
	return b
}

func (r *testRepo) writeTargets() {
	sign(r.t, r.targets, r.targetsKeys...)
	r.write(r.metaPath(metadata.TARGETS, r.targets.Signed.Version), toBytes(r.t, r.targets))
}

func (r *testRepo) writeReleases() {
	sign(r.t, r.releases, r.releasesKeys...)
	r.write(r.metaPath("releases", r.releases.Signed.Version), toBytes(r.t, r.releases))
}

// writeSnapshot lists the current targets and releases versions.
func (r *testRepo) writeSnapshot() {
	r.snapshot.Signed.Meta = map[string]*metadata.MetaFiles{
		"targets.json":  {Version: r.targets.Signed.Version},
		"releases.json": {Version: r.releases.Signed.Version},
	}
	for name, md := range r.extra {
		r.snapshot.Signed.Meta[name+".json"] = &metadata.MetaFiles{Version: md.Signed.Version}
	}
	sign(r.t, r.snapshot, r.snapshotKeys...)
	r.write(r.metaPath(metadata.SNAPSHOT, r.snapshot.Signed.Version), toBytes(r.t, r.snapshot))
}

// writeTimestamp lists the current snapshot version.
func (r *testRepo) writeTimestamp() {
	r.timestamp.Signed.Meta = map[string]*metadata.MetaFiles{"snapshot.json": {Version: r.snapshot.Signed.Version}}
	sign(r.t, r.timestamp, r.timestampKeys...)
	r.write(r.metaPath(metadata.TIMESTAMP, 0), toBytes(r.t, r.timestamp))
}

func (r *testRepo) writeAll() {
	r.writeTargets()
	r.writeReleases()
	for name, md := range r.extra {
		sign(r.t, md, r.extraKeys[name]...)
		r.write(r.metaPath(name, md.Signed.Version), toBytes(r.t, md))
	}
	r.writeSnapshot()
	r.writeTimestamp()
}

// bumpAll publishes a new version of every role but root.
func (r *testRepo) bumpAll() {
	r.targets.Signed.Version++
	r.releases.Signed.Version++
	r.snapshot.Signed.Version++
	r.timestamp.Signed.Version++
	r.writeAll()
}

// addTarget lists data as target name in role and stores the file under
// targets/<dir>/<hash>.<basename> for every listed hash (TUF's layout, which
// package metadata writes).
func (r *testRepo) addTarget(role, name string, data []byte, custom json.RawMessage) {
	s256, s512 := sha256.Sum256(data), sha512.Sum512(data)
	tf := &metadata.TargetFiles{Length: int64(len(data)), Hashes: metadata.Hashes{"sha256": s256[:], "sha512": s512[:]}, Path: name}
	if custom != nil {
		tf.Custom = &custom
	}
	md := r.targets
	switch {
	case role == "releases":
		md = r.releases
	case r.extra[role] != nil:
		md = r.extra[role]
	}
	md.Signed.Targets[name] = tf
	dir, base := path.Split(name)
	r.write("targets/"+dir+hex.EncodeToString(s256[:])+"."+base, data)
	r.write("targets/"+dir+hex.EncodeToString(s512[:])+"."+base, data)
}

// copyTo copies the served repository (an "older copy" or a mirror).
func (r *testRepo) copyTo(t testing.TB) string {
	t.Helper()
	dst := t.TempDir()
	if err := os.CopyFS(dst, os.DirFS(r.dir)); err != nil {
		t.Fatal(err)
	}
	return dst
}

// options returns client options for the repository pinned to root v1.
func (r *testRepo) options() Options {
	return Options{TrustedRoot: r.rootBytes[1], Location: r.dir, Now: r.now, Timeout: 5 * time.Second}
}

func (r *testRepo) client(t testing.TB, mod ...func(*Options)) *Client {
	t.Helper()
	o := r.options()
	for _, m := range mod {
		m(&o)
	}
	c, err := New(o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// delegate adds a delegation from the role delegator (targets or an extra
// role) to role, listed with the public keys of ks, and creates role as an
// extra role signed by signers (nil: ks).
func (r *testRepo) delegate(delegator, role string, threshold int, paths []string, ks []*keys.PrivateKey, signers []*keys.PrivateKey) {
	r.t.Helper()
	md := r.targets
	if delegator != metadata.TARGETS {
		md = r.extra[delegator]
	}
	if md.Signed.Delegations == nil {
		md.Signed.Delegations = &metadata.Delegations{Keys: map[string]*metadata.Key{}}
	}
	dr := metadata.DelegatedRole{Name: role, Threshold: threshold, Paths: paths}
	for _, k := range ks {
		md.Signed.Delegations.Keys[k.Public().ID()] = k.Public().TUFKey()
		dr.KeyIDs = append(dr.KeyIDs, k.Public().ID())
	}
	md.Signed.Delegations.Roles = append(md.Signed.Delegations.Roles, dr)
	if r.extra[role] == nil {
		r.extra[role] = metadata.Targets(r.now.Add(7 * 24 * time.Hour))
		if signers == nil {
			signers = ks
		}
		r.extraKeys[role] = signers
	}
}
