package verifier_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/cnabsec/cnabsec"
	"github.com/cnabsec/cnabsec/bundle"
	"github.com/cnabsec/cnabsec/keys"
	"github.com/cnabsec/cnabsec/layouts"
	"github.com/cnabsec/cnabsec/metadata"
	"github.com/cnabsec/cnabsec/signer"
	"github.com/cnabsec/cnabsec/verifier"
)

// Verify a bundle at level 4 before handing it to a runtime: a Verifier is
// built once per trust root (a service keeps it), and each verification is a
// Request.
func ExampleVerifier_Verify() {
	ctx := context.Background()
	// A registry and a signed release with provenance, as a publisher makes
	// them (publishRelease below, with public APIs only).
	reg := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer reg.Close()
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	r, err := publishRelease(ctx, dir, strings.TrimPrefix(reg.URL, "http://"), true)
	if err != nil {
		log.Fatal(err)
	}

	v, err := verifier.New(verifier.Config{
		TrustedRoot: r.trustedRoot, // pinned out of band: no trust on first use
		Location:    r.repoDir,     // or https://..., oci://...
	})
	if err != nil {
		log.Fatal(err)
	}
	defer v.Close()
	report, err := v.Verify(ctx, verifier.Request{Reference: r.bundleRef, Level: verifier.Level4})
	if err != nil {
		log.Fatalf("denied: %s", report.Error)
	}
	fmt.Println("verified:", report.Verified, "level:", report.AchievedLevel)
	fmt.Println("bundle bytes for the runtime:", string(report.VerifiedBundle()) == string(r.bundleJSON))
	for _, p := range report.Provenance {
		if p.Subject == r.bundleRef {
			fmt.Println("bundle provenance rests on", p.Layout == r.app+"/in-toto-metadata/root.layout", len(p.Steps), "steps")
		}
	}
	// Output:
	// verified: true level: 4
	// bundle bytes for the runtime: true
	// bundle provenance rests on true 2 steps
}

// A program outside this module tells denied from inconclusive from bad
// input with the public error kinds of package cnabsec.
func ExampleVerifier_Verify_classifyErrors() {
	classify := func(err error) string {
		switch {
		case err == nil:
			return "verified"
		case errors.Is(err, cnabsec.ErrDenied):
			return "denied" // the artifact or its metadata is wrong: do not install
		case errors.Is(err, cnabsec.ErrInconclusive):
			return "inconclusive" // the network failed: try again
		case errors.Is(err, cnabsec.ErrInput):
			return "bad input" // fix the request
		}
		return "unclassified"
	}
	ctx := context.Background()
	reg := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer reg.Close()
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	// Without provenance the release reaches level 2 (the default level).
	r, err := publishRelease(ctx, dir, strings.TrimPrefix(reg.URL, "http://"), false)
	if err != nil {
		log.Fatal(err)
	}
	v, err := verifier.New(verifier.Config{TrustedRoot: r.trustedRoot, Location: r.repoDir})
	if err != nil {
		log.Fatal(err)
	}
	defer v.Close()
	for _, req := range []verifier.Request{
		{Reference: r.bundleRef},                                  // signed
		{Reference: r.app + ":9.9"},                               // never signed
		{Reference: r.bundleRef, From: "127.0.0.1:1/org/app:1.0"}, // unreachable registry
		{Reference: r.bundleRef, Level: "5"},                      // no such level
	} {
		_, err := v.Verify(ctx, req)
		fmt.Println(classify(err))
	}
	// Output:
	// verified
	// denied
	// inconclusive
	// bad input
}

// release is what a publisher hands verifiers: the root they pin, where the
// TUF metadata is, and the signed bundle version.
type release struct {
	trustedRoot []byte
	repoDir     string
	app         string // REGISTRY/org/app
	bundleRef   string // REGISTRY/org/app:1.0
	bundleJSON  []byte // the signed canonical bundle.json
}

// publishRelease does what a publisher's tooling does, with public APIs
// only: generate keys, create the TUF repository with a releases delegation,
// push two images and a thin bundle referencing them by digest to host (a
// registry on loopback), and sign them with the releases key (CI). With
// provenance it also publishes in-toto root layouts under the targets role
// and records the supply-chain steps, so the release reaches level 4.
func publishRelease(ctx context.Context, dir, host string, provenance bool) (*release, error) {
	ks, err := generateKeys(filepath.Join(dir, "keys"), "root", "targets", "snapshot", "timestamp", "releases", "owner", "developer")
	if err != nil {
		return nil, err
	}
	app, installer, web := host+"/org/app", host+"/org/app-installer", host+"/org/web"
	r := &release{repoDir: filepath.Join(dir, "repo"), app: app, bundleRef: app + ":1.0"}
	repo, err := initRepository(ctx, r.repoDir, ks, app, installer, web)
	if err != nil {
		return nil, err
	}
	if r.trustedRoot, err = repo.TrustedRoot(); err != nil {
		return nil, err
	}
	items, manifests, err := pushImages(ctx, installer+":1.0", web+":1.0")
	if err != nil {
		return nil, err
	}
	work := filepath.Join(dir, "work")
	if r.bundleJSON, err = writeBundle(work, installer+":1.0", web+":1.0", manifests); err != nil {
		return nil, err
	}
	// Push: the signer also pushes the thin bundle to the registry.
	items = append(items, signer.Item{Kind: "bundle", Ref: r.bundleRef, File: filepath.Join(work, "bundle", "bundle.json"), Push: true})
	if provenance {
		if err := recordProvenance(ctx, repo, ks, dir, items, manifests); err != nil {
			return nil, err
		}
	}
	_, err = signer.Sign(ctx, repo, signing(ks, "releases"), items...)
	return r, err
}

// generateKeys makes an ed25519 key per role and writes each public key to
// keyDir/ROLE.pub, where layout templates name their functionaries.
func generateKeys(keyDir string, roles ...string) (map[string]*keys.PrivateKey, error) {
	if err := os.MkdirAll(keyDir, 0o700); err != nil {
		return nil, err
	}
	ks := map[string]*keys.PrivateKey{}
	for _, role := range roles {
		k, err := keys.Generate(keys.GenEd25519)
		if err != nil {
			return nil, err
		}
		pub, err := k.Public().PEM()
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(keyDir, role+".pub"), pub, 0o644); err != nil {
			return nil, err
		}
		ks[role] = k
	}
	return ks, nil
}

// signing signs with the role's key and publishes with the online keys.
func signing(ks map[string]*keys.PrivateKey, role string) signer.Options {
	return signer.Options{Keys: []keys.Signer{ks[role]}, Snapshot: ks["snapshot"], Timestamp: ks["timestamp"]}
}

// initRepository creates the TUF repository and, with the offline targets
// key, delegates the names to the releases role that CI signs with.
func initRepository(ctx context.Context, dir string, ks map[string]*keys.PrivateKey, names ...string) (*metadata.Repository, error) {
	role := func(r string) metadata.RoleKeys { return metadata.RoleKeys{Signers: []keys.Signer{ks[r]}} }
	releases := role("releases")
	repo, err := metadata.Init(dir, metadata.InitOptions{
		Root: role("root"), Targets: role("targets"), Snapshot: role("snapshot"), Timestamp: role("timestamp"),
		Releases: &releases,
	})
	if err != nil {
		return nil, err
	}
	publish := metadata.UpdateOptions{Signers: []keys.Signer{ks["targets"]}, Snapshot: ks["snapshot"], Timestamp: ks["timestamp"]}
	_, err = repo.Update(ctx, publish, func(tx *metadata.Tx) error { return tx.Delegate(names...) })
	return repo, err
}

// pushImages pushes a small random image to each reference and returns the
// items to sign and each image's manifest (its digest pins it in the bundle).
func pushImages(ctx context.Context, refs ...string) ([]signer.Item, map[string][]byte, error) {
	var items []signer.Item
	manifests := map[string][]byte{}
	for _, ref := range refs {
		img, err := random.Image(512, 2)
		if err != nil {
			return nil, nil, err
		}
		r, err := name.ParseReference(ref)
		if err != nil {
			return nil, nil, err
		}
		if err := remote.Write(r, img, remote.WithContext(ctx)); err != nil {
			return nil, nil, err
		}
		if manifests[ref], err = img.RawManifest(); err != nil {
			return nil, nil, err
		}
		items = append(items, signer.Item{Kind: "image", Ref: ref})
	}
	return items, manifests, nil
}

// writeBundle writes work/bundle/bundle.json, canonical, with the installer
// as invocation image and web as a component, both pinned by digest.
func writeBundle(work, installer, web string, manifests map[string][]byte) ([]byte, error) {
	raw := fmt.Sprintf(`{"schemaVersion": "v1.0.0", "name": "app", "version": "1.0",
		"invocationImages": [{"imageType": "docker", "image": %q, "contentDigest": %q}],
		"images": {"web": {"imageType": "docker", "image": %q, "contentDigest": %q}},
		"actions": {"status": {"modifies": false}}}`,
		installer, digestOf(manifests[installer]), web, digestOf(manifests[web]))
	b, err := bundle.Canonicalize([]byte(raw))
	if err != nil {
		return nil, err
	}
	return b, writeFile(filepath.Join(work, "bundle", "bundle.json"), b)
}

func digestOf(manifest []byte) string {
	return fmt.Sprintf("sha256:%x", sha256.Sum256(manifest))
}

func writeFile(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// The bundle's supply chain: a developer writes bundle.json, CI packages
// exactly those bytes. Functionaries are named by public key file.
const bundleLayout = `expires: 8760h
steps:
  - name: write-bundle
    functionaries: [developer.pub]
    expected_products: [[CREATE, bundle.json], [DISALLOW, "*"]]
  - name: package
    functionaries: [releases.pub]
    expected_materials: [[MATCH, bundle.json, WITH, PRODUCTS, FROM, write-bundle], [DISALLOW, "*"]]
    expected_products: [[MATCH, bundle.json, WITH, PRODUCTS, FROM, write-bundle], [DISALLOW, "*"]]
`

// An image's supply chain: CI builds it and records its manifest.
const imageLayout = `expires: 8760h
steps:
  - name: build-image
    functionaries: [releases.pub]
    expected_products: [[CREATE, manifest.json], [DISALLOW, "*"]]
`

// recordProvenance publishes each repository's root layout under the
// offline targets role, records the steps as link files next to the
// artifact they are about and points each item at its links. The CI
// functionary is the releases key: one CI key for TUF and in-toto.
func recordProvenance(ctx context.Context, repo *metadata.Repository, ks map[string]*keys.PrivateKey, dir string, items []signer.Item, manifests map[string][]byte) error {
	for i, it := range items {
		r, err := name.ParseReference(it.Ref)
		if err != nil {
			return err
		}
		steps, template := []layouts.StepOptions{{Name: "build-image", Key: ks["releases"], Products: []string{"manifest.json"}}}, imageLayout
		work := filepath.Join(dir, "work", r.Context().RepositoryStr())
		if it.Kind == "bundle" {
			steps = []layouts.StepOptions{
				{Name: "write-bundle", Key: ks["developer"], Products: []string{"bundle.json"}},
				{Name: "package", Key: ks["releases"], Materials: []string{"bundle.json"}, Products: []string{"bundle.json"}},
			}
			template, work = bundleLayout, filepath.Dir(it.File)
		} else if err := writeFile(filepath.Join(work, "manifest.json"), manifests[it.Ref]); err != nil {
			return err
		}
		if err := publishLayout(ctx, repo, ks, dir, r.Context().Name(), template); err != nil {
			return err
		}
		if items[i].Links, err = recordSteps(ctx, work, steps); err != nil {
			return err
		}
	}
	return nil
}

// publishLayout signs the template as a root layout with the owner's key and
// publishes it, with the owner's public key, under the targets role.
func publishLayout(ctx context.Context, repo *metadata.Repository, ks map[string]*keys.PrivateKey, dir, repoName, template string) error {
	mb, err := layouts.CreateLayout(ctx, []byte(template), layouts.CreateOptions{
		Owners: []keys.Signer{ks["owner"]}, BaseDir: filepath.Join(dir, "keys"), Now: time.Now(),
	})
	if err != nil {
		return err
	}
	signed, err := layouts.Marshal(mb)
	if err != nil {
		return err
	}
	_, _, err = signer.PublishLayout(ctx, repo, signing(ks, "targets"), signer.LayoutRelease{
		Layout: signed, Name: repoName, Keys: []*keys.PublicKey{ks["owner"].Public()},
	})
	return err
}

// recordSteps records each step in work and writes its link to work/links.
func recordSteps(ctx context.Context, work string, steps []layouts.StepOptions) (string, error) {
	links := filepath.Join(work, "links")
	if err := os.MkdirAll(links, 0o755); err != nil {
		return "", err
	}
	for _, st := range steps {
		st.Dir, st.OutDir = work, links
		if _, _, err := layouts.RunStep(ctx, st); err != nil {
			return "", err
		}
	}
	return links, nil
}
