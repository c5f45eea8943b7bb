// Package testrepo builds complete TUF metadata repositories with generated
// keys for other packages' tests: one call gives a published repository with
// the releases delegation, its keys (in memory and as files) and the trusted
// root to pin.
package testrepo

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/cnabsec/cnabsec/keys"
	"github.com/cnabsec/cnabsec/metadata"
)

// Repo is a published repository and everything needed to change or verify it.
type Repo struct {
	// Dir is the repository directory (DIR/metadata, DIR/targets, DIR/staged).
	Dir string
	// Repo is the opened repository.
	Repo *metadata.Repository
	// Keys of each role; Releases is nil when built WithoutReleases.
	Root, Targets, Snapshot, Timestamp, Releases *keys.PrivateKey
	// TrustedRoot is 1.root.json, the root a client pins.
	TrustedRoot []byte
	// KeyDir holds ROLE.key (PKCS#8 PEM) and ROLE.pub for every role, outside Dir.
	KeyDir string
}

type options struct {
	keyType   string
	releases  bool
	bins      int
	delegated []string
}

// Option changes what New builds.
type Option func(*options)

// WithKeyType generates keys of this type (keys.GenEd25519, GenECDSAP256, GenRSA3072).
func WithKeyType(t string) Option { return func(c *options) { c.keyType = t } }

// WithoutReleases builds a repository without the releases delegation.
func WithoutReleases() Option { return func(c *options) { c.releases = false } }

// WithBins makes releases delegate to n succinct hash-bin roles.
func WithBins(n int) Option { return func(c *options) { c.bins = n } }

// WithDelegated delegates these names (REGISTRY/REPOSITORY) to releases.
func WithDelegated(names ...string) Option {
	return func(c *options) { c.delegated = append(c.delegated, names...) }
}

// New builds and publishes a repository in a temporary directory.
func New(t testing.TB, opts ...Option) *Repo {
	t.Helper()
	c := &options{keyType: keys.GenEd25519, releases: true}
	for _, o := range opts {
		o(c)
	}
	r := &Repo{Dir: filepath.Join(t.TempDir(), "repo"), KeyDir: t.TempDir()}
	gen := func(role string) *keys.PrivateKey {
		k, err := keys.Generate(c.keyType)
		if err != nil {
			t.Fatalf("testrepo: generate %s key: %v", role, err)
		}
		if err := keys.WriteKeyPair(filepath.Join(r.KeyDir, role), k, nil); err != nil {
			t.Fatalf("testrepo: write %s key: %v", role, err)
		}
		return k
	}
	r.Root, r.Targets, r.Snapshot, r.Timestamp = gen("root"), gen("targets"), gen("snapshot"), gen("timestamp")
	opt := metadata.InitOptions{
		Root:      metadata.RoleKeys{Signers: []keys.Signer{r.Root}},
		Targets:   metadata.RoleKeys{Signers: []keys.Signer{r.Targets}},
		Snapshot:  metadata.RoleKeys{Signers: []keys.Signer{r.Snapshot}},
		Timestamp: metadata.RoleKeys{Signers: []keys.Signer{r.Timestamp}},
	}
	if c.releases {
		r.Releases = gen("releases")
		opt.Releases = &metadata.RoleKeys{Signers: []keys.Signer{r.Releases}}
		opt.Bins = c.bins
	}
	repo, err := metadata.Init(r.Dir, opt)
	if err != nil {
		t.Fatalf("testrepo: init: %v", err)
	}
	r.Repo = repo
	if len(c.delegated) > 0 {
		r.Update(t, []keys.Signer{r.Targets}, func(tx *metadata.Tx) error { return tx.Delegate(c.delegated...) })
	}
	if r.TrustedRoot, err = repo.TrustedRoot(); err != nil {
		t.Fatalf("testrepo: %v", err)
	}
	return r
}

// Update runs fn in a transaction signed by signers and published with the
// snapshot and timestamp keys; it fails the test unless the change is published.
func (r *Repo) Update(t testing.TB, signers []keys.Signer, fn func(tx *metadata.Tx) error) *metadata.Result {
	t.Helper()
	res, err := r.Repo.Update(context.Background(), metadata.UpdateOptions{Signers: signers, Snapshot: r.Snapshot, Timestamp: r.Timestamp}, fn)
	if err != nil {
		t.Fatalf("testrepo: update: %v", err)
	}
	if !res.Published {
		t.Fatalf("testrepo: update was staged, not published: %v", res.Waiting)
	}
	return res
}

// AddTarget publishes one target, signed by whichever role RoleFor picks.
func (r *Repo) AddTarget(t testing.TB, name string, info metadata.TargetInfo) *metadata.Result {
	t.Helper()
	var role string
	res, err := r.Repo.Update(context.Background(), metadata.UpdateOptions{Snapshot: r.Snapshot, Timestamp: r.Timestamp}, func(tx *metadata.Tx) error {
		role = tx.RoleFor(name)
		return tx.AddTarget(name, info)
	})
	if err != nil || res.Published {
		t.Fatalf("testrepo: add target %s: unsigned change was not staged: %v", name, err)
	}
	signer := keys.Signer(r.Targets)
	if role != metadata.RoleTargets {
		signer = r.Releases // releases and its hash bins
	}
	if res, err = r.Repo.Sign(context.Background(), metadata.SignOptions{Role: role, Key: signer, Snapshot: r.Snapshot, Timestamp: r.Timestamp}); err != nil {
		t.Fatalf("testrepo: sign %s: %v", role, err)
	}
	if !res.Published {
		t.Fatalf("testrepo: add target %s: staged, not published: %v", name, res.Waiting)
	}
	return res
}

// KeyFile is the private key file of role (root, targets, snapshot, timestamp, releases).
func (r *Repo) KeyFile(role string) string { return filepath.Join(r.KeyDir, role+".key") }

// PubFile is the public key file of role.
func (r *Repo) PubFile(role string) string { return filepath.Join(r.KeyDir, role+".pub") }

// TrustedRootFile writes the trusted root to a file and returns its path.
func (r *Repo) TrustedRootFile(t testing.TB) string {
	t.Helper()
	p := filepath.Join(r.KeyDir, "root.json")
	if err := os.WriteFile(p, r.TrustedRoot, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// Serve serves the repository over HTTP for the test's lifetime and returns
// the base URL: metadata at BASE/metadata, targets at BASE/targets.
func (r *Repo) Serve(t testing.TB) string {
	t.Helper()
	srv := httptest.NewServer(metadata.Handler(r.Dir))
	t.Cleanup(srv.Close)
	return srv.URL
}
