// Package scalerepo builds the large metadata repositories the scale
// benchmarks (issue 7) measure: N synthetic version targets of one delegated
// name, spread over the releases role's TAP 15 hash bins, with generated keys
// kept beside the repository. Building 100,000 versions takes seconds, so a
// built repository is cached in $TMPDIR under a name made of its parameters,
// and every benchmark run works on a clone made of hard links (the repository
// only ever replaces files by rename, so a clone never changes the cache).
//
// The targets are deterministic (their hashes derive from a seed and the
// index); only the keys differ between machines.
package scalerepo

import (
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/cnabsec/cnabsec/internal/names"
	"github.com/cnabsec/cnabsec/keys"
	"github.com/cnabsec/cnabsec/metadata"
)

// Name is the delegated repository name every synthetic version belongs to.
const Name = "example.com/org/app"

// format changes whenever what Build writes changes, so that a stale cache
// is never reused.
const format = "v1"

// The environment of a bench-only run at another scale: the number of
// versions of the big repository (default: the caller's, 100,000) and its
// hash bins (default: the caller's, 2048).
const (
	VersionsEnv = "CNABSEC_SCALE_VERSIONS"
	BinsEnv     = "CNABSEC_SCALE_BINS"
)

// FromEnv returns the version count and bin count VersionsEnv and BinsEnv
// give, or the defaults where they are unset.
func FromEnv(defVersions, defBins int) (versions, bins int, err error) {
	versions, bins = defVersions, defBins
	if v := os.Getenv(VersionsEnv); v != "" {
		if versions, err = strconv.Atoi(v); err != nil || versions < 1 {
			return 0, 0, fmt.Errorf("%s=%q: want a positive number of versions", VersionsEnv, v)
		}
	}
	if v := os.Getenv(BinsEnv); v != "" {
		if bins, err = strconv.Atoi(v); err != nil || bins < 0 || bins > metadata.MaxBins {
			return 0, 0, fmt.Errorf("%s=%q: want a power of two up to %d", BinsEnv, v, metadata.MaxBins)
		}
	}
	return versions, bins, nil
}

// The scale benchmarks' sizes when the environment names none.
const (
	BenchVersions = 100_000
	BenchBins     = 2048
)

// BenchScale is the version and bin counts of the scale benchmarks
// (BenchVersions and BenchBins unless the environment says otherwise); a
// malformed variable panics, as befits a benchmark's set-up.
func BenchScale() (versions, bins int) {
	versions, bins, err := FromEnv(BenchVersions, BenchBins)
	if err != nil {
		panic(err)
	}
	return versions, bins
}

// BenchMetric names a metric of the big repository of n versions: name
// itself at BenchVersions (the names bench/results.json has always had),
// suffixed with the count's label otherwise (1M-vs-10).
func BenchMetric(name string, n int) string {
	if n == BenchVersions {
		return name
	}
	return name + "-" + Label(n)
}

// Label names a version count in metric names: 100k, 1M, 10.
func Label(n int) string {
	switch {
	case n >= 1_000_000 && n%1_000_000 == 0:
		return fmt.Sprintf("%dM", n/1_000_000)
	case n >= 1000 && n%1000 == 0:
		return fmt.Sprintf("%dk", n/1000)
	}
	return strconv.Itoa(n)
}

// SnapshotBytes is the size of the newest snapshot metadata file of the
// repository in dir (what every client downloads on each refresh).
func SnapshotBytes(dir string) (int64, error) {
	ents, err := os.ReadDir(filepath.Join(dir, "metadata"))
	if err != nil {
		return 0, err
	}
	best, size := -1, int64(0)
	for _, e := range ents {
		v, ok := strings.CutSuffix(e.Name(), ".snapshot.json")
		n, err := strconv.Atoi(v)
		if !ok || err != nil || n <= best {
			continue
		}
		info, err := e.Info()
		if err != nil {
			return 0, err
		}
		best, size = n, info.Size()
	}
	if best < 0 {
		return 0, fmt.Errorf("%s: no snapshot metadata", dir)
	}
	return size, nil
}

// Roles are the key names under KeyDir (ROLE.key, ROLE.pub).
var Roles = []string{"root", "targets", "snapshot", "timestamp", "releases"}

// Repo is a repository with its keys.
type Repo struct {
	// Dir is the repository directory; KeyDir holds ROLE.key and ROLE.pub.
	Dir, KeyDir string
	Repo        *metadata.Repository
	Keys        map[string]*keys.PrivateKey
	// TrustedRoot is 1.root.json.
	TrustedRoot []byte
}

// Signing returns the releases key as a signer list and the online keys.
func (r *Repo) Signing() metadata.UpdateOptions {
	return metadata.UpdateOptions{Signers: []keys.Signer{r.Keys["releases"]}, Snapshot: r.Keys["snapshot"], Timestamp: r.Keys["timestamp"]}
}

// Version returns the synthetic target name and info of version i, as the
// signer would list a 549-byte thin bundle (sha256, sha512, kind custom).
func Version(seed int64, i int) (string, metadata.TargetInfo) {
	b := []byte(fmt.Sprintf("%d/%d", seed, i))
	s256, s512 := sha256.Sum256(b), sha512.Sum512(b)
	custom, _ := json.Marshal(names.Custom{CNABSec: &names.CNABSecCustom{Kind: names.KindBundle}})
	return VersionName(i), metadata.TargetInfo{
		Length: 549,
		Hashes: map[string]string{"sha256": hex.EncodeToString(s256[:]), "sha512": hex.EncodeToString(s512[:])},
		Custom: custom,
	}
}

// VersionName is the target name of synthetic version i.
func VersionName(i int) string { return fmt.Sprintf("%s:1.0.%d", Name, i) }

// Cached returns the cached repository of n versions in bins hash bins,
// building it first when $TMPDIR holds none. The result must not be changed:
// Clone it.
func Cached(ctx context.Context, n, bins int, seed int64, logf func(string, ...any)) (*Repo, error) {
	base := filepath.Join(os.TempDir(), fmt.Sprintf("cnabsec-scalerepo-%s-n%d-bins%d-seed%d", format, n, bins, seed))
	if _, err := os.Stat(filepath.Join(base, "complete")); err == nil {
		return Open(filepath.Join(base, "repo"), filepath.Join(base, "keys"))
	}
	if logf != nil {
		logf("building a repository of %d versions in %d bins into %s (cached for later runs)", n, bins, base)
	}
	tmp, err := os.MkdirTemp(os.TempDir(), filepath.Base(base)+".tmp-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	if _, err := Build(ctx, filepath.Join(tmp, "repo"), filepath.Join(tmp, "keys"), n, bins, seed); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(tmp, "complete"), nil, 0o644); err != nil {
		return nil, err
	}
	os.RemoveAll(base) // an incomplete build left by an interrupted run
	if err := os.Rename(tmp, base); err != nil {
		return nil, err
	}
	return Open(filepath.Join(base, "repo"), filepath.Join(base, "keys"))
}

// Build generates keys into keyDir and a repository in dir with the releases
// role in bins hash bins (0: none), NAME delegated to it, and n synthetic
// versions added in one transaction.
func Build(ctx context.Context, dir, keyDir string, n, bins int, seed int64) (*Repo, error) {
	if err := os.MkdirAll(keyDir, 0o700); err != nil {
		return nil, err
	}
	r := &Repo{Dir: dir, KeyDir: keyDir, Keys: map[string]*keys.PrivateKey{}}
	for _, role := range Roles {
		k, err := keys.Generate(keys.GenEd25519)
		if err != nil {
			return nil, err
		}
		if err := keys.WriteKeyPair(filepath.Join(keyDir, role), k, nil); err != nil {
			return nil, err
		}
		r.Keys[role] = k
	}
	one := func(role string) metadata.RoleKeys { return metadata.RoleKeys{Signers: []keys.Signer{r.Keys[role]}} }
	rel := one("releases")
	repo, err := metadata.Init(dir, metadata.InitOptions{
		Root: one("root"), Targets: one("targets"), Snapshot: one("snapshot"), Timestamp: one("timestamp"),
		Releases: &rel, Bins: bins,
	})
	if err != nil {
		return nil, err
	}
	r.Repo = repo
	if err := r.Delegate(ctx, Name); err != nil {
		return nil, err
	}
	if err := r.addVersions(ctx, n, bins, seed); err != nil {
		return nil, err
	}
	if r.TrustedRoot, err = repo.TrustedRoot(); err != nil {
		return nil, err
	}
	return r, nil
}

// oneTransaction is the most versions Build adds in a single transaction.
// Above it the versions go in groups of bins, one transaction per group, so
// that a transaction holds about oneTransaction targets in memory however
// many versions the repository gets (a million in one transaction held every
// bin at once).
// (A variable so that a test can make a small build take the grouped path.)
var oneTransaction = 200_000

// addVersions adds versions 0..n-1: in one transaction up to oneTransaction,
// else one transaction per group of bins, each adding the versions whose
// bin is in its group.
func (r *Repo) addVersions(ctx context.Context, n, bins int, seed int64) error {
	groups := 1
	if n > oneTransaction && bins > 1 {
		for groups < bins && n/groups > oneTransaction/2 {
			groups *= 2
		}
	}
	for g := 0; g < groups; g++ {
		if _, err := r.Repo.Update(ctx, r.Signing(), func(tx *metadata.Tx) error {
			return addGroup(tx, n, bins, groups, g, seed)
		}); err != nil {
			return err
		}
	}
	return nil
}

// addGroup adds the versions whose bin falls in group g of groups (all of
// them when groups is 1).
func addGroup(tx *metadata.Tx, n, bins, groups, g int, seed int64) error {
	for i := 0; i < n; i++ {
		if groups > 1 && binOf(tx, VersionName(i))*groups/bins != g {
			continue
		}
		if err := tx.AddTarget(Version(seed, i)); err != nil {
			return err
		}
	}
	return nil
}

// binOf is the number of the hash bin that signs name (the hex suffix of
// releases-bin-N).
func binOf(tx *metadata.Tx, name string) int {
	role := tx.RoleFor(name)
	v, err := strconv.ParseUint(role[strings.LastIndexByte(role, '-')+1:], 16, 32)
	if err != nil {
		return 0
	}
	return int(v)
}

// Delegate lets the releases role sign versions of these names (a targets-key
// transaction, published).
func (r *Repo) Delegate(ctx context.Context, names ...string) error {
	res, err := r.Repo.Update(ctx, metadata.UpdateOptions{Signers: []keys.Signer{r.Keys["targets"]}, Snapshot: r.Keys["snapshot"], Timestamp: r.Keys["timestamp"]},
		func(tx *metadata.Tx) error { return tx.Delegate(names...) })
	if err != nil {
		return err
	}
	if !res.Published {
		return fmt.Errorf("delegate %v: staged, not published: %v", names, res.Waiting)
	}
	return nil
}

// Open opens a repository and loads its keys from keyDir.
func Open(dir, keyDir string) (*Repo, error) {
	repo, err := metadata.Open(dir)
	if err != nil {
		return nil, err
	}
	r := &Repo{Dir: dir, KeyDir: keyDir, Repo: repo, Keys: map[string]*keys.PrivateKey{}}
	for _, role := range Roles {
		k, err := keys.LoadPrivate(filepath.Join(keyDir, role+".key"), nil)
		if err != nil {
			return nil, err
		}
		r.Keys[role] = k
	}
	if r.TrustedRoot, err = repo.TrustedRoot(); err != nil {
		return nil, err
	}
	return r, nil
}

// Clone copies r into dst (which must not exist): files under metadata/ and
// targets/ as hard links (published files are only ever replaced by rename),
// everything else (settings, lock, caches, staged/) as copies. The clone
// shares r's keys.
func (r *Repo) Clone(dst string) (*Repo, error) {
	err := filepath.WalkDir(r.Dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(r.Dir, p)
		if err != nil {
			return err
		}
		out := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(out, 0o755)
		}
		top := rel
		if i := indexSep(rel); i >= 0 {
			top = rel[:i]
		}
		if top == "metadata" || top == "targets" {
			if err := os.Link(p, out); err == nil {
				return nil
			}
		}
		return copyFile(p, out)
	})
	if err != nil {
		return nil, fmt.Errorf("clone %s: %w", r.Dir, err)
	}
	return Open(dst, r.KeyDir)
}

func indexSep(p string) int {
	for i := 0; i < len(p); i++ {
		if os.IsPathSeparator(p[i]) {
			return i
		}
	}
	return -1
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, st.Mode().Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
