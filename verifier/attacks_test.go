package verifier_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/cnabsec/cnabsec/bundle/oci"
	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/internal/testing/scenario"
	"github.com/cnabsec/cnabsec/metadata"
	"github.com/cnabsec/cnabsec/signer"
	"github.com/cnabsec/cnabsec/verifier"
)

var ctx = context.Background()

func ref(t *testing.T, s string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestBundleTagMovedToOtherContentIsDenied(t *testing.T) {
	s := build(t, false)
	other, err := scenario.BundleJSON("app", "1.0-evil", s.InstallerRef, s.InstallerDigest, s.WebRef, s.WebDigest)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := oci.PushBundle(ctx, other, ref(t, s.BundleRef), oci.Options{}); err != nil {
		t.Fatal(err)
	}
	r, err := verify(t, s, s.BundleRef)
	mustDeny(t, r, err, "bundle-digest", "does not match signed target")
}

func TestImageReplacedInRegistryIsDenied(t *testing.T) {
	s := build(t, false)
	img, _ := scenario.RandomImage(99)
	if _, err := scenario.PushImage(s.WebRef, img); err != nil {
		t.Fatal(err)
	}
	r, err := verify(t, s, s.BundleRef)
	mustDeny(t, r, err, "image-digest", "but contentDigest is "+s.WebDigest)
	// Even at level 0, where nothing is signed, the contentDigest check runs.
	r, err = verifyOnce(ctx, s.BundleRef, withLevel(verifier.Level0))
	mustDeny(t, r, err, "image-digest", "registry serves")
}

func TestTimestampRollbackIsDeniedAfterRestartWithCache(t *testing.T) {
	s := build(t, false)
	old := filepath.Join(t.TempDir(), "old")
	if out, err := exec.Command("cp", "-a", s.RepoDir, old).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v %s", err, out)
	}
	if _, err := s.Repo.Refresh(ctx, metadata.RefreshOptions{Snapshot: s.Keys["snapshot"], Timestamp: s.Keys["timestamp"]}); err != nil {
		t.Fatal(err)
	}
	cache := t.TempDir()
	if r, err := verify(t, s, s.BundleRef, withCache(cache)); err != nil {
		t.Fatalf("fresh: %v %+v", err, r.FirstFailure())
	}
	// A mirror (or the attacker) now serves the older copy: a new run with
	// the same cache refuses it.
	r, err := verifyOnce(ctx, s.BundleRef, withTrustedRoot(s.TrustedRoot), withMetadata(old), withCache(cache))
	mustDeny(t, r, err, "tuf-refresh", "rollback")
	// Without the cache the old copy is still valid metadata.
	if _, err := verifyOnce(ctx, s.BundleRef, withTrustedRoot(s.TrustedRoot), withMetadata(old)); err != nil {
		t.Fatalf("old copy without cache: %v", err)
	}
}

func TestLinksOfVersion1ReplayedForVersion2AreDenied(t *testing.T) {
	s := build(t, true)
	v2, err := scenario.BundleJSON("app", "2.0", s.InstallerRef, s.InstallerDigest, s.WebRef, s.WebDigest)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "bundle.json")
	os.WriteFile(p, v2, 0o644)
	v2ref := s.App + ":2.0"
	if _, err := signer.Sign(ctx, s.Repo, s.Signing("releases"), signer.Item{Kind: "bundle", Ref: v2ref, File: p, Push: true,
		Links: filepath.Join(s.WorkDir, "bundle-links")}); err != nil {
		t.Fatal(err)
	}
	r, err := verify(t, s, v2ref, withLevel(verifier.Level2))
	mustDeny(t, r, err, "in-toto artifact binding", "is not a product of the layout's last step")
	// The images' own provenance still holds: 3a, not 3b.
	if r.AchievedLevel != verifier.Level3a {
		t.Fatalf("achieved %s, want 3a", r.AchievedLevel)
	}
}

func TestImageTargetMismatchDeniesAtAnyLevel(t *testing.T) {
	s := build(t, false)
	// CI (or an attacker with the releases key) re-signs web:1.0 as other
	// content; the registry still serves what bundle.json pins.
	img, _ := scenario.RandomImage(42)
	orig, err := oci.ResolveImage(ctx, ref(t, s.WebRef), oci.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := scenario.PushImage(s.WebRef, img); err != nil {
		t.Fatal(err)
	}
	if _, err := signer.Sign(ctx, s.Repo, s.Signing("releases"), signer.Item{Kind: "image", Ref: s.WebRef}); err != nil {
		t.Fatal(err)
	}
	restore(t, s.WebRef, orig)
	r, err := verify(t, s, s.BundleRef, withLevel(verifier.Level1b))
	mustDeny(t, r, err, "image-target", "does not match signed target")
}

func restore(t *testing.T, refS string, d oci.Descriptor) {
	t.Helper()
	// Re-tag the original manifest (still in the registry by digest).
	r := ref(t, refS)
	if err := putManifest(r, d); err != nil {
		t.Fatal(err)
	}
}

func TestLevels1aAnd1bAreIncomparable(t *testing.T) {
	s := build(t, false)
	// Bundle unsigned, images signed: 1a holds, 1b does not.
	if _, err := signer.Revoke(ctx, s.Repo, s.Signing("releases"), s.BundleRef); err != nil {
		t.Fatal(err)
	}
	r, err := verify(t, s, s.BundleRef, withLevel(verifier.Level1a))
	if err != nil || r.AchievedLevel != verifier.Level1a {
		t.Fatalf("1a: %v %+v", err, r.FirstFailure())
	}
	r, err = verify(t, s, s.BundleRef, withLevel(verifier.Level1b))
	mustDeny(t, r, err, "bundle-target", "no trusted TUF role signs")

	// Bundle signed, images unsigned: 1b holds, 1a does not.
	s2 := build(t, false)
	if _, err := signer.Revoke(ctx, s2.Repo, s2.Signing("releases"), s2.WebRef, s2.InstallerRef); err != nil {
		t.Fatal(err)
	}
	r, err = verify(t, s2, s2.BundleRef, withLevel(verifier.Level1b))
	if err != nil || r.AchievedLevel != verifier.Level1b {
		t.Fatalf("1b: %v %+v", err, r.FirstFailure())
	}
	r, err = verify(t, s2, s2.BundleRef, withLevel(verifier.Level1a))
	mustDeny(t, r, err, "image-target", "no trusted TUF role signs image")
}

func TestUnreachableRegistryIsInconclusive(t *testing.T) {
	s := build(t, false)
	r, err := verify(t, s, s.BundleRef, withSource("127.0.0.1:1/org/app:1.0"))
	if !fault.Is(err, fault.Inconclusive) || r.Verified {
		t.Fatalf("want inconclusive, got %v (%v)", fault.KindOf(err), err)
	}
}

func TestNonCanonicalBundleIsDenied(t *testing.T) {
	s := build(t, false)
	var pretty bytes.Buffer
	pretty.Write(bytes.ReplaceAll(s.BundleJSON, []byte(`,"`), []byte(`, "`)))
	p := filepath.Join(t.TempDir(), "bundle.json")
	os.WriteFile(p, pretty.Bytes(), 0o644)
	r, err := verifyOnce(ctx, s.BundleRef, withLevel(verifier.Level0), withBundleFile(p))
	mustDeny(t, r, err, "canonical-json", "not canonical")
}

func TestUnsupportedRequiredExtensionIsDenied(t *testing.T) {
	s := build(t, false)
	raw := bytes.Replace(s.BundleJSON, []byte(`"schemaVersion"`), []byte(`"requiredExtensions":["io.cnab.docker"],"schemaVersion"`), 1)
	raw = bytes.Replace(raw, []byte(`"description"`), []byte(`"custom":{"io.cnab.docker":{}},"description"`), 1)
	p := filepath.Join(t.TempDir(), "bundle.json")
	os.WriteFile(p, raw, 0o644)
	r, err := verifyOnce(ctx, s.BundleRef, withLevel(verifier.Level0), withBundleFile(p))
	mustDeny(t, r, err, "required-extensions", "io.cnab.docker")
	if _, err := verifyOnce(ctx, s.BundleRef, withLevel(verifier.Level0), withBundleFile(p), withSupportedExtensions("io.cnab.docker")); err != nil {
		t.Fatalf("declared extension: %v", err)
	}
}

func TestRelocatedBundleVerifiesAndMappingPointingElsewhereIsDenied(t *testing.T) {
	s := build(t, false)
	dst := s.Registry + "/mirror/app:1.0"
	mapping, err := oci.Copy(ctx, ref(t, s.BundleRef), ref(t, dst), oci.Options{})
	if err != nil {
		t.Fatal(err)
	}
	write := func(m map[string]string) string {
		var b strings.Builder
		b.WriteString("{")
		first := true
		for k, v := range m {
			if !first {
				b.WriteString(",")
			}
			first = false
			b.WriteString(`"` + k + `":"` + v + `"`)
		}
		b.WriteString("}")
		p := filepath.Join(t.TempDir(), "mapping.json")
		os.WriteFile(p, []byte(b.String()), 0o644)
		return p
	}
	good := write(mapping)
	if r, err := verify(t, s, s.BundleRef, withSource(dst), withRelocationMapping(good)); err != nil {
		t.Fatalf("relocated: %v %+v", err, r.FirstFailure())
	}
	evil := map[string]string{}
	for k, v := range mapping {
		evil[k] = v
	}
	img, _ := scenario.RandomImage(7)
	other, err := scenario.PushImage(s.Registry+"/mirror/other:1", img)
	if err != nil {
		t.Fatal(err)
	}
	_ = other
	evil[s.WebRef] = s.Registry + "/mirror/other:1"
	r, err := verify(t, s, s.BundleRef, withSource(dst), withRelocationMapping(write(evil)))
	mustDeny(t, r, err, "relocation-mapping", "a tag: relocated references must be pinned by digest")
	otherDigest, _ := img.Digest()
	evil[s.WebRef] = s.Registry + "/mirror/other@" + otherDigest.String()
	r, err = verify(t, s, s.BundleRef, withSource(dst), withRelocationMapping(write(evil)))
	mustDeny(t, r, err, "relocation-mapping", "whose digest is not the bundle's contentDigest")
	delete(evil, s.WebRef)
	r, err = verify(t, s, s.BundleRef, withSource(dst), withRelocationMapping(write(evil)))
	mustDeny(t, r, err, "relocation-mapping", s.WebRef)
}

// signedThick pulls the release as a thick archive into a file and signs it
// as version 1.0-thick; it returns the file, the version and the bytes.
func signedThick(t *testing.T, s *scenario.Scenario) (string, string, []byte) {
	t.Helper()
	var buf bytes.Buffer
	if err := oci.PullThick(ctx, ref(t, s.BundleRef), &buf, oci.Options{}); err != nil {
		t.Fatal(err)
	}
	thick := filepath.Join(t.TempDir(), "app.tgz")
	if err := os.WriteFile(thick, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	thickRef := s.App + ":1.0-thick"
	if _, err := signer.Sign(ctx, s.Repo, s.Signing("releases"), signer.Item{Kind: "bundle", Ref: thickRef, File: thick, Thick: true}); err != nil {
		t.Fatal(err)
	}
	return thick, thickRef, buf.Bytes()
}

func TestThickBundleVerifiesAndRecompressedArchiveIsDenied(t *testing.T) {
	s := build(t, false)
	thick, thickRef, archive := signedThick(t, s)
	dir := filepath.Dir(thick)
	r, err := verify(t, s, thickRef, withThickFile(thick))
	if err != nil {
		t.Fatalf("thick: %v %+v", err, r.FirstFailure())
	}
	// Same content, recompressed: other archive bytes, other digest.
	zr, err := gzip.NewReader(bytes.NewReader(archive))
	if err != nil {
		t.Fatal(err)
	}
	tarBytes, _ := io.ReadAll(zr)
	var re bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&re, gzip.BestCompression)
	zw.Write(tarBytes)
	zw.Close()
	recompressed := filepath.Join(dir, "re.tgz")
	os.WriteFile(recompressed, re.Bytes(), 0o644)
	r, err = verify(t, s, thickRef, withThickFile(recompressed))
	mustDeny(t, r, err, "bundle-digest", "does not match the signed target")
}

// A --from that names no version is bad input, reported in the check that
// reads the source and naming it, for an image as for a bundle.
func TestMalformedSourceIsReportedInTheCheckThatReadsIt(t *testing.T) {
	s := build(t, false)
	for _, c := range []struct {
		ref   string
		check string
		opts  []option
	}{
		{s.BundleRef, "bundle-source", nil},
		{s.WebRef, "image-digest", []option{withImage()}},
	} {
		r, err := verify(t, s, c.ref, append(c.opts, withSource("mirror.example.com/org/app"))...)
		if fault.KindOf(err) != fault.Input || r == nil || r.Verified {
			t.Fatalf("%s: kind %v, %v", c.ref, fault.KindOf(err), err)
		}
		f := r.FirstFailure()
		if f == nil || f.Name != c.check || f.Subject != "mirror.example.com/org/app" || !strings.Contains(f.Detail, "names no version") {
			t.Fatalf("%s: first failure %+v, want %s naming the source", c.ref, f, c.check)
		}
	}
}

// TestThickBundleWithForgedRelocationMappingIsDenied: with --thick the images
// come from the archive, so a mapping was never resolved, and a forged one
// (a tag, another digest, an entry for no image) reached the runtime as if
// checked. It is checked exactly as for a thin bundle.
func TestThickBundleWithForgedRelocationMappingIsDenied(t *testing.T) {
	s := build(t, false)
	thick, thickRef, _ := signedThick(t, s)
	mapping := func(web string) string {
		p := filepath.Join(t.TempDir(), "mapping.json")
		b := `{"` + s.InstallerRef + `":"evil.example/inst@` + s.InstallerDigest + `","` + s.WebRef + `":"` + web + `"}`
		if err := os.WriteFile(p, []byte(b), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	r, err := verify(t, s, thickRef, withThickFile(thick), withRelocationMapping(mapping("evil.example/web:latest")))
	mustDeny(t, r, err, "relocation-mapping", "a tag: relocated references must be pinned by digest")
	r, err = verify(t, s, thickRef, withThickFile(thick), withRelocationMapping(mapping("evil.example/web@"+s.InstallerDigest)))
	mustDeny(t, r, err, "relocation-mapping", "whose digest is not the bundle's contentDigest")
	r, err = verify(t, s, thickRef, withThickFile(thick), withRelocationMapping(mapping("evil.example/web:latest@"+s.WebDigest)))
	mustDeny(t, r, err, "relocation-mapping", "evil.example/web:latest@"+s.WebDigest+", which is not REPOSITORY@"+s.WebDigest)
	good := mapping("evil.example/web@" + s.WebDigest)
	r, err = verify(t, s, thickRef, withThickFile(thick), withRelocationMapping(good))
	if err != nil || r.VerifiedRelocationMapping() == nil {
		t.Fatalf("a digest-pinned mapping of the thick bundle: %v", err)
	}
}
