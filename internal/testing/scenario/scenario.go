// Package scenario builds a complete release on a registry: keys, a TUF
// repository with the releases delegation, two images, a bundle that
// references them by digest, in-toto layouts and links for the bundle and the
// images, everything signed and pushed. The demo narrates it; end-to-end
// tests of the verifier, the server and the CLI start from it.
package scenario

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/cnabsec/cnabsec/bundle"
	"github.com/cnabsec/cnabsec/internal/atomicfile"
	"github.com/cnabsec/cnabsec/keys"
	"github.com/cnabsec/cnabsec/layouts"
	"github.com/cnabsec/cnabsec/metadata"
	"github.com/cnabsec/cnabsec/signer"
)

// Options say what to build.
type Options struct {
	// Dir receives keys/, repo/, work/ (created when missing).
	Dir string
	// Registry is HOST[:PORT] of a registry reachable over loopback.
	Registry string
	// Provenance adds in-toto layouts and links (level 4); without it the
	// release reaches level 2.
	Provenance bool
	// CIFunctionaryIsReleasesKey makes the in-toto ci functionary the
	// releases key itself (as the README's walkthrough does: one CI key for
	// TUF and in-toto), so that verifiers see which steps CI performs.
	CIFunctionaryIsReleasesKey bool
	// Log, when set, receives one line per step.
	Log func(format string, args ...any)
}

// Scenario is a signed release and everything needed to verify or attack it.
type Scenario struct {
	Dir, RepoDir, KeyDir, WorkDir string
	Registry                      string
	// BundleRef is the bundle version (REGISTRY/org/app:1.0); App is REGISTRY/org/app.
	BundleRef, App string
	// Images are the installer and web images (references with tags).
	InstallerRef, WebRef       string
	InstallerDigest, WebDigest string
	// BundleJSON is the signed canonical bundle.
	BundleJSON []byte
	// TrustedRoot is 1.root.json.
	TrustedRoot []byte
	Repo        *metadata.Repository
	// Keys by role: root, targets, snapshot, timestamp, releases (CI), owner
	// (layout), developer and ci (functionaries).
	Keys map[string]*keys.PrivateKey
}

// Signing returns signer options with the releases key and the online keys.
func (s *Scenario) Signing(roleKey string) signer.Options {
	return signer.Options{Keys: []keys.Signer{s.Keys[roleKey]}, Snapshot: s.Keys["snapshot"], Timestamp: s.Keys["timestamp"]}
}

// Build makes the release.
func Build(ctx context.Context, o Options) (*Scenario, error) {
	logf := o.Log
	if logf == nil {
		logf = func(string, ...any) {}
	}
	s := &Scenario{
		Dir: o.Dir, RepoDir: filepath.Join(o.Dir, "repo"), KeyDir: filepath.Join(o.Dir, "keys"), WorkDir: filepath.Join(o.Dir, "work"),
		Registry: o.Registry, App: o.Registry + "/org/app", Keys: map[string]*keys.PrivateKey{},
	}
	s.BundleRef = s.App + ":1.0"
	s.InstallerRef, s.WebRef = o.Registry+"/org/app-installer:1.0", o.Registry+"/org/web:1.0"
	for _, d := range []string{s.KeyDir, s.WorkDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
	}

	for _, role := range []string{"root", "targets", "snapshot", "timestamp", "releases", "owner", "developer", "ci"} {
		k, err := keys.Generate(keys.GenEd25519)
		if err != nil {
			return nil, err
		}
		if err := keys.WriteKeyPair(filepath.Join(s.KeyDir, role), k, nil); err != nil {
			return nil, err
		}
		s.Keys[role] = k
	}
	if o.CIFunctionaryIsReleasesKey {
		for _, ext := range []string{".key", ".pub"} {
			if err := os.Remove(filepath.Join(s.KeyDir, "ci"+ext)); err != nil {
				return nil, err
			}
		}
		if err := keys.WriteKeyPair(filepath.Join(s.KeyDir, "ci"), s.Keys["releases"], nil); err != nil {
			return nil, err
		}
		s.Keys["ci"] = s.Keys["releases"]
	}
	logf("generated keys for root, targets, snapshot, timestamp, releases (CI), the layout owner and two functionaries in %s", s.KeyDir)

	repo, err := metadata.Init(s.RepoDir, metadata.InitOptions{
		Root:      metadata.RoleKeys{Signers: []keys.Signer{s.Keys["root"]}},
		Targets:   metadata.RoleKeys{Signers: []keys.Signer{s.Keys["targets"]}},
		Snapshot:  metadata.RoleKeys{Signers: []keys.Signer{s.Keys["snapshot"]}},
		Timestamp: metadata.RoleKeys{Signers: []keys.Signer{s.Keys["timestamp"]}},
		Releases:  &metadata.RoleKeys{Signers: []keys.Signer{s.Keys["releases"]}},
	})
	if err != nil {
		return nil, err
	}
	s.Repo = repo
	if s.TrustedRoot, err = repo.TrustedRoot(); err != nil {
		return nil, err
	}
	if _, err := repo.Update(ctx, metadata.UpdateOptions{Signers: []keys.Signer{s.Keys["targets"]}, Snapshot: s.Keys["snapshot"], Timestamp: s.Keys["timestamp"]}, func(tx *metadata.Tx) error {
		return tx.Delegate(s.App, o.Registry+"/org/app-installer", o.Registry+"/org/web")
	}); err != nil {
		return nil, err
	}
	logf("initialized the TUF repository %s and delegated %s and its images to the releases role", s.RepoDir, s.App)

	inst, err := pushImage(s.InstallerRef, 1)
	if err != nil {
		return nil, err
	}
	web, err := pushImage(s.WebRef, 2)
	if err != nil {
		return nil, err
	}
	s.InstallerDigest, s.WebDigest = inst.digest, web.digest
	logf("pushed images %s (%s) and %s (%s)", s.InstallerRef, short(inst.digest), s.WebRef, short(web.digest))

	if s.BundleJSON, err = BundleJSON("app", "1.0", s.InstallerRef, inst.digest, s.WebRef, web.digest); err != nil {
		return nil, err
	}
	bundlePath := filepath.Join(s.WorkDir, "bundle.json")
	if err := atomicfile.WriteFile(bundlePath, s.BundleJSON, 0o644); err != nil {
		return nil, err
	}
	logf("wrote the canonical bundle.json (%d bytes) referencing both images by digest", len(s.BundleJSON))

	items := []signer.Item{
		{Kind: "image", Ref: s.InstallerRef},
		{Kind: "image", Ref: s.WebRef},
		{Kind: "bundle", Ref: s.BundleRef, File: bundlePath, Push: true},
	}
	if o.Provenance {
		if err := s.provenance(ctx, items, map[string][]byte{s.InstallerRef: inst.manifest, s.WebRef: web.manifest}, logf); err != nil {
			return nil, err
		}
	}
	res, err := signer.Sign(ctx, repo, s.Signing("releases"), items...)
	if err != nil {
		return nil, err
	}
	for _, sg := range res.Signed {
		logf("signed %s (role %s, sha256:%s…, %d link files)", sg.Target, sg.Role, sg.SHA256[:12], len(sg.Links))
	}
	return s, nil
}

// provenance records the supply chain (a developer writes the bundle source,
// CI packages bundle.json; CI builds each image), publishes the layout under
// the offline targets key and points each item at its links.
func (s *Scenario) provenance(ctx context.Context, items []signer.Item, manifests map[string][]byte, logf func(string, ...any)) error {
	tmpl := fmt.Sprintf(`expires: 8760h
readme: the developer writes the canonical bundle.json; CI packages exactly those bytes and builds the images
steps:
  - name: write-bundle
    functionaries: [%[1]s]
    expected_products: [[CREATE, bundle.json], [DISALLOW, "*"]]
  - name: package
    functionaries: [%[2]s]
    expected_materials: [[MATCH, bundle.json, WITH, PRODUCTS, FROM, write-bundle], [DISALLOW, "*"]]
    expected_products: [[MATCH, bundle.json, WITH, PRODUCTS, FROM, write-bundle], [DISALLOW, "*"]]
`, filepath.Join(s.KeyDir, "developer.pub"), filepath.Join(s.KeyDir, "ci.pub"))
	imgTmpl := fmt.Sprintf(`expires: 8760h
readme: CI builds the image and records its manifest
steps:
  - name: build-image
    functionaries: [%s]
    expected_products: [[CREATE, manifest.json], [DISALLOW, "*"]]
`, filepath.Join(s.KeyDir, "ci.pub"))
	owner := []keys.Signer{s.Keys["owner"]}
	now := time.Now()

	// Bundle: developer step, then CI step.
	dir := filepath.Join(s.WorkDir, "bundle-chain")
	links := filepath.Join(s.WorkDir, "bundle-links")
	for _, d := range []string{dir, links} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "bundle.json"), s.BundleJSON, 0o644); err != nil {
		return err
	}
	if _, _, err := layouts.RunStep(ctx, layouts.StepOptions{Name: "write-bundle", Key: s.Keys["developer"], Products: []string{"bundle.json"}, Dir: dir, OutDir: links}); err != nil {
		return err
	}
	if _, _, err := layouts.RunStep(ctx, layouts.StepOptions{Name: "package", Key: s.Keys["ci"], Materials: []string{"bundle.json"}, Products: []string{"bundle.json"}, Dir: dir, OutDir: links}); err != nil {
		return err
	}
	logf("recorded in-toto steps write-bundle (developer) and package (CI) for bundle.json")

	publish := func(repoName, template string) error {
		mb, err := layouts.CreateLayout(ctx, []byte(template), layouts.CreateOptions{Owners: owner, Now: now})
		if err != nil {
			return err
		}
		lb, err := layouts.Marshal(mb)
		if err != nil {
			return err
		}
		target, _, err := signer.PublishLayout(ctx, s.Repo, s.Signing("targets"), signer.LayoutRelease{Layout: lb, Name: repoName, Keys: []*keys.PublicKey{s.Keys["owner"].Public()}})
		if err != nil {
			return err
		}
		logf("published the root layout %s and its key under the offline targets role", target)
		return nil
	}
	if err := publish(s.App, tmpl); err != nil {
		return err
	}
	items[2].Links = links

	for i, ref := range []string{s.InstallerRef, s.WebRef} {
		repoName, _ := repoOf(ref)
		if err := publish(repoName, imgTmpl); err != nil {
			return err
		}
		idir := filepath.Join(s.WorkDir, fmt.Sprintf("image-chain-%d", i))
		ilinks := filepath.Join(s.WorkDir, fmt.Sprintf("image-links-%d", i))
		for _, d := range []string{idir, ilinks} {
			if err := os.MkdirAll(d, 0o755); err != nil {
				return err
			}
		}
		if err := os.WriteFile(filepath.Join(idir, "manifest.json"), manifests[ref], 0o644); err != nil {
			return err
		}
		if _, _, err := layouts.RunStep(ctx, layouts.StepOptions{Name: "build-image", Key: s.Keys["ci"], Products: []string{"manifest.json"}, Dir: idir, OutDir: ilinks}); err != nil {
			return err
		}
		items[i].Links = ilinks
	}
	logf("recorded the in-toto step build-image (CI) for both images")
	return nil
}

type pushed struct {
	digest   string
	manifest []byte
}

func pushImage(ref string, seed int64) (pushed, error) {
	img, err := random.Image(512, 2, random.WithSource(rand.New(rand.NewSource(seed))))
	if err != nil {
		return pushed{}, err
	}
	return PushImage(ref, img)
}

// PushImage pushes img to ref (a loopback registry) and returns its digest
// and manifest bytes.
func PushImage(ref string, img v1.Image) (pushed, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return pushed{}, err
	}
	if err := remote.Write(r, img); err != nil {
		return pushed{}, fmt.Errorf("push %s: %w", ref, err)
	}
	h, err := img.Digest()
	if err != nil {
		return pushed{}, err
	}
	raw, err := img.RawManifest()
	if err != nil {
		return pushed{}, err
	}
	return pushed{digest: h.String(), manifest: raw}, nil
}

// RandomImage returns a small image whose content depends on seed.
func RandomImage(seed int64) (v1.Image, error) {
	return random.Image(512, 2, random.WithSource(rand.New(rand.NewSource(seed))))
}

// BundleJSON writes a canonical bundle.json with one invocation image and one
// component image "web", both pinned by digest.
func BundleJSON(nameS, version, installerRef, installerDigest, webRef, webDigest string) ([]byte, error) {
	b := map[string]any{
		"schemaVersion": "v1.0.0",
		"name":          nameS,
		"version":       version,
		"description":   "a demo application",
		"invocationImages": []any{map[string]any{
			"imageType": "docker", "image": installerRef, "contentDigest": installerDigest,
		}},
		"images": map[string]any{
			"web": map[string]any{"imageType": "docker", "image": webRef, "contentDigest": webDigest, "description": "the web frontend"},
		},
		"actions": map[string]any{"status": map[string]any{"modifies": false}},
	}
	raw, err := json.Marshal(b)
	if err != nil {
		return nil, err
	}
	return bundle.Canonicalize(raw)
}

func repoOf(ref string) (string, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return "", err
	}
	return r.Context().Name(), nil
}

func short(d string) string {
	if len(d) > 19 {
		return d[:19] + "…"
	}
	return d
}
