package ocistore

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cnabsec/cnabsec/bundle/oci"
	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/internal/testing/registrytest"
	"github.com/cnabsec/cnabsec/internal/testing/testrepo"
	"github.com/cnabsec/cnabsec/keys"
	"github.com/cnabsec/cnabsec/metadata"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/secure-systems-lab/go-securesystemslib/cjson"
	tuf "github.com/theupdateframework/go-tuf/v2/metadata"
)

// olderCopy snapshots r's directory, then publishes a new target in r.
func olderCopy(t *testing.T, r *testrepo.Repo) string {
	t.Helper()
	old := filepath.Join(t.TempDir(), "old")
	if err := os.CopyFS(old, os.DirFS(r.Dir)); err != nil {
		t.Fatal(err)
	}
	r.AddTarget(t, "example.com/org/app:2.0", metadata.TargetInfo{Content: []byte("v2")})
	return old
}

func TestPushOfAnOlderTimestampIsRefused(t *testing.T) {
	r := newRepo(t)
	old := olderCopy(t, r)
	reg := registrytest.New(t)
	repo := mustRepo(t, reg, "org/tuf")
	push(t, r, repo)
	_, err := Push(context.Background(), old, repo, oci.Options{})
	if fault.KindOf(err) != fault.Input {
		t.Fatalf("kind %v, want Input: %v", fault.KindOf(err), err)
	}
	wantContains(t, err, "holds timestamp version", "replacing it would roll clients back")
	// The registry still serves the newer release.
	c := newClient(t, r, "oci://"+reg.Ref("org/tuf"))
	if err := c.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Download(context.Background(), "example.com/org/app:2.0", 0); err != nil {
		t.Fatalf("after the refused push: %v", err)
	}
}

// TestPushOverAnotherRepositoryReplacesItsMetadataAndReportsEachFile: the
// registry holds metadata of another repository (other keys): from this
// repository's point of view bytes it cannot verify, exactly what someone
// without the keys could plant. It no longer blocks the push (it was refused
// before: unverifiable bytes blocked the publisher); each file is replaced
// and reported, and clients pinned to this repository's root refresh.
// Metadata this repository's keys signed is still never replaced
// (TestDifferentMetadataSignedByTheRepositoryKeysIsStillRefused).
func TestPushOverAnotherRepositoryReplacesItsMetadataAndReportsEachFile(t *testing.T) {
	reg := registrytest.New(t)
	repo := mustRepo(t, reg, "org/tuf")
	push(t, newRepo(t), repo)
	r := newRepo(t)
	res, err := Push(context.Background(), r.Dir, repo, oci.Options{})
	if err != nil {
		t.Fatalf("another repository's metadata blocked the push: %v", err)
	}
	byFile := map[string]string{}
	for _, rep := range res.Replaced {
		byFile[rep.File] = rep.Reason
	}
	for _, f := range []string{"1.root.json", "timestamp.json"} {
		if !strings.Contains(byFile[f], "signatures do not meet the") {
			t.Errorf("%s: reported %q, want it replaced as not signed by this repository's keys (all: %+v)", f, byFile[f], res.Replaced)
		}
	}
	if err := newClient(t, r, "oci://"+reg.Ref("org/tuf")).Refresh(context.Background()); err != nil {
		t.Fatalf("the registry does not serve this repository after the push: %v", err)
	}
}

func TestCopyOfAnOlderTimestampOverAMirrorIsRefused(t *testing.T) {
	r := newRepo(t)
	old := olderCopy(t, r)
	src, mirror := registrytest.New(t), registrytest.New(t)
	if _, err := Push(context.Background(), old, mustRepo(t, src, "org/tuf"), oci.Options{}); err != nil {
		t.Fatal(err)
	}
	push(t, r, mustRepo(t, mirror, "org/tuf")) // the mirror is already newer
	_, err := Copy(context.Background(), mustRepo(t, src, "org/tuf"), mustRepo(t, mirror, "org/tuf"), oci.Options{})
	if fault.KindOf(err) != fault.Input {
		t.Fatalf("kind %v, want Input: %v", fault.KindOf(err), err)
	}
	wantContains(t, err, "holds timestamp version", "roll clients back")
}

// plantUnsignedTimestamp pushes to repo a copy of r whose timestamp claims a
// huge version with signatures that no longer match: what anyone with write
// access to the registry (no key) can do.
func plantUnsignedTimestamp(t *testing.T, r *testrepo.Repo, repo name.Repository) {
	t.Helper()
	evil := filepath.Join(t.TempDir(), "evil")
	if err := os.CopyFS(evil, os.DirFS(r.Dir)); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(evil, "metadata", "timestamp.json")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var md map[string]any
	if err := json.Unmarshal(b, &md); err != nil {
		t.Fatal(err)
	}
	md["signed"].(map[string]any)["version"] = 999999
	b, _ = json.Marshal(md)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Push(context.Background(), evil, repo, oci.Options{}); err != nil {
		t.Fatal(err)
	}
}

func wantReplacedUnsigned(t *testing.T, replaced []Replaced) {
	t.Helper()
	if len(replaced) != 1 || replaced[0].File != "timestamp.json" || replaced[0].Version != 999999 ||
		!strings.Contains(replaced[0].Reason, "signatures do not meet the timestamp threshold") {
		t.Fatalf("replaced %+v: want the unsigned timestamp (claimed version 999999) named with the reason", replaced)
	}
}

func TestUnsignedHugeTimestampVersionInRegistryDoesNotBlockPush(t *testing.T) {
	r := newRepo(t)
	reg := registrytest.New(t)
	repo := mustRepo(t, reg, "org/tuf")
	push(t, r, repo)
	plantUnsignedTimestamp(t, r, repo)
	r.AddTarget(t, "example.com/org/app:2.0", metadata.TargetInfo{Content: []byte("v2")})
	res, err := Push(context.Background(), r.Dir, repo, oci.Options{})
	if err != nil {
		t.Fatalf("an unsigned timestamp in the registry blocked the publisher: %v", err)
	}
	wantReplacedUnsigned(t, res.Replaced)
	c := newClient(t, r, "oci://"+reg.Ref("org/tuf"))
	if _, _, err := c.Download(context.Background(), "example.com/org/app:2.0", 0); err != nil {
		t.Fatalf("the registry does not serve the real metadata after the push: %v", err)
	}
}

func TestUnsignedHugeTimestampVersionAtTheDestinationDoesNotBlockCopy(t *testing.T) {
	r := newRepo(t)
	src, mirror := registrytest.New(t), registrytest.New(t)
	push(t, r, mustRepo(t, src, "org/tuf"))
	plantUnsignedTimestamp(t, r, mustRepo(t, mirror, "org/tuf"))
	res, err := Copy(context.Background(), mustRepo(t, src, "org/tuf"), mustRepo(t, mirror, "org/tuf"), oci.Options{})
	if err != nil {
		t.Fatalf("an unsigned timestamp at the destination blocked the copy: %v", err)
	}
	wantReplacedUnsigned(t, res.Replaced)
	if err := newClient(t, r, "oci://"+mirror.Ref("org/tuf")).Refresh(context.Background()); err != nil {
		t.Fatalf("the mirror does not serve the real metadata after the copy: %v", err)
	}
}

// TestUnsignedHugeTimestampAtTheSourceDoesNotReplaceTheMirrorsSignedOne:
// someone with write access to the source registry (no key) plants a
// timestamp claiming a huge version. Its claim is not a version to compare:
// the copy is refused, and the mirror keeps serving its signed timestamp.
// Before, the unsigned version won the comparison and replaced it.
func TestUnsignedHugeTimestampAtTheSourceDoesNotReplaceTheMirrorsSignedOne(t *testing.T) {
	r := newRepo(t)
	src, mirror := registrytest.New(t), registrytest.New(t)
	push(t, r, mustRepo(t, src, "org/tuf"))
	push(t, r, mustRepo(t, mirror, "org/tuf"))
	plantUnsignedTimestamp(t, r, mustRepo(t, src, "org/tuf"))
	_, err := Copy(context.Background(), mustRepo(t, src, "org/tuf"), mustRepo(t, mirror, "org/tuf"), oci.Options{})
	if fault.KindOf(err) != fault.Denied {
		t.Fatalf("kind %v, want Denied: %v", fault.KindOf(err), err)
	}
	wantContains(t, err, "timestamp.json of "+mustRepo(t, src, "org/tuf").Name(), "does not verify against root version 1", "refusing to copy it over")
	if err := newClient(t, r, "oci://"+mirror.Ref("org/tuf")).Refresh(context.Background()); err != nil {
		t.Fatalf("the mirror lost its signed timestamp: %v", err)
	}
}

// signAs replaces md's signatures with k's.
func signAs[T tuf.Roles](t *testing.T, md *tuf.Metadata[T], k *keys.PrivateKey) []byte {
	t.Helper()
	payload, err := cjson.EncodeCanonical(md.Signed)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := keys.SignHex(context.Background(), k, payload)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := hex.DecodeString(sig)
	md.Signatures = []tuf.Signature{{KeyID: k.Public().ID(), Signature: raw}}
	b, err := json.Marshal(md)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestRootPlantedAtTheSourceCannotDecideTheMirrorsTimestamp: someone with
// write access to the source registry (no root key) adds 2.root.json giving
// the timestamp role their own key, and a timestamp that key signs with a
// huge version. Judged by that root, the mirror's real timestamp would look
// unsigned and be replaced by theirs; the copy verifies the source's roots
// as a chain from its first root and refuses before copying anything (the
// mirror's clients still refresh). Before, the fake root and timestamp
// replaced the mirror's.
func TestRootPlantedAtTheSourceCannotDecideTheMirrorsTimestamp(t *testing.T) {
	r := newRepo(t)
	src, mirror := registrytest.New(t), registrytest.New(t)
	push(t, r, mustRepo(t, mirror, "org/tuf"))
	evil := filepath.Join(t.TempDir(), "evil")
	if err := os.CopyFS(evil, os.DirFS(r.Dir)); err != nil {
		t.Fatal(err)
	}
	k, err := keys.Generate(keys.GenEd25519)
	if err != nil {
		t.Fatal(err)
	}
	root, err := tuf.Root().FromFile(filepath.Join(evil, "metadata", "1.root.json"))
	if err != nil {
		t.Fatal(err)
	}
	root.Signed.Version = 2
	root.Signed.Keys[k.Public().ID()] = k.Public().TUFKey()
	root.Signed.Roles[tuf.TIMESTAMP].KeyIDs = []string{k.Public().ID()}
	root.Signed.Roles[tuf.TIMESTAMP].Threshold = 1
	if err := os.WriteFile(filepath.Join(evil, "metadata", "2.root.json"), signAs(t, root, k), 0o644); err != nil {
		t.Fatal(err)
	}
	ts, err := tuf.Timestamp().FromFile(filepath.Join(evil, "metadata", "timestamp.json"))
	if err != nil {
		t.Fatal(err)
	}
	ts.Signed.Version = 999999
	if err := os.WriteFile(filepath.Join(evil, "metadata", "timestamp.json"), signAs(t, ts, k), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Push(context.Background(), evil, mustRepo(t, src, "org/tuf"), oci.Options{}); err != nil {
		t.Fatal(err)
	}
	_, err = Copy(context.Background(), mustRepo(t, src, "org/tuf"), mustRepo(t, mirror, "org/tuf"), oci.Options{})
	if fault.KindOf(err) != fault.Denied {
		t.Fatalf("kind %v, want Denied: %v", fault.KindOf(err), err)
	}
	wantContains(t, err, "2.root.json of "+mustRepo(t, src, "org/tuf").Name(), "does not verify against root version 1")
	if err := newClient(t, r, "oci://"+mirror.Ref("org/tuf")).Refresh(context.Background()); err != nil {
		t.Fatalf("the mirror lost its signed timestamp: %v", err)
	}
}
