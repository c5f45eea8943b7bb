package metadata

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"time"

	tuf "github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/keys"
)

// RoleKeys describes one role's keys at init.
type RoleKeys struct {
	// Signers are keys that sign now; their public keys are listed.
	Signers []keys.Signer
	// PublicKeys are listed keys whose signatures come later (repo sign).
	PublicKeys []*keys.PublicKey
	// Threshold is the number of unique keys that must sign; 0 means 1.
	Threshold int
	// Expires is how long the role's metadata stays valid; 0 means the default.
	Expires time.Duration
}

// InitOptions configures a new repository.
type InitOptions struct {
	Root, Targets, Snapshot, Timestamp RoleKeys
	// Releases, when set, delegates from targets to the terminating
	// "releases" role (the online CI key that signs versions).
	Releases *RoleKeys
	// Bins, when not 0, makes releases delegate every target to this many
	// hash-bin roles (releases-bin-0 ...; a power of two up to MaxBins),
	// signed by the releases keys, so that a release rewrites one small bin
	// instead of one large role.
	Bins int
}

// Init creates a repository in dir (which must not hold one yet) and
// publishes version 1 of every role when all thresholds are met by the
// signers given; otherwise the metadata waits in DIR/staged/ for Sign.
// Nothing is written when the options are refused.
func Init(dir string, opts InitOptions) (*Repository, error) {
	return initRepo(context.Background(), dir, opts, time.Now)
}

// initRole is one role Init lists keys for, with the options that give them.
type initRole struct {
	name string
	rk   *RoleKeys
}

// initMetadata is version 1 of the metadata Init writes before signing:
// the repository's config, root listing the top-level keys, and targets
// (with the releases delegation when asked for).
type initMetadata struct {
	cfg     *config
	root    *tuf.Metadata[tuf.RootType]
	targets *tuf.Metadata[tuf.TargetsType]
}

// initRepo creates a repository in stages: refuse bad options and an
// existing repository before anything is written, build version 1 of every
// role, create the directory layout under the lock, sign with the keys
// given, then publish (or stage) through finish.
func initRepo(ctx context.Context, dir string, opts InitOptions, now func() time.Time) (*Repository, error) {
	if err := checkInitDir(dir); err != nil {
		return nil, err
	}
	roles := initRoles(&opts)
	bitLength, err := checkInitBins(opts)
	if err != nil {
		return nil, err
	}
	t := now().UTC().Truncate(time.Second)
	md, err := newInitMetadata(roles, t)
	if err != nil {
		return nil, err
	}
	// Two inits of one directory at once: the lock serializes them and the
	// second finds the first's repository.
	l, err := lockNewRepository(ctx, dir)
	if err != nil {
		return nil, err
	}
	defer l.release()
	if err := createLayout(dir, md.cfg); err != nil {
		return nil, err
	}
	st := newInitState(dir, t, md, opts.Releases != nil, bitLength)
	snapSigner, tsSigner, err := st.signInitRoles(ctx, roles)
	if err != nil {
		return nil, err
	}
	if _, err := st.finish(ctx, finishOpts{snapshot: snapSigner, timestamp: tsSigner}); err != nil {
		return nil, err
	}
	st.saveSummaries()
	return &Repository{dir: dir, now: now}, nil
}

// checkInitDir refuses a directory path that is empty, names a file, cannot
// be read, or already holds a repository.
func checkInitDir(dir string) error {
	if dir == "" {
		return fault.Inputf("repository directory: empty path")
	}
	if st, err := os.Stat(dir); err == nil && !st.IsDir() {
		return fault.Inputf("repository %s: exists and is not a directory", dir)
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fault.Inputf("repository %s: %w", dir, err)
	}
	return checkNoRepository(dir)
}

// initRoles lists the roles Init creates, top-level roles first, then
// releases when its keys are given.
func initRoles(opts *InitOptions) []initRole {
	roles := []initRole{{RoleRoot, &opts.Root}, {RoleTargets, &opts.Targets}, {RoleSnapshot, &opts.Snapshot}, {RoleTimestamp, &opts.Timestamp}}
	if opts.Releases != nil {
		roles = append(roles, initRole{RoleReleases, opts.Releases})
	}
	return roles
}

// checkInitBins accepts a bin count that is 0 or a power of two, and only
// with the releases role whose keys sign the bins; it returns the bit
// length of the succinct delegation.
func checkInitBins(opts InitOptions) (int, error) {
	bitLength, err := checkBins(opts.Bins)
	if err != nil {
		return 0, err
	}
	if opts.Bins != 0 && opts.Releases == nil {
		return 0, fault.Inputf("bins %d: hash bins need the releases role (give its keys)", opts.Bins)
	}
	return bitLength, nil
}

// newInitMetadata checks each role's keys, threshold and expiry, and lists
// them: top-level roles in root, releases as a delegation of targets.
func newInitMetadata(roles []initRole, t time.Time) (*initMetadata, error) {
	md := &initMetadata{
		cfg:     &config{Format: 1, Expires: map[string]string{}},
		root:    tuf.Root(t.Add(DefaultRootExpiry)),
		targets: tuf.Targets(t.Add(DefaultTargetsExpiry)),
	}
	for _, r := range roles {
		pubs, err := roleKeyList(r.name, r.rk)
		if err != nil {
			return nil, err
		}
		if err := md.setExpiry(r.name, r.rk.Expires); err != nil {
			return nil, err
		}
		threshold := r.rk.Threshold
		if threshold == 0 {
			threshold = 1
		}
		if r.name == RoleReleases {
			delegateReleases(md.targets, pubs, threshold)
			continue
		}
		listRootKeys(md.root, r.name, pubs, threshold)
	}
	return md, nil
}

// setExpiry records a role's expiry period in the config (0 keeps the
// default; a negative one is refused).
func (md *initMetadata) setExpiry(role string, d time.Duration) error {
	if d < 0 {
		return fault.Inputf("role %s: expiry %s is negative", role, d)
	}
	if d > 0 {
		md.cfg.Expires[role] = d.String()
	}
	return nil
}

// delegateReleases makes targets delegate to the terminating releases role
// with its keys and threshold (no paths yet: repo delegate adds them).
func delegateReleases(targets *tuf.Metadata[tuf.TargetsType], pubs []*keys.PublicKey, threshold int) {
	ids := make([]string, 0, len(pubs))
	if targets.Signed.Delegations == nil {
		targets.Signed.Delegations = &tuf.Delegations{Keys: map[string]*tuf.Key{}}
	}
	for _, pk := range pubs {
		targets.Signed.Delegations.Keys[pk.ID()] = pk.TUFKey()
		ids = append(ids, pk.ID())
	}
	targets.Signed.Delegations.Roles = []tuf.DelegatedRole{{
		Name: RoleReleases, KeyIDs: ids, Threshold: threshold, Terminating: true, Paths: []string{},
	}}
}

// listRootKeys lists a top-level role's keys and threshold in root.
func listRootKeys(root *tuf.Metadata[tuf.RootType], role string, pubs []*keys.PublicKey, threshold int) {
	root.Signed.Roles[role].Threshold = threshold
	for _, pk := range pubs {
		root.Signed.Keys[pk.ID()] = pk.TUFKey()
		root.Signed.Roles[role].KeyIDs = append(root.Signed.Roles[role].KeyIDs, pk.ID())
	}
}

// lockNewRepository creates dir and takes its write lock.
func lockNewRepository(ctx context.Context, dir string) (*lock, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fault.Inputf("repository %s: %w", dir, err)
	}
	return acquire(ctx, dir, true)
}

// createLayout checks again, under the lock, that dir holds no repository,
// then creates metadata/, targets/, staged/ and the config file.
func createLayout(dir string, cfg *config) error {
	if err := checkNoRepository(dir); err != nil {
		return err
	}
	for _, d := range []string{filepath.Join(dir, metadataDir), filepath.Join(dir, targetsDir), filepath.Join(dir, stagedDir)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fault.Inputf("repository %s: %w", dir, err)
		}
	}
	if err := writeConfig(dir, cfg); err != nil {
		return fault.Inputf("repository %s: %w", dir, err)
	}
	return nil
}

// newInitState is the working state of a new repository: root, targets and
// (when asked for) releases and its hash bins, all staged as version 1 with
// the configured expiries.
func newInitState(dir string, t time.Time, md *initMetadata, releases bool, bitLength int) *state {
	st := newState(dir, md.cfg, t)
	md.root.Signed.Expires = st.expires(RoleRoot)
	md.targets.Signed.Expires = st.expires(RoleTargets)
	st.root, st.rootStaged, st.rootDirty = md.root, true, true
	st.stageNewRole(RoleTargets, md.targets)
	if releases {
		rel := tuf.Targets(st.expires(RoleReleases))
		st.stageNewRole(RoleReleases, rel)
		if bitLength > 0 {
			st.stageBins(rel, md.targets.Signed.Delegations.Roles[0], md.targets.Signed.Delegations.Keys, bitLength)
		}
	}
	return st
}

// stageNewRole adds version 1 of a targets-like role to the working state.
func (st *state) stageNewRole(name string, md *tuf.Metadata[tuf.TargetsType]) {
	st.roles[name] = &targetsRole{name: name, md: md, staged: true, dirty: true}
	st.stagedSet[name] = true
}

// stageBins makes releases delegate every target to its hash bins, signed
// by the releases keys and threshold, and stages an empty version 1 of each.
func (st *state) stageBins(rel *tuf.Metadata[tuf.TargetsType], releases tuf.DelegatedRole, delegKeys map[string]*tuf.Key, bitLength int) {
	binKeys := map[string]*tuf.Key{}
	for _, id := range releases.KeyIDs {
		binKeys[id] = delegKeys[id]
	}
	rel.Signed.Delegations = succinctDelegation(binKeys, releases.KeyIDs, releases.Threshold, bitLength)
	for _, b := range binsOf(rel) {
		st.stageNewRole(b, tuf.Targets(st.expires(b)))
	}
}

// signInitRoles signs version 1 of root and the targets-like roles with the
// signers given, and returns the snapshot and timestamp signers for finish.
func (st *state) signInitRoles(ctx context.Context, roles []initRole) (snap, ts keys.Signer, err error) {
	for _, r := range roles {
		for _, s := range r.rk.Signers {
			switch r.name {
			case RoleSnapshot:
				snap = s
			case RoleTimestamp:
				ts = s
			case RoleRoot:
				err = st.signInitRoot(ctx, s)
			default:
				err = st.signInitTargets(ctx, r.name, s)
			}
			if err != nil {
				return nil, nil, err
			}
		}
	}
	return snap, ts, nil
}

// signInitRoot adds one root key's signature to the new root.
func (st *state) signInitRoot(ctx context.Context, s keys.Signer) error {
	spec, _ := rootSpec(st.root, RoleRoot)
	return addSignature(ctx, spec, st.root.Signed, &st.root.Signatures, s)
}

// signInitTargets signs a new targets-like role with s; a releases key also
// signs the hash bins, which share its keys.
func (st *state) signInitTargets(ctx context.Context, role string, s keys.Signer) error {
	names := []string{role}
	if role == RoleReleases {
		names = append(names, binsOf(st.roles[RoleReleases].md)...)
	}
	for _, n := range names {
		spec, err := st.spec(n)
		if err != nil {
			return err
		}
		if err := signRole(ctx, spec, st.roles[n], s); err != nil {
			return err
		}
	}
	return nil
}

// roleKeyList validates one role's keys: at least one, a threshold between 1
// and the number of unique keys.
func roleKeyList(role string, rk *RoleKeys) ([]*keys.PublicKey, error) {
	var pubs []*keys.PublicKey
	for _, s := range rk.Signers {
		if s == nil || s.Public() == nil {
			return nil, fault.Inputf("role %s: a nil signer", role)
		}
		pubs = append(pubs, s.Public())
	}
	for _, pk := range rk.PublicKeys {
		if pk == nil {
			return nil, fault.Inputf("role %s: a nil public key", role)
		}
		pubs = append(pubs, pk)
	}
	if len(pubs) == 0 {
		return nil, fault.Inputf("role %s: no keys given", role)
	}
	unique := uniqueKeys(pubs)
	if err := checkThreshold(role, rk.Threshold, len(unique), true); err != nil {
		return nil, err
	}
	return unique, nil
}

// uniqueKeys drops repeated public keys, keeping the first of each: a
// threshold counts unique keys.
func uniqueKeys(pubs []*keys.PublicKey) []*keys.PublicKey {
	var unique []*keys.PublicKey
	for _, pk := range pubs {
		if !slices.ContainsFunc(unique, func(u *keys.PublicKey) bool { return u.Equal(pk) }) {
			unique = append(unique, pk)
		}
	}
	return unique
}

// checkThreshold refuses thresholds below 1 (0 allowed as "default 1" when
// zeroDefault) or above the number of unique keys.
func checkThreshold(role string, threshold, unique int, zeroDefault bool) error {
	if threshold < 0 || (threshold == 0 && !zeroDefault) {
		return fault.Inputf("role %s: threshold %d: a threshold must be at least 1", role, threshold)
	}
	if threshold == 0 {
		threshold = 1
	}
	if threshold > unique {
		return fault.Inputf("role %s: threshold %d is above the %d unique key(s) it has: it could never be met", role, threshold, unique)
	}
	return nil
}

func checkNoRepository(dir string) error {
	for _, p := range []string{filepath.Join(dir, configFile), filepath.Join(dir, metadataDir), filepath.Join(dir, stagedDir)} {
		if exists(p) {
			return fault.Inputf("repository %s: %s already exists; refusing to initialize over an existing repository", dir, p)
		}
	}
	return nil
}
