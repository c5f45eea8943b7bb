package metadata

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/secure-systems-lab/go-securesystemslib/cjson"
	tuf "github.com/theupdateframework/go-tuf/v2/metadata"
)

// Status describes every role of a repository.
type Status struct {
	Dir   string       `json:"dir"`
	Roles []RoleStatus `json:"roles"`
}

// RoleStatus is one role's published (or staged) metadata.
type RoleStatus struct {
	Role string `json:"role"`
	// Staged is true for metadata waiting in DIR/staged/ (not yet served).
	Staged    bool      `json:"staged"`
	Version   int64     `json:"version"`
	Expires   time.Time `json:"expires"`
	Threshold int       `json:"threshold"`
	KeyIDs    []string  `json:"keyids"`
	// Signed lists the key IDs with a valid signature; Missing the others.
	Signed  []string `json:"signed"`
	Missing []string `json:"missing"`
	// ValidKeys counts the unique public keys that signed: what the threshold
	// is compared with.
	ValidKeys int `json:"validKeys"`
	// Targets is the number of targets listed (targets-like roles only).
	Targets *int `json:"targets,omitempty"`
	// Keys describes each key ID in KeyIDs, as the metadata defines it.
	Keys []KeyInfo `json:"keys"`
}

// KeyInfo is one key a role lists: its ID, type and signature scheme.
type KeyInfo struct {
	KeyID   string `json:"keyid"`
	KeyType string `json:"keytype"`
	Scheme  string `json:"scheme"`
	// Location and Where say where the private key lives (file, token or
	// plugin, and the key reference), when the caller knows: the metadata
	// does not say, cnabsec repo status --key fills them in.
	Location string `json:"location,omitempty"`
	Where    string `json:"where,omitempty"`
}

// ThresholdMet reports whether enough unique keys signed.
func (r RoleStatus) ThresholdMet() bool { return r.Threshold >= 1 && r.ValidKeys >= r.Threshold }

// Expiring returns the published roles that expire within d of now (or have expired).
func (s *Status) Expiring(d time.Duration, now time.Time) []RoleStatus {
	var out []RoleStatus
	for _, r := range s.Roles {
		if !r.Staged && !r.Expires.After(now.Add(d)) {
			out = append(out, r)
		}
	}
	return out
}

// Status reports each role's version, expiry, threshold, keys, signatures
// and target count. Targets-like roles are summarized from DIR/cache/ when
// their files are unchanged since they were written, so status does not
// parse large targets metadata.
func (r *Repository) Status(ctx context.Context) (*Status, error) {
	var out *Status
	err := r.read(ctx, func(st *state) error {
		var err error
		out, err = r.status(st)
		return err
	})
	return out, err
}

// cacheChanged is a key of summaryCache that marks new entries to save.
const cacheChanged = "\x00changed"

// statusReport is one Status being built: the state it describes, the
// summary cache of targets-like files, and the working delegations met so
// far (each targets-like role's, for the specs of the roles it delegates to).
type statusReport struct {
	r     *Repository
	st    *state
	cache summaryCache
	out   *Status
	deleg map[string]*tuf.Delegations
}

// status lists, in this order: root (published, then staged), the
// published targets-like roles walked from targets, the staged ones,
// then snapshot and timestamp (published, then staged).
func (r *Repository) status(st *state) (*Status, error) {
	rep := &statusReport{r: r, st: st, cache: readSummaries(r.dir), out: &Status{Dir: r.dir}, deleg: map[string]*tuf.Delegations{}}
	defer saveNewSummaries(r.dir, rep.cache)
	if err := rep.addRoots(); err != nil {
		return nil, err
	}
	if err := rep.addPublishedTargets(); err != nil {
		return nil, err
	}
	if err := rep.addStagedTargets(); err != nil {
		return nil, err
	}
	if err := rep.addPublishedOnline(); err != nil {
		return nil, err
	}
	if err := rep.addStagedOnline(); err != nil {
		return nil, err
	}
	return rep.out, nil
}

// saveNewSummaries saves the summaries this status computed for the next
// one (best effort: a read-only directory only keeps status slow). Writers
// are excluded by the shared lock; two readers saving at once each write a
// complete, valid file.
func saveNewSummaries(dir string, cache summaryCache) {
	if _, ok := cache[cacheChanged]; ok {
		delete(cache, cacheChanged)
		writeSummaries(dir, cache)
	}
}

// addSigned reports one role's metadata under spec, counting the unique
// keys whose signatures verify.
func (rep *statusReport) addSigned(role string, staged bool, spec roleSpec, version int64, expires time.Time, signed any, sigs []tuf.Signature) error {
	c, err := checkSignatures(spec, signed, sigs)
	if err != nil {
		return fmt.Errorf("role %s: %w", role, err)
	}
	rep.out.Roles = append(rep.out.Roles, roleStatus(role, staged, spec, version, expires, c, nil))
	return nil
}

// addUnderRoot is addSigned for a top-level role, under the keys root lists
// for it.
func (rep *statusReport) addUnderRoot(root *tuf.Metadata[tuf.RootType], role string, staged bool, version int64, expires time.Time, signed any, sigs []tuf.Signature) error {
	spec, err := rootSpec(root, role)
	if err != nil {
		return err
	}
	return rep.addSigned(role, staged, spec, version, expires, signed, sigs)
}

// addRoots reports the published root under its own keys, then a staged
// root under its own (new) keys.
func (rep *statusReport) addRoots() error {
	st := rep.st
	if md := st.rootPub; md != nil {
		if err := rep.addUnderRoot(md, RoleRoot, false, md.Signed.Version, md.Signed.Expires, md.Signed, md.Signatures); err != nil {
			return err
		}
	}
	if !st.rootStaged {
		return nil
	}
	md := st.root
	return rep.addUnderRoot(md, RoleRoot, true, md.Signed.Version, md.Signed.Expires, md.Signed, md.Signatures)
}

// addPublishedTargets reports the published targets-like roles under their
// published delegators, starting from targets under the published root.
func (rep *statusReport) addPublishedTargets() error {
	st := rep.st
	if st.rootPub == nil || st.publishedVersion(RoleTargets) == 0 {
		return nil
	}
	spec, err := rootSpec(st.rootPub, RoleTargets)
	if err != nil {
		return err
	}
	return rep.walkPublished(RoleTargets, spec)
}

// walkPublished reports a published targets-like role under spec, then
// each published role it delegates to under what it says about them.
func (rep *statusReport) walkPublished(name string, spec roleSpec) error {
	s, err := rep.r.summaryOf(rep.cache, publishedPath(rep.r.dir, name, rep.st.publishedVersion(name)), spec)
	if err != nil {
		return err
	}
	rep.out.Roles = append(rep.out.Roles, s.status(name, false, spec))
	rep.deleg[name] = s.Deleg
	for _, child := range childRoles(s.Deleg) {
		if rep.st.publishedVersion(child) == 0 {
			continue
		}
		cs, err := delegSpec(s.Deleg, child)
		if err != nil {
			return err
		}
		if err := rep.walkPublished(child, cs); err != nil {
			return err
		}
	}
	return nil
}

// addStagedTargets reports the staged targets-like roles under the working
// (staged, else published) delegators, delegators first.
func (rep *statusReport) addStagedTargets() error {
	names := rep.st.sortedStaged()
	sort.SliceStable(names, func(i, j int) bool { return roleDepth(names[i]) < roleDepth(names[j]) })
	for _, name := range names {
		spec, listed, err := rep.stagedSpec(name)
		if err != nil {
			return err
		}
		if !listed {
			continue // its delegator no longer lists it
		}
		if err := rep.addStagedRole(name, spec); err != nil {
			return err
		}
	}
	return nil
}

// stagedSpec is what the working delegator of a staged targets-like role
// says about it: the working root for targets, else the working
// delegations of its parent; listed is false when the parent no longer
// delegates to it.
func (rep *statusReport) stagedSpec(name string) (spec roleSpec, listed bool, err error) {
	if name == RoleTargets {
		spec, err = rootSpec(rep.st.root, RoleTargets)
		return spec, err == nil, err
	}
	spec, err = delegSpec(rep.deleg[parentOf(name)], name)
	return spec, err == nil, nil
}

// addStagedRole reports one staged targets-like role, unless it is left
// over from an interrupted publication (not newer than the published one).
func (rep *statusReport) addStagedRole(name string, spec roleSpec) error {
	s, err := rep.r.summaryOf(rep.cache, stagedPath(rep.r.dir, name), spec)
	if err != nil {
		return err
	}
	if s.Version <= rep.st.publishedVersion(name) {
		return nil // left over from an interrupted publication
	}
	rep.deleg[name] = s.Deleg // the working delegations for its children
	rep.out.Roles = append(rep.out.Roles, s.status(name, true, spec))
	return nil
}

// addPublishedOnline reports the published snapshot and timestamp under
// the published root.
func (rep *statusReport) addPublishedOnline() error {
	st := rep.st
	if md := st.snapPub; md != nil {
		if err := rep.addUnderRoot(st.rootPub, RoleSnapshot, false, md.Signed.Version, md.Signed.Expires, md.Signed, md.Signatures); err != nil {
			return err
		}
	}
	if md := st.tsPub; md != nil {
		return rep.addUnderRoot(st.rootPub, RoleTimestamp, false, md.Signed.Version, md.Signed.Expires, md.Signed, md.Signatures)
	}
	return nil
}

// addStagedOnline reports a staged snapshot and timestamp under the working
// root, which must define both roles whether or not one is staged.
func (rep *statusReport) addStagedOnline() error {
	st := rep.st
	spec, err := rootSpec(st.root, RoleSnapshot)
	if err != nil {
		return err
	}
	if md := st.snapStaged; md != nil {
		if err := rep.addSigned(RoleSnapshot, true, spec, md.Signed.Version, md.Signed.Expires, md.Signed, md.Signatures); err != nil {
			return err
		}
	}
	if spec, err = rootSpec(st.root, RoleTimestamp); err != nil {
		return err
	}
	if md := st.tsStaged; md != nil {
		return rep.addSigned(RoleTimestamp, true, spec, md.Signed.Version, md.Signed.Expires, md.Signed, md.Signatures)
	}
	return nil
}

// childRoles lists the roles a delegations object names, hash bins included.
func childRoles(d *tuf.Delegations) []string {
	if d == nil {
		return nil
	}
	var out []string
	for _, r := range d.Roles {
		out = append(out, r.Name)
	}
	if d.SuccinctRoles != nil {
		out = append(out, d.SuccinctRoles.GetRoles()...)
	}
	return out
}

// summaryOf returns the summary of a targets-like file: from the cache when
// the file is unchanged and the key IDs still name the keys that verified,
// else by reading and verifying the file.
func (r *Repository) summaryOf(cache summaryCache, path string, spec roleSpec) (*summary, error) {
	fi, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, corrupted(path, errors.New("the file is missing"))
		}
		return nil, err
	}
	rel, _ := filepath.Rel(r.dir, path)
	if s, ok := cache[filepath.ToSlash(rel)]; ok && s.matches(fi) {
		return s, nil
	}
	md, _, err := readTargets(path)
	if err != nil {
		return nil, err
	}
	payload, err := cjson.EncodeCanonical(md.Signed)
	if err != nil {
		return nil, err
	}
	s := summarize(md, payload, spec, fi)
	cache[filepath.ToSlash(rel)] = s
	cache[cacheChanged] = nil
	return s, nil
}

// status turns a summary into a RoleStatus under spec, counting unique keys.
func (s *summary) status(role string, staged bool, spec roleSpec) RoleStatus {
	pks, _ := spec.publicKeys()
	var c sigCheck
	valid := map[string]bool{}
	ids := append([]string(nil), spec.keyIDs...)
	sort.Strings(ids)
	for i, id := range ids {
		if i > 0 && ids[i-1] == id {
			continue
		}
		ok := false
		if pk := pks[id]; pk != nil {
			fp := fingerprint(pk)
			for _, v := range s.Sigs {
				if v.KeyID == id && v.Fingerprint == fp {
					ok = true
					valid[fp] = true
				}
			}
		}
		if ok {
			c.Signed = append(c.Signed, id)
		} else {
			c.Missing = append(c.Missing, id)
		}
	}
	c.Valid = len(valid)
	n := s.Targets
	return roleStatus(role, staged, spec, s.Version, s.Expires, c, &n)
}

func roleStatus(role string, staged bool, spec roleSpec, version int64, expires time.Time, c sigCheck, count *int) RoleStatus {
	rs := RoleStatus{Role: role, Staged: staged, Version: version, Expires: expires, Threshold: spec.threshold,
		KeyIDs: append([]string{}, spec.keyIDs...), Signed: append([]string{}, c.Signed...), Missing: append([]string{}, c.Missing...),
		ValidKeys: c.Valid, Targets: count, Keys: keyInfos(spec)}
	return rs
}

// keyInfos describes the keys spec lists, in its order; a key ID the
// metadata does not define has no type.
func keyInfos(spec roleSpec) []KeyInfo {
	out := make([]KeyInfo, 0, len(spec.keyIDs))
	for _, id := range spec.keyIDs {
		ki := KeyInfo{KeyID: id}
		if k := spec.keys[id]; k != nil {
			ki.KeyType, ki.Scheme = k.Type, k.Scheme
		}
		out = append(out, ki)
	}
	return out
}

// DelegatorOf names the role that delegates to a targets-like role:
// releases for its hash bins, targets for the others, "" for targets.
func DelegatorOf(role string) string {
	if role == RoleTargets {
		return ""
	}
	return parentOf(role)
}
