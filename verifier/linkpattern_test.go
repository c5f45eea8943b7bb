package verifier_test

import (
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/cnabsec/cnabsec/bundle/oci"
	"github.com/cnabsec/cnabsec/internal/names"
	"github.com/cnabsec/cnabsec/internal/testing/scenario"
	"github.com/cnabsec/cnabsec/keys"
	"github.com/cnabsec/cnabsec/metadata"
	"github.com/cnabsec/cnabsec/signer"
	"github.com/cnabsec/cnabsec/verifier"
)

// signImageUnderLinkPattern is the attack of a CI key delegated the
// repository APP (APP:*, APP@* and APP/in-toto-metadata/*/*.link): it pushes
// an image to the repository APP/in-toto-metadata/x/y and lists it as the
// image target APP/in-toto-metadata/x/y:1.link, which only the link pattern
// matches. The signer refuses the name, so the metadata layer lists it, with
// the releases key. It returns the target name and the manifest digest.
func signImageUnderLinkPattern(t *testing.T, s *scenario.Scenario) (string, string) {
	t.Helper()
	target := s.App + "/in-toto-metadata/x/y:1.link"
	img, err := scenario.RandomImage(66)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := scenario.PushImage(target, img); err != nil {
		t.Fatal(err)
	}
	desc, err := oci.ResolveImage(ctx, ref(t, target), oci.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s256, s512 := sha256.Sum256(desc.RawManifest), sha512.Sum512(desc.RawManifest)
	custom, _ := json.Marshal(names.Custom{CNABSec: &names.CNABSecCustom{Kind: names.KindImage, MediaType: desc.MediaType}})
	info := metadata.TargetInfo{Length: int64(len(desc.RawManifest)), Custom: custom, Hashes: map[string]string{
		"sha256": hex.EncodeToString(s256[:]), "sha512": hex.EncodeToString(s512[:])}}
	opts := metadata.UpdateOptions{Signers: []keys.Signer{s.Keys["releases"]}, Snapshot: s.Keys["snapshot"], Timestamp: s.Keys["timestamp"]}
	if _, err := s.Repo.Update(context.Background(), opts, func(tx *metadata.Tx) error {
		if role := tx.RoleFor(target); role != metadata.RoleReleases {
			t.Fatalf("%s falls to role %s: the link pattern no longer delegates it to releases, the attack needs another set-up", target, role)
		}
		return tx.AddTarget(target, info)
	}); err != nil {
		t.Fatal(err)
	}
	return target, desc.Digest
}

func TestCIKeySigningAnImageUnderTheLinkPatternIsDenied(t *testing.T) {
	s := build(t, false)
	target, _ := signImageUnderLinkPattern(t, s)
	r, err := verify(t, s, target, withImage())
	mustDeny(t, r, err, "image-target", `target "`+target+`" is not a version target`)
	mustDeny(t, r, err, "image-target", "link pattern "+names.LinkPattern(s.App))
	// The releases delegation still works for what it was given.
	if r, err := verify(t, s, s.WebRef, withImage()); err != nil {
		t.Fatalf("the legitimately signed image: %v %+v", err, r.FirstFailure())
	}
}

func TestBundleListingAnImageSignedUnderTheLinkPatternIsDenied(t *testing.T) {
	s := build(t, false)
	target, digest := signImageUnderLinkPattern(t, s)
	raw, err := scenario.BundleJSON("app", "2.0", s.InstallerRef, s.InstallerDigest, target, digest)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "bundle.json")
	if err := os.WriteFile(p, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	v2 := s.App + ":2.0"
	if _, err := signer.Sign(ctx, s.Repo, s.Signing("releases"), signer.Item{Kind: "bundle", Ref: v2, File: p, Push: true}); err != nil {
		t.Fatal(err)
	}
	r, err := verify(t, s, v2)
	mustDeny(t, r, err, "image-target", "link pattern "+names.LinkPattern(s.App))
	if f := r.FirstFailure(); f.Subject != "images.web ("+target+")" {
		t.Fatalf("failure subject %q, want the web image", f.Subject)
	}
}

func TestTargetsLeavesOutAnImageSignedUnderTheLinkPattern(t *testing.T) {
	s := build(t, false)
	target, _ := signImageUnderLinkPattern(t, s)
	v, err := verifier.New(verifier.Config{TrustedRoot: s.TrustedRoot, Location: s.RepoDir})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	refs, err := v.Targets(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range refs {
		if r.Name == target {
			t.Fatalf("the digest index lists %+v, signed only under the link pattern", r)
		}
	}
	if len(refs) != 3 {
		t.Fatalf("Targets returned %+v, want the bundle and its two images", refs)
	}
}
