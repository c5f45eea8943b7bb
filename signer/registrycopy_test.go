package signer_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/cnabsec/cnabsec"
	"github.com/cnabsec/cnabsec/bundle"
	"github.com/cnabsec/cnabsec/bundle/oci"
	"github.com/cnabsec/cnabsec/internal/testing/registrytest"
	"github.com/cnabsec/cnabsec/internal/testing/testrepo"
	"github.com/cnabsec/cnabsec/keys"
	"github.com/cnabsec/cnabsec/signer"
)

// registryRelease is a repository delegating REGISTRY/org/app to the CI key
// and a registry holding the thin bundle held (pushed as it is) at org/app:1.0.
func registryRelease(t *testing.T, held []byte) (*testrepo.Repo, signer.Options, string) {
	t.Helper()
	reg := registrytest.New(t)
	inv := reg.PushImage(t, "org/installer:1.0", 1)
	raw := []byte(strings.ReplaceAll(string(held), "IMAGE", inv.Ref))
	raw = []byte(strings.ReplaceAll(string(raw), "DIGEST", inv.Digest))
	ref := reg.Ref("org/app:1.0")
	parsed, err := oci.ParseRef(ref, oci.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := oci.PushBundle(context.Background(), raw, parsed, oci.Options{}); err != nil {
		t.Fatal(err)
	}
	r := testrepo.New(t, testrepo.WithDelegated(reg.Host+"/org/app"))
	opts := signer.Options{Keys: []keys.Signer{r.Releases}, Snapshot: r.Snapshot, Timestamp: r.Timestamp, CompareWithRegistry: true}
	return r, opts, ref
}

// canonicalFile writes the canonical form of doc (IMAGE and DIGEST replaced
// as in the registry's copy) and returns its path.
func canonicalFile(t *testing.T, doc, image, digest string) string {
	t.Helper()
	doc = strings.ReplaceAll(strings.ReplaceAll(doc, "IMAGE", image), "DIGEST", digest)
	raw, err := bundle.Canonicalize([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "bundle.json")
	if err := os.WriteFile(p, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// The registry holds the bundle as cnab-to-oci pushed it: "images": null
// dropped and the invocation image's size added by its fixup.
const (
	heldBundle  = `{"description":"","invocationImages":[{"contentDigest":"DIGEST","image":"IMAGE","imageType":"docker","size":583}],"name":"app","schemaVersion":"v1.0.0","version":"1.0.0"}`
	localBundle = `{"description":"","images":null,"invocationImages":[{"contentDigest":"DIGEST","image":"IMAGE","imageType":"docker"}],"name":"app","schemaVersion":"v1.0.0","version":"1.0.0"}`
)

// TestSigningABundleThatDiffersFromTheRegistryCopyIsRefused: a publisher
// signs the local bundle.json, but the registry holds other bytes under the
// reference (cnab-to-oci re-encoded it when it pushed). Verifiers pull the
// registry's bytes, which the signature does not cover, so the version could
// never verify: signing is refused, naming the members that differ, and
// nothing is written.
func TestSigningABundleThatDiffersFromTheRegistryCopyIsRefused(t *testing.T) {
	r, opts, ref := registryRelease(t, []byte(heldBundle))
	held, _, err := oci.PullBundle(context.Background(), mustParse(t, ref), oci.Options{})
	if err != nil {
		t.Fatal(err)
	}
	image, digest := imageOf(t, held)
	file := canonicalFile(t, localBundle, image, digest)
	_, err = signer.Sign(context.Background(), r.Repo, opts, signer.Item{Kind: "bundle", Ref: ref, File: file})
	wantKind(t, err, cnabsec.ErrInput, file, ref, `"images" only in the file`, `"invocationImages[0].size" only in the registry`)
	if !errors.Is(err, signer.ErrRegistryMismatch) {
		t.Errorf("error %v does not wrap signer.ErrRegistryMismatch", err)
	}
	if list, _ := r.Repo.List(context.Background()); len(list) != 0 {
		t.Fatalf("a refused signing listed %d targets", len(list))
	}

	opts.AllowRegistryMismatch = true
	res, err := signer.Sign(context.Background(), r.Repo, opts, signer.Item{Kind: "bundle", Ref: ref, File: file})
	if err != nil || !strings.HasPrefix(res.Signed[0].Registry, signer.RegistryAllowed) {
		t.Fatalf("with AllowRegistryMismatch: %v, registry %q", err, res.Signed[0].Registry)
	}
}

// TestSigningWhatTheRegistryHoldsPasses: the bytes `bundle pull` returns sign.
func TestSigningWhatTheRegistryHoldsPasses(t *testing.T) {
	r, opts, ref := registryRelease(t, []byte(heldBundle))
	held, _, err := oci.PullBundle(context.Background(), mustParse(t, ref), oci.Options{})
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "pulled.json")
	if err := os.WriteFile(file, held, 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := signer.Sign(context.Background(), r.Repo, opts, signer.Item{Kind: "bundle", Ref: ref, File: file})
	if err != nil || res.Signed[0].Registry != signer.RegistrySame {
		t.Fatalf("signing the pulled bytes: %v, registry %q", err, res.Signed[0].Registry)
	}
}

// TestSigningBeforeThePushIsNotChecked: no tag yet, nothing to compare with.
func TestSigningBeforeThePushIsNotChecked(t *testing.T) {
	r, opts, ref := registryRelease(t, []byte(heldBundle))
	held, _, err := oci.PullBundle(context.Background(), mustParse(t, ref), oci.Options{})
	if err != nil {
		t.Fatal(err)
	}
	image, digest := imageOf(t, held)
	file := canonicalFile(t, localBundle, image, digest)
	later := strings.TrimSuffix(ref, ":1.0") + ":2.0"
	res, err := signer.Sign(context.Background(), r.Repo, opts, signer.Item{Kind: "bundle", Ref: later, File: file})
	if err != nil || !strings.HasPrefix(res.Signed[0].Registry, signer.RegistryNotChecked) || !strings.Contains(res.Signed[0].Registry, "tag not found") {
		t.Fatalf("signing before the push: %v, registry %q", err, res.Signed[0].Registry)
	}
}

func mustParse(t *testing.T, ref string) name.Reference {
	t.Helper()
	r, err := oci.ParseRef(ref, oci.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func imageOf(t *testing.T, raw []byte) (string, string) {
	t.Helper()
	b, err := bundle.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	im := b.Images()[0]
	return im.Reference, im.ContentDigest
}
