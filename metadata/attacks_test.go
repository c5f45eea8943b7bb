package metadata_test

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/secure-systems-lab/go-securesystemslib/cjson"
	tuf "github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/internal/testing/errtest"
	"github.com/cnabsec/cnabsec/internal/testing/testrepo"
	"github.com/cnabsec/cnabsec/keys"
	"github.com/cnabsec/cnabsec/metadata"
)

// treeHash hashes every path, mode and content under dir.
func treeHash(t *testing.T, dir string) string {
	t.Helper()
	h := sha256.New()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		info, _ := d.Info()
		h.Write([]byte(rel + "\x00" + info.Mode().String() + "\x00"))
		if !d.IsDir() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			h.Write(b)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func gen(t testing.TB) *keys.PrivateKey {
	t.Helper()
	k, err := keys.Generate(keys.GenEd25519)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func blob(s string) metadata.TargetInfo { return metadata.TargetInfo{Content: []byte(s)} }

func TestThresholdZeroOrNegativeIsRefused(t *testing.T) {
	k := gen(t)
	one := metadata.RoleKeys{Signers: []keys.Signer{k}}
	for _, th := range []int{-1, -100} {
		dir := filepath.Join(t.TempDir(), "repo")
		bad := one
		bad.Threshold = th
		_, err := metadata.Init(dir, metadata.InitOptions{Root: bad, Targets: one, Snapshot: one, Timestamp: one})
		errtest.Want(t, err, fault.Input, "role root", "a threshold must be at least 1")
		if _, statErr := os.Stat(dir); !errors.Is(statErr, os.ErrNotExist) {
			t.Errorf("threshold %d: refused init created %s", th, dir)
		}
	}
	r := testrepo.New(t)
	before := treeHash(t, r.Dir)
	_, err := r.Repo.Rotate(ctx, metadata.RotateOptions{Role: metadata.RoleTargets, Threshold: -1, Signers: []keys.Signer{r.Root}})
	errtest.Want(t, err, fault.Input, "role targets", "threshold -1")
	if treeHash(t, r.Dir) != before {
		t.Error("refused rotation changed the repository")
	}
}

func TestThresholdAboveUniqueKeysIsRefused(t *testing.T) {
	k := gen(t)
	one := metadata.RoleKeys{Signers: []keys.Signer{k}}
	// The same key twice is one unique key: threshold 2 can never be met.
	twice := metadata.RoleKeys{Signers: []keys.Signer{k}, PublicKeys: []*keys.PublicKey{k.Public()}, Threshold: 2}
	dir := filepath.Join(t.TempDir(), "repo")
	_, err := metadata.Init(dir, metadata.InitOptions{Root: one, Targets: twice, Snapshot: one, Timestamp: one})
	errtest.Want(t, err, fault.Input, "role targets", "threshold 2 is above the 1 unique key")

	r := testrepo.New(t)
	before := treeHash(t, r.Dir)
	_, err = r.Repo.Rotate(ctx, metadata.RotateOptions{Role: metadata.RoleReleases, Threshold: 2, Signers: []keys.Signer{r.Targets}})
	errtest.Want(t, err, fault.Input, "role releases", "threshold 2 is above the 1 unique key")
	if treeHash(t, r.Dir) != before {
		t.Error("refused rotation changed the repository")
	}
}

func TestKeyOfAnotherRoleIsRefusedAndNothingChanges(t *testing.T) {
	r := testrepo.New(t, testrepo.WithDelegated("example.com/org/app"))
	before := treeHash(t, r.Dir)
	// The snapshot key tries to sign a release.
	_, err := r.Repo.Update(ctx, metadata.UpdateOptions{Signers: []keys.Signer{r.Snapshot}, Snapshot: r.Snapshot, Timestamp: r.Timestamp}, func(tx *metadata.Tx) error {
		return tx.AddTarget("example.com/org/app:1.0", blob("x"))
	})
	errtest.Want(t, err, fault.Input, r.Snapshot.Public().ID(), "is not a key of the role(s) this change modifies: releases")
	// The releases key as the timestamp key.
	_, err = r.Repo.Update(ctx, metadata.UpdateOptions{Signers: []keys.Signer{r.Releases}, Snapshot: r.Snapshot, Timestamp: r.Releases}, func(tx *metadata.Tx) error {
		return tx.AddTarget("example.com/org/app:1.0", blob("x"))
	})
	errtest.Want(t, err, fault.Input, r.Releases.Public().ID(), "is not a key of role timestamp")
	// Only the targets keys may delegate.
	_, err = r.Repo.Update(ctx, metadata.UpdateOptions{Signers: []keys.Signer{r.Releases}}, func(tx *metadata.Tx) error {
		return tx.Delegate("example.com/other/app")
	})
	errtest.Want(t, err, fault.Input, "is not a key of the role(s) this change modifies: targets")
	// Sign of an unknown role.
	_, err = r.Repo.Sign(ctx, metadata.SignOptions{Role: "bins", Key: r.Targets})
	errtest.Want(t, err, fault.Input, `unknown role "bins"`, "root, targets, snapshot, timestamp, releases")
	// Sign with nothing staged.
	_, err = r.Repo.Sign(ctx, metadata.SignOptions{Role: metadata.RoleTargets, Key: r.Targets})
	errtest.Want(t, err, fault.Input, "role targets has no staged metadata")
	if treeHash(t, r.Dir) != before {
		t.Error("refused changes modified the repository")
	}
}

func TestBadTargetInputIsRefused(t *testing.T) {
	r := testrepo.New(t, testrepo.WithDelegated("example.com/org/app"))
	before := treeHash(t, r.Dir)
	cases := []struct {
		name string
		info metadata.TargetInfo
		want string
	}{
		{"example.com/org/app/../../etc/passwd", blob("x"), `".." path segment`},
		{"/etc/passwd", blob("x"), "relative path"},
		{"example.com/org/app:1.0", metadata.TargetInfo{Length: 1}, "a sha256 hash is required"},
		{"example.com/org/app:1.0", metadata.TargetInfo{Length: 1, Hashes: map[string]string{"sha256": "zz"}}, "is not 32 hex-encoded bytes"},
		{"example.com/org/app:1.0", metadata.TargetInfo{Length: 1, Hashes: map[string]string{"md5": "00"}}, `hash algorithm "md5" is not supported`},
		{"example.com/org/app:1.0", metadata.TargetInfo{Content: []byte("x"), Hashes: map[string]string{"sha256": strings.Repeat("0", 64)}}, "does not match the content"},
		{"example.com/org/app:1.0", metadata.TargetInfo{Content: []byte("x"), Custom: []byte("{")}, "custom is not valid JSON"},
		{"example.com/org/app:1.0", metadata.TargetInfo{Content: []byte("x"), Custom: []byte(`{"size": 1.5}`)}, "custom cannot be signed as canonical JSON: Can't canonicalize floating point number '1.5'"},
	}
	for _, c := range cases {
		_, err := r.Repo.Update(ctx, metadata.UpdateOptions{Signers: []keys.Signer{r.Releases}, Snapshot: r.Snapshot, Timestamp: r.Timestamp}, func(tx *metadata.Tx) error {
			return tx.AddTarget(c.name, c.info)
		})
		errtest.Want(t, err, fault.Input, c.want)
	}
	if treeHash(t, r.Dir) != before {
		t.Error("refused targets modified the repository")
	}
}

func TestCorruptedMetadataIsRefused(t *testing.T) {
	r := testrepo.New(t)
	p := filepath.Join(r.Dir, "metadata", "1.snapshot.json")
	b, _ := os.ReadFile(p)
	// Flip the snapshot's version: its signature (and timestamp's hash) no longer match.
	os.WriteFile(p, []byte(strings.Replace(string(b), `"version": 1`, `"version": 7`, 1)), 0o644)
	before := treeHash(t, r.Dir)
	_, err := metadata.Open(r.Dir)
	errtest.Want(t, err, fault.Input, "corrupted metadata", "1.snapshot.json")
	_, err = r.Repo.Refresh(ctx, metadata.RefreshOptions{Snapshot: r.Snapshot, Timestamp: r.Timestamp})
	errtest.Want(t, err, fault.Input, "corrupted metadata", "1.snapshot.json")
	if treeHash(t, r.Dir) != before {
		t.Error("refresh of a corrupted repository changed it")
	}

	r = testrepo.New(t)
	os.WriteFile(filepath.Join(r.Dir, "metadata", "1.targets.json"), []byte("{not json"), 0o644)
	_, err = r.Repo.Update(ctx, metadata.UpdateOptions{Signers: []keys.Signer{r.Targets}}, func(tx *metadata.Tx) error {
		return tx.AddTarget("a/b", blob("x"))
	})
	errtest.Want(t, err, fault.Input, "corrupted metadata", "1.targets.json")
}

func TestOpenRefusesWhatIsNotARepository(t *testing.T) {
	_, err := metadata.Open(filepath.Join(t.TempDir(), "nope"))
	errtest.Want(t, err, fault.Input, "does not exist")
	_, err = metadata.Open(t.TempDir())
	errtest.Want(t, err, fault.Input, "is not a cnabsec repository", "repository.json is missing")
	r := testrepo.New(t)
	_, err = metadata.Init(r.Dir, metadata.InitOptions{})
	errtest.Want(t, err, fault.Input, "refusing to initialize over an existing repository")
}

// signRaw signs md's canonical form with k and returns the signature.
func signRaw(t *testing.T, k keys.Signer, signed any) []byte {
	t.Helper()
	payload, err := cjson.EncodeCanonical(signed)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := k.Sign(ctx, payload)
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

func TestOneKeyListedUnderTwoKeyIDsCountsOnce(t *testing.T) {
	r := testrepo.New(t)
	// A root version 2 that lists the targets key a second time under
	// go-tuf's own key ID (no keyid_hash_algorithms) and asks for 2 keys.
	root, err := (&tuf.Metadata[tuf.RootType]{}).FromFile(filepath.Join(r.Dir, "metadata", "1.root.json"))
	if err != nil {
		t.Fatal(err)
	}
	pk := r.Targets.Public()
	alias := &tuf.Key{Type: pk.Type, Scheme: pk.Scheme, Value: tuf.KeyVal{PublicKey: pk.Value}}
	aliasID, _ := alias.ID()
	if aliasID == pk.ID() {
		t.Fatal("test setup: the alias has the same key ID")
	}
	root.Signed.Keys[aliasID] = alias
	root.Signed.Roles["targets"].KeyIDs = append(root.Signed.Roles["targets"].KeyIDs, aliasID)
	root.Signed.Roles["targets"].Threshold = 2
	root.Signed.Version = 2
	root.Signatures = []tuf.Signature{{KeyID: r.Root.Public().ID(), Signature: signRaw(t, r.Root, root.Signed)}}
	os.MkdirAll(filepath.Join(r.Dir, "staged"), 0o755)
	if err := root.ToFile(filepath.Join(r.Dir, "staged", "root.json"), true); err != nil {
		t.Fatal(err)
	}
	// Re-sign targets under both IDs of the one key.
	res, err := r.Repo.Refresh(ctx, metadata.RefreshOptions{Roles: []string{"targets"}, Signers: []keys.Signer{r.Targets}, Snapshot: r.Snapshot, Timestamp: r.Timestamp})
	if err != nil {
		t.Fatal(err)
	}
	if res.Published {
		t.Fatal("published a targets role whose threshold of 2 keys was met by one key")
	}
	joined := waitingText(res)
	if !strings.Contains(joined, "targets version 2: signatures from 1 of the 2 unique keys") {
		t.Errorf("waiting = %q", joined)
	}
	// Add the second signature under the alias ID by hand: still one key.
	tp := filepath.Join(r.Dir, "staged", "targets.json")
	tg, err := (&tuf.Metadata[tuf.TargetsType]{}).FromFile(tp)
	if err != nil {
		t.Fatal(err)
	}
	tg.Signatures = append(tg.Signatures, tuf.Signature{KeyID: aliasID, Signature: signRaw(t, r.Targets, tg.Signed)})
	tg.ToFile(tp, true)
	st, err := r.Repo.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, rs := range st.Roles {
		if rs.Role == "targets" && rs.Staged {
			found = true
			if len(rs.Signed) != 2 || rs.ValidKeys != 1 || rs.ThresholdMet() {
				t.Errorf("status of staged targets: signed %v, validKeys %d, threshold %d: the one key counted more than once", rs.Signed, rs.ValidKeys, rs.Threshold)
			}
		}
	}
	if !found {
		t.Fatalf("status shows no staged targets: %+v", st.Roles)
	}
	res, err = r.Repo.Sign(ctx, metadata.SignOptions{Role: "targets", Key: r.Targets, Snapshot: r.Snapshot, Timestamp: r.Timestamp})
	if err != nil {
		t.Fatal(err)
	}
	if res.Published {
		t.Fatal("sign published targets on one key listed under two IDs")
	}
}

func TestRepeatedSignatureIsRefusedNotCounted(t *testing.T) {
	a, b := gen(t), gen(t)
	one := func(k keys.Signer) metadata.RoleKeys { return metadata.RoleKeys{Signers: []keys.Signer{k}} }
	dir := filepath.Join(t.TempDir(), "repo")
	repo, err := metadata.Init(dir, metadata.InitOptions{
		Root: one(a), Snapshot: one(a), Timestamp: one(a),
		Targets: metadata.RoleKeys{Signers: []keys.Signer{a}, PublicKeys: []*keys.PublicKey{b.Public()}, Threshold: 2},
	})
	if err != nil {
		t.Fatal(err)
	}
	tp := filepath.Join(dir, "staged", "targets.json")
	tg, err := (&tuf.Metadata[tuf.TargetsType]{}).FromFile(tp)
	if err != nil {
		t.Fatal(err)
	}
	// The same key's signature twice, once under b's key ID.
	tg.Signatures = append(tg.Signatures, tuf.Signature{KeyID: b.Public().ID(), Signature: tg.Signatures[0].Signature})
	tg.ToFile(tp, true)
	res, err := repo.Sign(ctx, metadata.SignOptions{Role: "root", Key: a, Snapshot: a, Timestamp: a})
	if err != nil {
		t.Fatal(err)
	}
	if res.Published || !strings.Contains(waitingText(res), "targets version 1: signatures from 1 of the 2") {
		t.Fatalf("a repeated signature was counted: published=%v waiting=%q", res.Published, res.Waiting)
	}
	// The same signature twice under one key ID: go-tuf refuses the file, so do we.
	tg.Signatures = append(tg.Signatures[:1], tuf.Signature{KeyID: a.Public().ID(), Signature: tg.Signatures[0].Signature})
	b2, _ := tg.ToBytes(true)
	os.WriteFile(tp, b2, 0o644)
	_, err = repo.Sign(ctx, metadata.SignOptions{Role: "targets", Key: b})
	errtest.Want(t, err, fault.Input, "corrupted metadata", "multiple signatures found for key ID")
	// With b's real signature the threshold is met.
	tg.Signatures = tg.Signatures[:1]
	b2, _ = tg.ToBytes(true)
	os.WriteFile(tp, b2, 0o644)
	res, err = repo.Sign(ctx, metadata.SignOptions{Role: "targets", Key: b, Snapshot: a, Timestamp: a})
	if err != nil || !res.Published {
		t.Fatalf("two distinct keys did not publish: %v %+v", err, res)
	}
}

func TestTwoConcurrentInitsOfOneDirectoryLeaveOneRepository(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "repo")
	errs := make(chan error, 2)
	for i := 0; i < 2; i++ {
		go func() {
			k := gen(t)
			one := metadata.RoleKeys{Signers: []keys.Signer{k}}
			_, err := metadata.Init(dir, metadata.InitOptions{Root: one, Targets: one, Snapshot: one, Timestamp: one})
			errs <- err
		}()
	}
	var failed error
	for i := 0; i < 2; i++ {
		if err := <-errs; err != nil {
			if failed != nil {
				t.Fatalf("both inits failed: %v; %v", failed, err)
			}
			failed = err
		}
	}
	errtest.Want(t, failed, fault.Input, "refusing to initialize over an existing repository")
	repo, err := metadata.Open(dir)
	if err != nil {
		t.Fatalf("the repository that won is broken: %v", err)
	}
	if _, err := repo.Status(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestNullCustomDoesNotBreakClientVerification(t *testing.T) {
	r := testrepo.New(t, testrepo.WithDelegated("example.com/org/app"))
	r.Update(t, []keys.Signer{r.Releases}, func(tx *metadata.Tx) error {
		return tx.AddTarget("example.com/org/app:1", metadata.TargetInfo{Content: []byte("1"), Custom: []byte(" null ")})
	})
	up, err := r.Refresh(t)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := up.GetTargetInfo("example.com/org/app:1"); err != nil {
		t.Fatalf("a target with custom null made its role unverifiable: %v", err)
	}
}
