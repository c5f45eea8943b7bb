package metadata

import (
	"context"
	"errors"
	"os"
	"path/filepath"
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

func initRepo(ctx context.Context, dir string, opts InitOptions, now func() time.Time) (*Repository, error) {
	if dir == "" {
		return nil, fault.Inputf("repository directory: empty path")
	}
	if st, err := os.Stat(dir); err == nil && !st.IsDir() {
		return nil, fault.Inputf("repository %s: exists and is not a directory", dir)
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fault.Inputf("repository %s: %w", dir, err)
	}
	if err := checkNoRepository(dir); err != nil {
		return nil, err
	}
	roles := []struct {
		name string
		rk   *RoleKeys
	}{{RoleRoot, &opts.Root}, {RoleTargets, &opts.Targets}, {RoleSnapshot, &opts.Snapshot}, {RoleTimestamp, &opts.Timestamp}}
	if opts.Releases != nil {
		roles = append(roles, struct {
			name string
			rk   *RoleKeys
		}{RoleReleases, opts.Releases})
	}
	bitLength, err := checkBins(opts.Bins)
	if err != nil {
		return nil, err
	}
	if opts.Bins != 0 && opts.Releases == nil {
		return nil, fault.Inputf("bins %d: hash bins need the releases role (give its keys)", opts.Bins)
	}
	t := now().UTC().Truncate(time.Second)
	cfg := &config{Format: 1, Expires: map[string]string{}}
	root := tuf.Root(t.Add(DefaultRootExpiry))
	targets := tuf.Targets(t.Add(DefaultTargetsExpiry))
	listed := map[string][]*keys.PublicKey{}
	for _, r := range roles {
		pubs, err := roleKeyList(r.name, r.rk)
		if err != nil {
			return nil, err
		}
		listed[r.name] = pubs
		if r.rk.Expires < 0 {
			return nil, fault.Inputf("role %s: expiry %s is negative", r.name, r.rk.Expires)
		}
		if r.rk.Expires > 0 {
			cfg.Expires[r.name] = r.rk.Expires.String()
		}
		threshold := r.rk.Threshold
		if threshold == 0 {
			threshold = 1
		}
		if r.name == RoleReleases {
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
			continue
		}
		root.Signed.Roles[r.name].Threshold = threshold
		for _, pk := range pubs {
			root.Signed.Keys[pk.ID()] = pk.TUFKey()
			root.Signed.Roles[r.name].KeyIDs = append(root.Signed.Roles[r.name].KeyIDs, pk.ID())
		}
	}

	// Two inits of one directory at once: the lock serializes them and the
	// second finds the first's repository.
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fault.Inputf("repository %s: %w", dir, err)
	}
	l, err := acquire(ctx, dir, true)
	if err != nil {
		return nil, err
	}
	defer l.release()
	if err := checkNoRepository(dir); err != nil {
		return nil, err
	}
	for _, d := range []string{filepath.Join(dir, metadataDir), filepath.Join(dir, targetsDir), filepath.Join(dir, stagedDir)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fault.Inputf("repository %s: %w", dir, err)
		}
	}
	if err := writeConfig(dir, cfg); err != nil {
		return nil, fault.Inputf("repository %s: %w", dir, err)
	}
	repo := &Repository{dir: dir, now: now}
	st := newState(dir, cfg, t)
	root.Signed.Expires = st.expires(RoleRoot)
	targets.Signed.Expires = st.expires(RoleTargets)
	st.root, st.rootStaged, st.rootDirty = root, true, true
	st.roles[RoleTargets] = &targetsRole{name: RoleTargets, md: targets, staged: true, dirty: true}
	st.stagedSet[RoleTargets] = true
	var bins []string
	if opts.Releases != nil {
		rel := tuf.Targets(st.expires(RoleReleases))
		st.roles[RoleReleases] = &targetsRole{name: RoleReleases, md: rel, staged: true, dirty: true}
		st.stagedSet[RoleReleases] = true
		if bitLength > 0 {
			d := targets.Signed.Delegations
			keys := map[string]*tuf.Key{}
			for _, id := range d.Roles[0].KeyIDs {
				keys[id] = d.Keys[id]
			}
			rel.Signed.Delegations = succinctDelegation(keys, d.Roles[0].KeyIDs, d.Roles[0].Threshold, bitLength)
			bins = binsOf(rel)
			for _, b := range bins {
				st.roles[b] = &targetsRole{name: b, md: tuf.Targets(st.expires(b)), staged: true, dirty: true}
				st.stagedSet[b] = true
			}
		}
	}
	var snapSigner, tsSigner keys.Signer
	for _, r := range roles {
		for _, s := range r.rk.Signers {
			switch r.name {
			case RoleSnapshot:
				snapSigner = s
			case RoleTimestamp:
				tsSigner = s
			case RoleRoot:
				spec, _ := rootSpec(root, RoleRoot)
				if err := addSignature(ctx, spec, root.Signed, &root.Signatures, s); err != nil {
					return nil, err
				}
			default:
				names := []string{r.name}
				if r.name == RoleReleases {
					names = append(names, bins...)
				}
				for _, n := range names {
					tr := st.roles[n]
					spec, err := st.spec(n)
					if err != nil {
						return nil, err
					}
					if err := signRole(ctx, spec, tr, s); err != nil {
						return nil, err
					}
				}
			}
		}
	}
	if _, err := st.finish(ctx, finishOpts{snapshot: snapSigner, timestamp: tsSigner}); err != nil {
		return nil, err
	}
	st.saveSummaries()
	return repo, nil
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
	var unique []*keys.PublicKey
	for _, pk := range pubs {
		dup := false
		for _, u := range unique {
			if u.Equal(pk) {
				dup = true
			}
		}
		if !dup {
			unique = append(unique, pk)
		}
	}
	if err := checkThreshold(role, rk.Threshold, len(unique), true); err != nil {
		return nil, err
	}
	return unique, nil
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
