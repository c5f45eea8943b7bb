package ocistore

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/static"

	"github.com/cnabsec/cnabsec/bundle/oci"
	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/internal/testing/registrytest"
	"github.com/cnabsec/cnabsec/internal/testing/testrepo"
	"github.com/cnabsec/cnabsec/keys"
	"github.com/cnabsec/cnabsec/metadata"
)

// plantFile makes the tag of metadata file f in repo hold data: what anyone
// with write access to the registry (no key) can do.
func plantFile(t *testing.T, repo name.Repository, f string, data []byte) {
	t.Helper()
	p, err := newPusher(context.Background(), repo, oci.RemoteOptions(context.Background(), oci.Options{}))
	if err != nil {
		t.Fatal(err)
	}
	tag, err := TagForMetadata(f)
	if err != nil {
		t.Fatal(err)
	}
	m := fileManifest(ArtifactTypeMetadata, MediaTypeMetadata, sha256Hex(data), int64(len(data)), f)
	if _, err := p.put(tag, static.NewLayer(data, MediaTypeMetadata), m, "planted "+f, nil); err != nil {
		t.Fatal(err)
	}
}

// newFiles publishes a second release in r and returns the versioned
// metadata files that publication added, in name order.
func newFiles(t *testing.T, r *testrepo.Repo) []string {
	t.Helper()
	before := metadataNames(t, r.Dir)
	r.AddTarget(t, "example.com/org/app:2.0", metadata.TargetInfo{Content: []byte("v2")})
	var out []string
	for _, f := range metadataNames(t, r.Dir) {
		if v, _ := splitMetadataName(f); v > 0 && !slices.Contains(before, f) {
			out = append(out, f)
		}
	}
	return out
}

func metadataNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(dir, "metadata"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

// tampered is r's file f with its signed part changed: its signatures no
// longer verify.
func tampered(t *testing.T, r *testrepo.Repo, f string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(r.Dir, "metadata", f))
	if err != nil {
		t.Fatal(err)
	}
	out := bytes.Replace(b, []byte(`"spec_version"`), []byte(`"x":1,"spec_version"`), 1)
	if bytes.Equal(out, b) {
		t.Fatalf("test setup: %s has no spec_version", f)
	}
	return out
}

// TestUnsignedMetadataPlantedAtTheNextVersionsDoesNotBlockPush: someone
// with write access to the registry (no key) plants, at the tags of the
// next release's N.snapshot.json and hash bin (a role the releases role
// delegates), files whose signatures do not verify. Before, each was "another repository's"
// published metadata and the push was refused for good; now each is
// replaced, reported with the reason, and the registry serves the release.
func TestUnsignedMetadataPlantedAtTheNextVersionsDoesNotBlockPush(t *testing.T) {
	r := newRepo(t)
	reg := registrytest.New(t)
	repo := mustRepo(t, reg, "org/tuf")
	push(t, r, repo)
	planted := newFiles(t, r)
	roles := map[string]bool{}
	for _, f := range planted {
		plantFile(t, repo, f, tampered(t, r, f))
		_, role := splitMetadataName(f)
		roles[role] = true
	}
	if !roles["snapshot"] || len(roles) < 2 {
		t.Fatalf("test setup: the release added %q: want a snapshot and a delegated role", planted)
	}
	res, err := Push(context.Background(), r.Dir, repo, oci.Options{})
	if err != nil {
		t.Fatalf("unsigned files planted in the registry blocked the publisher: %v", err)
	}
	var replaced []string
	for _, rep := range res.Replaced {
		replaced = append(replaced, rep.File)
		_, role := splitMetadataName(rep.File)
		if !strings.Contains(rep.Reason, "not signed by this repository's keys: its signatures do not meet the threshold of the "+role+" keys") {
			t.Errorf("%s replaced for %q: want the role and why it was not trusted", rep.File, rep.Reason)
		}
	}
	slices.Sort(replaced)
	if !slices.Equal(replaced, planted) {
		t.Fatalf("replaced %q, want the planted %q", replaced, planted)
	}
	if _, _, err := newClient(t, r, "oci://"+reg.Ref("org/tuf")).Download(context.Background(), "example.com/org/app:2.0", 0); err != nil {
		t.Fatalf("the registry does not serve the real release after the push: %v", err)
	}
}

// TestUnsignedNextRootPlantedInRegistryDoesNotBlockPush: a 2.root.json
// whose signatures do not verify, planted at the tag of the root version
// the publisher renews next, is judged by the root keys of root version 1
// and replaced.
func TestUnsignedNextRootPlantedInRegistryDoesNotBlockPush(t *testing.T) {
	r := newRepo(t)
	reg := registrytest.New(t)
	repo := mustRepo(t, reg, "org/tuf")
	push(t, r, repo)
	if _, err := r.Repo.Refresh(context.Background(), metadata.RefreshOptions{Roles: []string{metadata.RoleRoot}, Signers: []keys.Signer{r.Root}, Snapshot: r.Snapshot, Timestamp: r.Timestamp}); err != nil {
		t.Fatal(err)
	}
	plantFile(t, repo, "2.root.json", tampered(t, r, "2.root.json"))
	res, err := Push(context.Background(), r.Dir, repo, oci.Options{})
	if err != nil {
		t.Fatalf("an unsigned 2.root.json planted in the registry blocked the publisher: %v", err)
	}
	if len(res.Replaced) != 1 || res.Replaced[0].File != "2.root.json" || res.Replaced[0].Version != 2 ||
		!strings.Contains(res.Replaced[0].Reason, "not signed by this repository's keys: its signatures do not meet the threshold of the root keys: by the root keys of root version 1") {
		t.Fatalf("replaced %+v: want 2.root.json, judged by the root keys of root version 1", res.Replaced)
	}
	if err := newClient(t, r, "oci://"+reg.Ref("org/tuf")).Refresh(context.Background()); err != nil {
		t.Fatalf("the registry does not serve the real root after the push: %v", err)
	}
}

// TestDifferentMetadataSignedByTheRepositoryKeysIsStillRefused: two
// directories of one repository (the same keys) each published a different
// release 2.0, so a different hash bin and snapshot of the same versions. The
// registry holds one; pushing the other would fork what clients already
// trust, and is refused (the bin, pushed first, is judged by the releases
// role that delegates it).
func TestDifferentMetadataSignedByTheRepositoryKeysIsStillRefused(t *testing.T) {
	r := newRepo(t)
	reg := registrytest.New(t)
	repo := mustRepo(t, reg, "org/tuf")
	push(t, r, repo)
	fork := *r
	fork.Dir = filepath.Join(t.TempDir(), "fork")
	if err := os.CopyFS(fork.Dir, os.DirFS(r.Dir)); err != nil {
		t.Fatal(err)
	}
	var err error
	if fork.Repo, err = metadata.Open(fork.Dir); err != nil {
		t.Fatal(err)
	}
	newFiles(t, r)
	fork.AddTarget(t, "example.com/org/app:2.0", metadata.TargetInfo{Content: []byte("another 2.0")})
	push(t, &fork, repo)
	_, err = Push(context.Background(), r.Dir, repo, oci.Options{})
	if fault.KindOf(err) != fault.Input {
		t.Fatalf("kind %v, want Input: %v", fault.KindOf(err), err)
	}
	wantContains(t, err, "already holds a different", "signed by this repository's keys", "refusing to overwrite published metadata")
}

// TestUnsignedMetadataPlantedAtTheMirrorDoesNotBlockCopy: the same files
// planted at a mirror do not block copying the release there; they are
// judged by the source's verified root and the roles that delegate them.
func TestUnsignedMetadataPlantedAtTheMirrorDoesNotBlockCopy(t *testing.T) {
	r := newRepo(t)
	src, mirror := registrytest.New(t), registrytest.New(t)
	push(t, r, mustRepo(t, mirror, "org/tuf"))
	planted := newFiles(t, r)
	for _, f := range planted {
		plantFile(t, mustRepo(t, mirror, "org/tuf"), f, tampered(t, r, f))
	}
	push(t, r, mustRepo(t, src, "org/tuf"))
	res, err := Copy(context.Background(), mustRepo(t, src, "org/tuf"), mustRepo(t, mirror, "org/tuf"), oci.Options{})
	if err != nil {
		t.Fatalf("unsigned files planted at the mirror blocked the copy: %v", err)
	}
	var replaced []string
	for _, rep := range res.Replaced {
		replaced = append(replaced, rep.File)
		if !strings.Contains(rep.Reason, "not signed by this repository's keys") {
			t.Errorf("%s replaced for %q: want why it was not trusted", rep.File, rep.Reason)
		}
	}
	slices.Sort(replaced)
	if !slices.Equal(replaced, planted) {
		t.Fatalf("replaced %q, want the planted %q", replaced, planted)
	}
	if _, _, err := newClient(t, r, "oci://"+mirror.Ref("org/tuf")).Download(context.Background(), "example.com/org/app:2.0", 0); err != nil {
		t.Fatalf("the mirror does not serve the real release after the copy: %v", err)
	}
}

// TestGarbageTimestampInRegistryIsReplacedAndReported: bytes at the
// timestamp's tag that are not metadata were replaced silently; the
// publisher is now told, as for bytes that do not verify.
func TestGarbageTimestampInRegistryIsReplacedAndReported(t *testing.T) {
	r := newRepo(t)
	reg := registrytest.New(t)
	repo := mustRepo(t, reg, "org/tuf")
	push(t, r, repo)
	plantFile(t, repo, "timestamp.json", []byte("not metadata"))
	res, err := Push(context.Background(), r.Dir, repo, oci.Options{})
	if err != nil {
		t.Fatalf("garbage at the timestamp's tag blocked the publisher: %v", err)
	}
	if len(res.Replaced) != 1 || res.Replaced[0].File != "timestamp.json" || !strings.Contains(res.Replaced[0].Reason, "it is not valid timestamp metadata") {
		t.Fatalf("replaced %+v: want timestamp.json reported as not valid timestamp metadata", res.Replaced)
	}
	if err := newClient(t, r, "oci://"+reg.Ref("org/tuf")).Refresh(context.Background()); err != nil {
		t.Fatalf("the registry does not serve the real timestamp after the push: %v", err)
	}
}
