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

func (r *Repository) status(st *state) (*Status, error) {
	var err error
	out := &Status{Dir: r.dir}
	cache := readSummaries(r.dir)
	defer func() {
		// Summaries computed here are saved for the next status (best
		// effort: a read-only directory only keeps status slow). Writers are
		// excluded by the shared lock; two readers saving at once each
		// write a complete, valid file.
		if _, ok := cache[cacheChanged]; ok {
			delete(cache, cacheChanged)
			writeSummaries(r.dir, cache)
		}
	}()
	add := func(role string, staged bool, spec roleSpec, version int64, expires time.Time, signed any, sigs []tuf.Signature, count *int) error {
		c, err := checkSignatures(spec, signed, sigs)
		if err != nil {
			return fmt.Errorf("role %s: %w", role, err)
		}
		out.Roles = append(out.Roles, roleStatus(role, staged, spec, version, expires, c, count))
		return nil
	}
	if st.rootPub != nil {
		spec, err := rootSpec(st.rootPub, RoleRoot)
		if err != nil {
			return nil, err
		}
		if err := add(RoleRoot, false, spec, st.rootPub.Signed.Version, st.rootPub.Signed.Expires, st.rootPub.Signed, st.rootPub.Signatures, nil); err != nil {
			return nil, err
		}
	}
	if st.rootStaged {
		spec, err := rootSpec(st.root, RoleRoot)
		if err != nil {
			return nil, err
		}
		if err := add(RoleRoot, true, spec, st.root.Signed.Version, st.root.Signed.Expires, st.root.Signed, st.root.Signatures, nil); err != nil {
			return nil, err
		}
	}

	// Targets-like roles: published ones under their published delegators,
	// staged ones under the working (staged, else published) delegators.
	pubDeleg := map[string]*tuf.Delegations{}
	var walk func(name string, spec roleSpec) error
	walk = func(name string, spec roleSpec) error {
		s, err := r.summaryOf(cache, publishedPath(r.dir, name, st.publishedVersion(name)), spec)
		if err != nil {
			return err
		}
		out.Roles = append(out.Roles, s.status(name, false, spec))
		pubDeleg[name] = s.Deleg
		for _, child := range childRoles(s.Deleg) {
			if st.publishedVersion(child) == 0 {
				continue
			}
			cs, err := delegSpec(s.Deleg, child)
			if err != nil {
				return err
			}
			if err := walk(child, cs); err != nil {
				return err
			}
		}
		return nil
	}
	if st.rootPub != nil && st.publishedVersion(RoleTargets) > 0 {
		tspec, err := rootSpec(st.rootPub, RoleTargets)
		if err != nil {
			return nil, err
		}
		if err := walk(RoleTargets, tspec); err != nil {
			return nil, err
		}
	}
	names := st.sortedStaged()
	sort.SliceStable(names, func(i, j int) bool { return roleDepth(names[i]) < roleDepth(names[j]) })
	for _, name := range names {
		var spec roleSpec
		if name == RoleTargets {
			if spec, err = rootSpec(st.root, RoleTargets); err != nil {
				return nil, err
			}
		} else if spec, err = delegSpec(pubDeleg[parentOf(name)], name); err != nil {
			continue // its delegator no longer lists it
		}
		p := stagedPath(r.dir, name)
		s, err := r.summaryOf(cache, p, spec)
		if err != nil {
			return nil, err
		}
		if s.Version <= st.publishedVersion(name) {
			continue // left over from an interrupted publication
		}
		pubDeleg[name] = s.Deleg // the working delegations for its children
		out.Roles = append(out.Roles, s.status(name, true, spec))
	}

	for _, role := range []string{RoleSnapshot, RoleTimestamp} {
		var (
			version int64
			expires time.Time
			signed  any
			sigs    []tuf.Signature
		)
		if role == RoleSnapshot && st.snapPub != nil {
			version, expires, signed, sigs = st.snapPub.Signed.Version, st.snapPub.Signed.Expires, st.snapPub.Signed, st.snapPub.Signatures
		} else if role == RoleTimestamp && st.tsPub != nil {
			version, expires, signed, sigs = st.tsPub.Signed.Version, st.tsPub.Signed.Expires, st.tsPub.Signed, st.tsPub.Signatures
		} else {
			continue
		}
		spec, err := rootSpec(st.rootPub, role)
		if err != nil {
			return nil, err
		}
		if err := add(role, false, spec, version, expires, signed, sigs, nil); err != nil {
			return nil, err
		}
	}
	for _, role := range []string{RoleSnapshot, RoleTimestamp} {
		spec, err := rootSpec(st.root, role)
		if err != nil {
			return nil, err
		}
		if role == RoleSnapshot && st.snapStaged != nil {
			md := st.snapStaged
			err = add(role, true, spec, md.Signed.Version, md.Signed.Expires, md.Signed, md.Signatures, nil)
		} else if role == RoleTimestamp && st.tsStaged != nil {
			md := st.tsStaged
			err = add(role, true, spec, md.Signed.Version, md.Signed.Expires, md.Signed, md.Signatures, nil)
		}
		if err != nil {
			return nil, err
		}
	}
	return out, nil
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
		ValidKeys: c.Valid, Targets: count}
	return rs
}
