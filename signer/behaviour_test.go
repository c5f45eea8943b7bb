package signer_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cnabsec/cnabsec"
	"github.com/cnabsec/cnabsec/bundle"
	"github.com/cnabsec/cnabsec/internal/testing/registrytest"
	"github.com/cnabsec/cnabsec/internal/testing/scenario"
	"github.com/cnabsec/cnabsec/internal/testing/testrepo"
	"github.com/cnabsec/cnabsec/keys"
	"github.com/cnabsec/cnabsec/layouts"
	"github.com/cnabsec/cnabsec/metadata"
	"github.com/cnabsec/cnabsec/signer"
)

const app = "example.com/org/app"

// release is a repository that delegates app to releases (the CI key), and
// a canonical bundle.json on disk.
type release struct {
	r      *testrepo.Repo
	bundle string // path of a canonical bundle.json
	raw    []byte
}

func newRelease(t *testing.T) *release {
	t.Helper()
	r := testrepo.New(t, testrepo.WithDelegated(app))
	raw, err := scenario.BundleJSON("app", "1.0.0",
		"example.com/org/installer:1.0", "sha256:"+strings.Repeat("a", 64),
		"example.com/org/web:1.0", "sha256:"+strings.Repeat("b", 64))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "bundle.json")
	if err := os.WriteFile(p, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	return &release{r: r, bundle: p, raw: raw}
}

// ci is the CI key with the online keys: a change is published.
func (rl *release) ci() signer.Options {
	return signer.Options{Keys: []keys.Signer{rl.r.Releases}, Snapshot: rl.r.Snapshot, Timestamp: rl.r.Timestamp}
}

func (rl *release) targets(t *testing.T) map[string]metadata.Target {
	t.Helper()
	list, err := rl.r.Repo.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]metadata.Target{}
	for _, tg := range list {
		out[tg.Name] = tg
	}
	return out
}

func wantKind(t *testing.T, err error, kind error, parts ...string) {
	t.Helper()
	if !errors.Is(err, kind) {
		t.Fatalf("error %v, want %v", err, kind)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not mention %q", err, p)
		}
	}
}

func TestSignBundleListsTheVersionUnderReleasesWithTheBytesHashes(t *testing.T) {
	rl := newRelease(t)
	res, err := signer.Sign(context.Background(), rl.r.Repo, rl.ci(), signer.Item{Kind: "bundle", Ref: app + ":1.0", File: rl.bundle})
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(rl.raw)
	s := res.Signed[0]
	if !res.Published || s.Target != app+":1.0" || s.Role != "releases" || s.SHA256 != hex.EncodeToString(sum[:]) || s.Length != int64(len(rl.raw)) {
		t.Fatalf("signed %+v (published %v), want %s:1.0 by releases with sha256 %x", s, res.Published, app, sum)
	}
	tg, ok := rl.targets(t)[app+":1.0"]
	if !ok || tg.Role != "releases" {
		t.Fatalf("repository lists %+v", tg)
	}
	var custom struct {
		CNABSec struct{ Kind string } `json:"cnabsec"`
	}
	if err := json.Unmarshal(tg.Custom, &custom); err != nil || custom.CNABSec.Kind != "bundle" {
		t.Fatalf("custom %s: want cnabsec.kind bundle (%v)", tg.Custom, err)
	}
}

func TestSignShortNameIsListedUnderItsNormalizedReference(t *testing.T) {
	r := testrepo.New(t, testrepo.WithDelegated("index.docker.io/library/app"))
	rl := newRelease(t)
	opts := signer.Options{Keys: []keys.Signer{r.Releases}, Snapshot: r.Snapshot, Timestamp: r.Timestamp}
	res, err := signer.Sign(context.Background(), r.Repo, opts, signer.Item{Kind: "bundle", Ref: "app:1.0", File: rl.bundle})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Signed[0].Target; got != "index.docker.io/library/app:1.0" {
		t.Fatalf("target %q, want the normalized index.docker.io/library/app:1.0", got)
	}
}

func TestSignNonCanonicalBundleIsRefusedAndWritesNothing(t *testing.T) {
	rl := newRelease(t)
	pretty := filepath.Join(t.TempDir(), "pretty.json")
	if err := os.WriteFile(pretty, append([]byte(" "), rl.raw...), 0o644); err != nil {
		t.Fatal(err)
	}
	before := rl.targets(t)
	_, err := signer.Sign(context.Background(), rl.r.Repo, rl.ci(), signer.Item{Kind: "bundle", Ref: app + ":1.0", File: pretty})
	wantKind(t, err, cnabsec.ErrInput, "pretty.json")
	if !errors.Is(err, bundle.ErrNotCanonical) {
		t.Errorf("error %v does not wrap bundle.ErrNotCanonical", err)
	}
	if after := rl.targets(t); len(after) != len(before) {
		t.Fatalf("a refused signing changed the repository: %d targets, then %d", len(before), len(after))
	}
}

func TestSignBatchWithOneBadItemWritesNothing(t *testing.T) {
	rl := newRelease(t)
	_, err := signer.Sign(context.Background(), rl.r.Repo, rl.ci(),
		signer.Item{Kind: "bundle", Ref: app + ":1.0", File: rl.bundle},
		signer.Item{Kind: "bundle", Ref: app + ":1.1", File: filepath.Join(t.TempDir(), "missing.json")})
	wantKind(t, err, cnabsec.ErrInput, "missing.json")
	if _, ok := rl.targets(t)[app+":1.0"]; ok {
		t.Fatal("the valid item of a refused batch was published")
	}
}

func TestSignSameVersionTwiceInOneBatchIsRefused(t *testing.T) {
	rl := newRelease(t)
	it := signer.Item{Kind: "bundle", Ref: app + ":1.0", File: rl.bundle}
	_, err := signer.Sign(context.Background(), rl.r.Repo, rl.ci(), it, it)
	wantKind(t, err, cnabsec.ErrInput, "listed twice")
}

func TestSignWithoutOnlineKeysStagesTheVersion(t *testing.T) {
	rl := newRelease(t)
	res, err := signer.Sign(context.Background(), rl.r.Repo, signer.Options{Keys: []keys.Signer{rl.r.Releases}},
		signer.Item{Kind: "bundle", Ref: app + ":1.0", File: rl.bundle})
	if err != nil {
		t.Fatal(err)
	}
	if res.Published || len(res.Waiting) == 0 {
		t.Fatalf("published %v, waiting %q: without the snapshot and timestamp keys the change must be staged", res.Published, res.Waiting)
	}
	if tg := rl.targets(t)[app+":1.0"]; !tg.Staged {
		t.Fatalf("target %+v is not marked staged", tg)
	}
}

func TestSignLinksWithoutAPublishedLayoutIsRefused(t *testing.T) {
	rl := newRelease(t)
	links := t.TempDir()
	if err := os.WriteFile(filepath.Join(filepath.Dir(rl.bundle), "bundle.json"), rl.raw, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := layouts.RunStep(context.Background(), layouts.StepOptions{
		Name: "package", Key: rl.r.Releases, Products: []string{"bundle.json"}, Dir: filepath.Dir(rl.bundle), OutDir: links,
	}); err != nil {
		t.Fatal(err)
	}
	_, err := signer.Sign(context.Background(), rl.r.Repo, rl.ci(), signer.Item{Kind: "bundle", Ref: app + ":1.0", File: rl.bundle, Links: links})
	if err == nil {
		t.Fatal("links were accepted with no root layout published by the targets role")
	}
	wantKind(t, err, cnabsec.ErrInput, "no root layout", "top-level targets role")
}

func TestSignImageListsTheManifestTheRegistryServes(t *testing.T) {
	reg := registrytest.New(t)
	img := reg.PushImage(t, "org/web:1.0", 7)
	r := testrepo.New(t, testrepo.WithDelegated(reg.Host+"/org/web"))
	opts := signer.Options{Keys: []keys.Signer{r.Releases}, Snapshot: r.Snapshot, Timestamp: r.Timestamp}
	res, err := signer.Sign(context.Background(), r.Repo, opts, signer.Item{Kind: "image", Ref: img.Ref})
	if err != nil {
		t.Fatal(err)
	}
	if got := "sha256:" + res.Signed[0].SHA256; got != img.Digest || res.Signed[0].Length != img.Size {
		t.Fatalf("signed %s (%d bytes), registry serves %s (%d bytes)", got, res.Signed[0].Length, img.Digest, img.Size)
	}
}

func TestSignImageWithAFileIsRefused(t *testing.T) {
	rl := newRelease(t)
	_, err := signer.Sign(context.Background(), rl.r.Repo, rl.ci(), signer.Item{Kind: "image", Ref: app + ":1.0", File: rl.bundle})
	wantKind(t, err, cnabsec.ErrInput, "an image takes no file")
}

func TestRevokeRemovesTheVersion(t *testing.T) {
	rl := newRelease(t)
	if _, err := signer.Sign(context.Background(), rl.r.Repo, rl.ci(), signer.Item{Kind: "bundle", Ref: app + ":1.0", File: rl.bundle}); err != nil {
		t.Fatal(err)
	}
	res, err := signer.Revoke(context.Background(), rl.r.Repo, rl.ci(), app+":1.0")
	if err != nil || !res.Published {
		t.Fatalf("revoke: %v (published %v)", err, res != nil && res.Published)
	}
	if _, ok := rl.targets(t)[app+":1.0"]; ok {
		t.Fatal("the revoked version is still listed")
	}
}

func TestRevokeWithAReferenceNamingNoVersionIsRefused(t *testing.T) {
	rl := newRelease(t)
	_, err := signer.Revoke(context.Background(), rl.r.Repo, rl.ci(), app)
	wantKind(t, err, cnabsec.ErrInput, "names no version")
}
