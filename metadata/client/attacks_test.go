package client

import (
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/internal/testing/errtest"
	"github.com/cnabsec/cnabsec/keys"
)

func TestFreezeAttackExpiredRoleIsRefused(t *testing.T) {
	// Each role in turn expires one hour after the repository's time; the
	// client runs with a reference time two hours later. The wall clock
	// would accept all of them: only the fixed reference time refuses.
	for _, role := range []string{"root", "timestamp", "snapshot", "targets", "releases"} {
		t.Run(role, func(t *testing.T) {
			r := newTestRepo(t)
			exp := r.now.Add(time.Hour)
			switch role {
			case "root":
				r.root.Signed.Expires = exp
				r.writeRoot(r.rootKeys...)
			case "timestamp":
				r.timestamp.Signed.Expires = exp
			case "snapshot":
				r.snapshot.Signed.Expires = exp
			case "targets":
				r.targets.Signed.Expires = exp
			case "releases":
				r.releases.Signed.Expires = exp
			}
			r.writeAll()
			c := r.client(t, func(o *Options) { o.Now = r.now.Add(2 * time.Hour) })
			_, err := c.Target(ctxT(t), versionName)
			errtest.Want(t, err, fault.Denied, role+" version 1 expired at "+exp.Format(time.RFC3339),
				"reference time "+r.now.Add(2*time.Hour).Format(time.RFC3339), "freeze")
		})
	}
}

func TestReferenceTimeDecidesExpiryNotWallClock(t *testing.T) {
	// Metadata that expired by the wall clock verifies at a reference time
	// before its expiry (e.g. re-verifying what an admission decided).
	r := newTestRepo(t)
	r.timestamp.Signed.Expires = time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	r.writeAll()
	c := r.client(t, func(o *Options) { o.Now = r.timestamp.Signed.Expires.Add(-time.Minute) })
	if _, err := c.Target(ctxT(t), versionName); err != nil {
		t.Fatalf("at a reference time before expiry: %v", err)
	}
}

func TestMixAndMatchTargetsFromOlderSnapshotIsRefused(t *testing.T) {
	r := newTestRepo(t)
	r.bumpAll()
	// The server answers 2.targets.json with version 1's file.
	old, err := os.ReadFile(filepath.Join(r.dir, "metadata", "1.targets.json"))
	if err != nil {
		t.Fatal(err)
	}
	r.write("metadata/2.targets.json", old)
	err = r.client(t).Refresh(ctxT(t))
	errtest.Want(t, err, fault.Denied, "metadata/2.targets.json has targets version 1 but snapshot lists version 2: mix-and-match")
}

func TestMixAndMatchSnapshotFromOtherTimestampIsRefused(t *testing.T) {
	r := newTestRepo(t)
	r.bumpAll()
	old, err := os.ReadFile(filepath.Join(r.dir, "metadata", "1.snapshot.json"))
	if err != nil {
		t.Fatal(err)
	}
	r.write("metadata/2.snapshot.json", old)
	err = r.client(t).Refresh(ctxT(t))
	errtest.Want(t, err, fault.Denied, "metadata/2.snapshot.json has snapshot version 1 but timestamp lists version 2: mix-and-match")
}

func TestMixAndMatchDelegatedRoleFromOlderSnapshotIsRefused(t *testing.T) {
	r := newTestRepo(t)
	r.bumpAll()
	old, err := os.ReadFile(filepath.Join(r.dir, "metadata", "1.releases.json"))
	if err != nil {
		t.Fatal(err)
	}
	r.write("metadata/2.releases.json", old)
	_, err = r.client(t).Target(ctxT(t), versionName)
	errtest.Want(t, err, fault.Denied, "metadata/2.releases.json has releases version 1 but snapshot lists version 2: mix-and-match")
}

// rotateRoot makes root version 2 with a new root key.
func rotateRoot(t *testing.T, r *testRepo) (oldKey, newKey *keys.PrivateKey) {
	oldKey, newKey = r.rootKeys[0], genKey(t)
	r.root.Signed.Version = 2
	r.setRoleKeys(metadata.ROOT, 1, newKey)
	r.rootKeys = []*keys.PrivateKey{newKey}
	return oldKey, newKey
}

func TestRootRotationSignedOnlyByOldKeysIsRefused(t *testing.T) {
	r := newTestRepo(t)
	oldKey, _ := rotateRoot(t, r)
	r.writeRoot(oldKey)
	err := r.client(t).Refresh(ctxT(t))
	errtest.Want(t, err, fault.Denied, "metadata/2.root.json: 0 of the 1 required signatures by its own keys (root version 2) verify: threshold not met")
}

func TestRootRotationSignedOnlyByNewKeysIsRefused(t *testing.T) {
	r := newTestRepo(t)
	_, newKey := rotateRoot(t, r)
	r.writeRoot(newKey)
	err := r.client(t).Refresh(ctxT(t))
	errtest.Want(t, err, fault.Denied, "metadata/2.root.json: 0 of the 1 required signatures by the keys of trusted root version 1 verify: threshold not met")
}

func TestRootRotationSignedByOldAndNewKeysIsAccepted(t *testing.T) {
	r := newTestRepo(t)
	oldKey, newKey := rotateRoot(t, r)
	r.writeRoot(oldKey, newKey)
	cache := t.TempDir()
	c := r.client(t, func(o *Options) { o.CacheDir = cache })
	if _, err := c.Target(ctxT(t), versionName); err != nil {
		t.Fatal(err)
	}
	if v := c.TrustedRootVersion(); v != 2 {
		t.Fatalf("trusted root version %d, want 2", v)
	}
	// The next run starts from the cached root 2, verified from the pinned 1.
	c2 := r.client(t, func(o *Options) { o.CacheDir = cache })
	if v := c2.TrustedRootVersion(); v != 2 {
		t.Errorf("after restart, trusted root version %d before refresh, want 2 from the cache", v)
	}
}

func TestTamperedCachedRootIsRefused(t *testing.T) {
	r := newTestRepo(t)
	oldKey, newKey := rotateRoot(t, r)
	r.writeRoot(oldKey, newKey)
	cache := t.TempDir()
	if err := runOnce(t, r, r.dir, cache); err != nil {
		t.Fatal(err)
	}
	// Someone with write access to the cache swaps in a root of their own.
	evil := genKey(t)
	r.setRoleKeys(metadata.ROOT, 1, evil)
	r.writeRoot(evil)
	ca, _ := openCache(cache, r.rootBytes[1])
	if err := os.WriteFile(ca.rootPath(2), r.rootBytes[2], 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := New(Options{TrustedRoot: r.rootBytes[1], Location: r.dir, CacheDir: cache})
	errtest.Want(t, err, fault.Input, "2.root.json does not verify against trusted root version 1")
}

func TestCorruptCachedMetadataIsInputError(t *testing.T) {
	r := newTestRepo(t)
	cache := t.TempDir()
	if err := runOnce(t, r, r.dir, cache); err != nil {
		t.Fatal(err)
	}
	ca, _ := openCache(cache, r.rootBytes[1])
	if err := os.WriteFile(filepath.Join(ca.metadataDir(), "timestamp.json"), []byte(`{"sig`), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := New(Options{TrustedRoot: r.rootBytes[1], Location: r.dir, CacheDir: cache})
	errtest.Want(t, err, fault.Input, "timestamp.json is corrupt")
}

func TestSkippedRootVersionIsRefused(t *testing.T) {
	// Root 3 is served as 2.root.json, skipping version 2.
	r := newTestRepo(t)
	oldKey, newKey := rotateRoot(t, r)
	r.root.Signed.Version = 3
	sign(t, r.root, oldKey, newKey)
	r.write("metadata/2.root.json", toBytes(t, r.root))
	err := r.client(t).Refresh(ctxT(t))
	errtest.Want(t, err, fault.Denied, "metadata/2.root.json is root version 3 where version 2 was expected")
}

func TestOneKeyUnderTwoKeyIDsDoesNotMeetThreshold(t *testing.T) {
	// The timestamp role lists one public key under two key IDs (different
	// keyid_hash_algorithms) with threshold 2, and the timestamp carries
	// two valid signatures by that one key. go-tuf counts distinct public
	// keys (by PKIX fingerprint), so the threshold is not met.
	r := newTestRepo(t)
	k := r.timestampKeys[0]
	alias := k.Public().TUFKey()
	alias.UnrecognizedFields = map[string]any{"keyid_hash_algorithms": []any{"sha512"}}
	aliasID, err := alias.ID()
	if err != nil || aliasID == k.Public().ID() {
		t.Fatalf("alias key ID %s, %v", aliasID, err)
	}
	r.root.Signed.Keys[aliasID] = alias
	r.root.Signed.Roles[metadata.TIMESTAMP].KeyIDs = []string{k.Public().ID(), aliasID}
	r.root.Signed.Roles[metadata.TIMESTAMP].Threshold = 2
	r.writeRoot(r.rootKeys...)
	sign(t, r.timestamp, k)
	sig := r.timestamp.Signatures[0]
	sig.KeyID = aliasID
	r.timestamp.Signatures = append(r.timestamp.Signatures, sig)
	r.write("metadata/timestamp.json", toBytes(t, r.timestamp))
	err = r.client(t).Refresh(ctxT(t))
	errtest.Want(t, err, fault.Denied, "role timestamp has 1 of the 2 required signatures from distinct trusted keys: threshold not met")
}

func TestRepeatedSignatureIsRefused(t *testing.T) {
	r := newTestRepo(t)
	sign(t, r.timestamp, r.timestampKeys[0])
	r.timestamp.Signatures = append(r.timestamp.Signatures, r.timestamp.Signatures[0])
	r.write("metadata/timestamp.json", toBytes(t, r.timestamp))
	err := r.client(t).Refresh(ctxT(t))
	errtest.Want(t, err, fault.Denied, "metadata/timestamp.json carries more than one signature with key ID "+r.timestampKeys[0].Public().ID()+": repeated signature")
}

func TestThresholdZeroOrNegativeIsRefused(t *testing.T) {
	for _, th := range []int{0, -1} {
		t.Run("pinned root", func(t *testing.T) {
			r := newTestRepo(t)
			r.root.Signed.Roles[metadata.TIMESTAMP].Threshold = th
			r.writeRoot(r.rootKeys...)
			_, err := New(r.options())
			errtest.Want(t, err, fault.Input, "gives role timestamp threshold", "must be at least 1")
		})
		t.Run("new root", func(t *testing.T) {
			r := newTestRepo(t)
			r.root.Signed.Version = 2
			r.root.Signed.Roles[metadata.TIMESTAMP].Threshold = th
			r.writeRoot(r.rootKeys...)
			errtest.Want(t, r.client(t).Refresh(ctxT(t)), fault.Denied, "role timestamp has threshold", "must be at least 1")
		})
		t.Run("delegation", func(t *testing.T) {
			r := newTestRepo(t)
			r.targets.Signed.Delegations.Roles[0].Threshold = th
			r.writeAll()
			_, err := r.client(t).Target(ctxT(t), versionName)
			errtest.Want(t, err, fault.Denied, "role releases has threshold", "must be at least 1")
		})
	}
}

func TestTamperedTargetFileFailsHashCheck(t *testing.T) {
	r := newTestRepo(t)
	tf := r.releases.Signed.Targets[linkName]
	dir, base := path.Split(linkName)
	tamper := func(content string) {
		for _, h := range tf.Hashes {
			r.write("targets/"+dir+h.String()+"."+base, []byte(content))
		}
	}
	orig := `{"signed":{"_type":"link"}}`
	t.Run("same length", func(t *testing.T) {
		tamper(strings.Replace(orig, "link", "evil", 1))
		_, _, err := r.client(t).Download(ctxT(t), linkName, 0)
		errtest.Want(t, err, fault.Denied, "target \""+linkName+"\": sha256 of the downloaded file is", "hash mismatch")
	})
	t.Run("shorter", func(t *testing.T) {
		tamper(orig[:10])
		_, _, err := r.client(t).Download(ctxT(t), linkName, 0)
		errtest.Want(t, err, fault.Denied, "downloaded 10 bytes, signed length is 27: length mismatch")
	})
	t.Run("longer", func(t *testing.T) {
		tamper(orig + strings.Repeat(" ", 1000))
		_, _, err := r.client(t).Download(ctxT(t), linkName, 0)
		errtest.Want(t, err, fault.Denied, "exceeds 27 bytes: endless data")
	})
}

func TestMissingTargetIsDeniedNotFound(t *testing.T) {
	r := newTestRepo(t)
	for _, name := range []string{"example.com/org/app:9.9", "example.com/other/app:1.0"} {
		_, err := r.client(t).Target(ctxT(t), name)
		errtest.Want(t, err, fault.Denied, "target \""+name+"\" not found")
	}
}

func TestMissingTargetFileIsInconclusive(t *testing.T) {
	r := newTestRepo(t)
	if err := os.RemoveAll(filepath.Join(r.dir, "targets")); err != nil {
		t.Fatal(err)
	}
	_, _, err := r.client(t).Download(ctxT(t), linkName, 0)
	errtest.Want(t, err, fault.Inconclusive, "target file of \""+linkName+"\" not found", "tried targets/example.com/org/app/in-toto-metadata/5640bfdf/")
}

func TestTargetLongerThanAllowedIsRefusedBeforeDownload(t *testing.T) {
	r := newTestRepo(t)
	_, _, err := r.client(t).Download(ctxT(t), linkName, 10)
	errtest.Want(t, err, fault.Denied, "is 27 bytes by its signed metadata, more than the 10 allowed")
}

// TestPathTraversalRoleNameStaysOneEncodedSegment: a delegated role named
// "../../../../etc/passwd" is fetched and cached under its percent-encoded
// name, one path segment inside the repository and inside the cache, as
// python-tuf does (the TUF conformance suite's unusual role names); it was
// refused before, which the suite counts as a failure.
func TestPathTraversalRoleNameStaysOneEncodedSegment(t *testing.T) {
	r := newTestRepo(t)
	evil := genKey(t)
	role := "../../../../etc/passwd"
	r.delegate(metadata.TARGETS, role, 1, []string{"evil/*"}, []*keys.PrivateKey{evil}, nil)
	r.addTarget(role, "evil/x", []byte("x"), nil)
	r.writeAll()
	cache := t.TempDir()
	c := r.client(t, func(o *Options) { o.CacheDir = cache })
	ti, err := c.Target(ctxT(t), "evil/x")
	if err != nil || ti.Role != role {
		t.Fatalf("target through the role: %+v, %v", ti, err)
	}
	var files []string
	if err := filepath.WalkDir(cache, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, p)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, f := range files {
		found = found || filepath.Base(f) == "..%2F..%2F..%2F..%2Fetc%2Fpasswd.json"
	}
	if !found {
		t.Fatalf("cache files %q: want the role under its encoded name inside the cache", files)
	}
}

func TestDiamondDelegationDoesNotReuseRoleVerifiedByOtherKeys(t *testing.T) {
	// targets delegates a/* to A and b/* to B. A and B both delegate role
	// X, with different keys: A with k1 for a/*, B with k2 for b/*. X is
	// signed by k1 only and lists a/file and b/evil. Looking up a/file
	// loads X through A; go-tuf then reuses that X for b/evil through B
	// without checking B's keys. The client re-verifies the path.
	r := newTestRepo(t)
	ka, kb, k1, k2 := genKey(t), genKey(t), genKey(t), genKey(t)
	r.delegate(metadata.TARGETS, "A", 1, []string{"a/*"}, []*keys.PrivateKey{ka}, nil)
	r.delegate(metadata.TARGETS, "B", 1, []string{"b/*"}, []*keys.PrivateKey{kb}, nil)
	r.delegate("A", "X", 1, []string{"a/*"}, []*keys.PrivateKey{k1}, nil)
	r.delegate("B", "X", 1, []string{"b/*"}, []*keys.PrivateKey{k2}, []*keys.PrivateKey{k1})
	r.addTarget("X", "a/file", []byte("fine"), nil)
	r.addTarget("X", "b/evil", []byte("evil"), nil)
	r.writeAll()

	c := r.client(t)
	info, err := c.Target(ctxT(t), "a/file")
	if err != nil || info.Role != "X" {
		t.Fatalf("a/file: %+v, %v", info, err)
	}
	_, err = c.Target(ctxT(t), "b/evil")
	errtest.Want(t, err, fault.Denied, `target "b/evil": role X is reached through B, whose delegation keys did not sign it`, "diamond delegation")

	// A fresh client refuses it too (go-tuf itself: X does not verify with k2).
	_, err = r.client(t).Target(ctxT(t), "b/evil")
	errtest.Want(t, err, fault.Denied, "role X has 0 of the 1 required signatures")
}

// TestDelegationWithThresholdZeroIsDeniedWithGoTUFsMessageParsed: go-tuf's
// "insufficient threshold (N) configured for ROLE" is parsed (reThreshold);
// if a go-tuf upgrade rewords it, this test fails instead of the reason
// silently degrading to go-tuf's text.
func TestDelegationWithThresholdZeroIsDeniedWithGoTUFsMessageParsed(t *testing.T) {
	r := newTestRepo(t)
	k := genKey(t)
	r.delegate(metadata.TARGETS, "zero", 0, []string{"zero/*"}, []*keys.PrivateKey{k}, nil)
	r.writeAll()
	_, err := r.client(t).Target(ctxT(t), "zero/x")
	errtest.Want(t, err, fault.Denied, "role zero has threshold 0 in its delegating metadata: a threshold must be at least 1")
}

// TestRoleNameIsNeverReadAsARawPathOutsideTheCache: a delegated role named
// "../../…/<some directory>/planted" must not make the client open
// "<some directory>/planted.json", a file outside its cache that whoever can
// write there controls (go-tuf's updater reads a role's local copy at the
// raw name joined to its metadata directory). Garbage planted there made
// the lookup fail; the client reads roles only under their encoded names.
func TestRoleNameIsNeverReadAsARawPathOutsideTheCache(t *testing.T) {
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "planted.json"), []byte("not metadata"), 0o600); err != nil {
		t.Fatal(err)
	}
	role := strings.Repeat("../", 16) + strings.TrimPrefix(filepath.ToSlash(outside), "/") + "/planted"
	for _, withCache := range []bool{false, true} {
		r := newTestRepo(t)
		r.delegate(metadata.TARGETS, role, 1, []string{"evil/*"}, []*keys.PrivateKey{genKey(t)}, nil)
		r.addTarget(role, "evil/x", []byte("x"), nil)
		r.writeAll()
		c := r.client(t, func(o *Options) {
			if withCache {
				o.CacheDir = t.TempDir()
			}
		})
		ti, err := c.Target(ctxT(t), "evil/x")
		if err != nil || ti.Role != role {
			t.Fatalf("cache %v: target through the role: %+v, %v", withCache, ti, err)
		}
	}
}
