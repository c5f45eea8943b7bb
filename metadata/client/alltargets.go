package client

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"sort"
	"strconv"

	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/theupdateframework/go-tuf/v2/metadata"
	"github.com/theupdateframework/go-tuf/v2/metadata/trustedmetadata"
)

// Bounds of AllTargets: a repository listing more is refused rather than
// half indexed.
const (
	// MaxAllTargetsRoles is the most targets roles (top-level targets,
	// delegated roles and hash bins together) AllTargets loads.
	MaxAllTargetsRoles = 10000
	// MaxAllTargets is the most target entries AllTargets reads.
	MaxAllTargets = 1000000
	// MaxAllTargetsBytes is the most delegated-role metadata, in bytes,
	// AllTargets reads in one call (each role is also capped by
	// Limits.Delegated).
	MaxAllTargetsBytes = 512 << 20
)

// AllTargets returns every target the trusted metadata authorises, sorted
// by name: those of the top-level targets role and of every delegated role
// (releases, hash bins, ...), refreshing first if needed.
//
// Every delegated role is loaded as the TUF client workflow loads it (length,
// hashes and version from the trusted snapshot, a threshold of signatures by
// the delegating role's keys, expiry against the reference time, the size
// cap of delegated roles), and a role that fails to load fails the call
// (with the classified error naming it). A target is included only when the
// TUF lookup of its name (Target) would return that very entry: a role
// listing a name outside its delegated paths, or shadowed by an earlier or
// terminating delegation, or reached through a delegation whose keys did not
// sign it, contributes nothing. Loading stops with a Denied error beyond
// MaxAllTargetsRoles roles, MaxAllTargets entries or MaxAllTargetsBytes of
// delegated metadata.
//
// The roles AllTargets loads are its own: they do not change what Target
// and Download of this Client see. With a cache (CacheDir or MetadataDir),
// a delegated role is read from it when the cached copy is the version the
// trusted snapshot lists and passes every check, and a downloaded one is
// stored there, so repeated listings (a service refreshing) download only
// the roles that changed.
func (c *Client) AllTargets(ctx context.Context) ([]TargetInfo, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.refreshLocked(ctx); err != nil {
		return nil, err
	}
	tm := c.up.GetTrustedMetadataSet()
	// A private copy of the loaded roles: UpdateDelegatedTargets adds to it.
	tm.Targets = maps.Clone(tm.Targets)
	if tm.Targets[metadata.TARGETS] == nil {
		return nil, fault.Deniedf("no trusted top-level targets role at %s", c.location)
	}
	var order []string
	err := c.runTUF(ctx, "listing every target at "+c.location, func() error {
		var err error
		order, err = c.loadAllRoles(&tm)
		return err
	})
	if err != nil {
		return nil, err
	}
	var out []TargetInfo
	entries := 0
	memo := map[delegationEdge]error{}
	for _, role := range order {
		md := tm.Targets[role]
		entries += len(md.Signed.Targets)
		if entries > MaxAllTargets {
			return nil, fault.Deniedf("metadata at %s lists more than %d targets (role %s and before): refusing to index them", c.location, MaxAllTargets, role)
		}
		for name, tf := range md.Signed.Targets {
			if tf == nil {
				continue // refused by checkStructure; never reached
			}
			got, err := c.checkDelegationPathIn(name, tf, tm, memo)
			if err != nil || got != role {
				continue // the lookup of name would not return this entry
			}
			info, err := targetInfo(name, tf, role)
			if err != nil {
				return nil, err
			}
			out = append(out, *info)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// allTargetsBytes is MaxAllTargetsBytes (tests lower it).
var allTargetsBytes int64 = MaxAllTargetsBytes

// loadAllRoles loads every role reachable from the top-level targets role,
// each through the first delegation that reaches it in pre-order, and
// returns the role names in that order (targets first).
func (c *Client) loadAllRoles(tm *trustedmetadata.TrustedMetadata) ([]string, error) {
	type edge struct{ role, parent string }
	order := []string{metadata.TARGETS}
	seen := map[string]bool{metadata.TARGETS: true}
	budget := allTargetsBytes
	var stack []edge
	push := func(parent string, md *metadata.Metadata[metadata.TargetsType]) error {
		children, err := delegatedRoles(parent, md.Signed.Delegations, MaxAllTargetsRoles-len(seen))
		if err != nil {
			return err
		}
		for i := len(children) - 1; i >= 0; i-- {
			stack = append(stack, edge{children[i], parent})
		}
		return nil
	}
	if err := push(metadata.TARGETS, tm.Targets[metadata.TARGETS]); err != nil {
		return nil, err
	}
	for len(stack) > 0 {
		e := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[e.role] {
			continue
		}
		if len(seen) >= MaxAllTargetsRoles {
			return nil, fault.Deniedf("metadata at %s delegates to more than %d roles: refusing to load them all", c.location, MaxAllTargetsRoles)
		}
		seen[e.role] = true
		md, err := c.loadRole(tm, e.role, e.parent, &budget)
		if err != nil {
			return nil, err
		}
		order = append(order, e.role)
		if err := push(e.role, md); err != nil {
			return nil, err
		}
	}
	return order, nil
}

// delegatedRoles lists the roles parent delegates to, in order: named roles,
// or hash bins when there are at most room of them.
func delegatedRoles(parent string, d *metadata.Delegations, room int) ([]string, error) {
	if d == nil {
		return nil, nil
	}
	if d.Roles != nil {
		children := make([]string, 0, len(d.Roles))
		for _, r := range d.Roles {
			children = append(children, r.Name)
		}
		return children, nil
	}
	sr := d.SuccinctRoles
	if sr == nil {
		return nil, nil
	}
	if sr.BitLength < 1 || sr.BitLength > 32 {
		return nil, fault.Deniedf("role %s delegates hash bins with bit_length %d: it must be 1 to 32", parent, sr.BitLength)
	}
	if n := int64(1) << sr.BitLength; n > int64(room) {
		return nil, fault.Deniedf("role %s delegates %d hash bins: more than the %d roles allowed", parent, n, MaxAllTargetsRoles)
	}
	return sr.GetRoles(), nil
}

// loadRole downloads and verifies delegated role, delegated by parent, into
// tm, as go-tuf's updater does (a role already in tm is reused, as go-tuf
// does; checkDelegationPathIn re-verifies every edge).
// budget is what remains of MaxAllTargetsBytes; it is charged with the
// size of every role read.
func (c *Client) loadRole(tm *trustedmetadata.TrustedMetadata, role, parent string, budget *int64) (*metadata.Metadata[metadata.TargetsType], error) {
	if md := tm.Targets[role]; md != nil {
		return md, nil
	}
	meta := tm.Snapshot.Signed.Meta[role+".json"]
	if meta == nil {
		return nil, fault.Deniedf("role %s (delegated by %s) is not listed by the trusted snapshot: metadata incomplete or mixed", role, parent)
	}
	if md, n := c.cachedRole(tm, role, parent); md != nil {
		*budget -= n
		return md, nil
	}
	if *budget <= 0 {
		return nil, fault.Deniedf("metadata at %s: the delegated roles up to %s exceed %d bytes in all: refusing to read more", c.location, role, allTargetsBytes)
	}
	length := meta.Length
	if length <= 0 {
		length = c.limits.Delegated
	}
	data, err := c.adapter.DownloadFile(tufBase+"/"+roleFileName(tm, role, meta.Version), min(length, *budget), 0)
	if err != nil {
		return nil, err
	}
	*budget -= int64(len(data))
	md, err := tm.UpdateDelegatedTargets(data, role, parent)
	if err != nil {
		return nil, err // classified by runTUF (tufError)
	}
	if err := c.cacheRole(role, md.Signed.Version, data); err != nil {
		return nil, err
	}
	return md, nil
}

// roleFileName is the file name of version of role in the repository:
// prefixed with the version under consistent snapshots.
func roleFileName(tm *trustedmetadata.TrustedMetadata, role string, version int64) string {
	file := roleFile(role) + ".json"
	if tm.Root.Signed.ConsistentSnapshot {
		file = strconv.FormatInt(version, 10) + "." + file
	}
	return file
}

// cacheRole stores an accepted delegated role in the cache, if any: the next
// client (e.g. after a service's refresh) reads it from the cache while the
// snapshot still lists this version.
func (c *Client) cacheRole(role string, version int64, data []byte) error {
	if c.cache == nil || !cacheableRole(role) {
		return nil
	}
	return c.cache.saveRole(role, version, data, nil)
}

// cachedRole loads role from the cache when the cached copy passes every
// check a downloaded one must pass (the version the trusted snapshot lists,
// its length and hashes, the delegating role's keys, expiry), as go-tuf's
// updater does with its local metadata; otherwise it returns nil.
func (c *Client) cachedRole(tm *trustedmetadata.TrustedMetadata, role, parent string) (md *metadata.Metadata[metadata.TargetsType], size int64) {
	if c.cache == nil || !cacheableRole(role) {
		return nil, 0
	}
	p := filepath.Join(c.cache.metadataDir(), roleFile(role)+".json")
	if st, err := os.Lstat(p); err != nil || !st.Mode().IsRegular() || st.Size() > c.limits.Delegated {
		return nil, 0
	}
	data, err := os.ReadFile(p)
	if err != nil || int64(len(data)) > c.limits.Delegated || checkStructure(role, data) != nil {
		return nil, 0
	}
	defer func() {
		if recover() != nil {
			md, size = nil, 0
		}
	}()
	if md, err = tm.UpdateDelegatedTargets(data, role, parent); err != nil {
		return nil, 0
	}
	return md, int64(len(data))
}

// targetInfo converts a trusted entry.
func targetInfo(name string, tf *metadata.TargetFiles, role string) (*TargetInfo, error) {
	info := &TargetInfo{Name: name, Length: tf.Length, Hashes: map[string]string{}, Role: role}
	for alg, h := range tf.Hashes {
		info.Hashes[alg] = hex.EncodeToString(h)
	}
	if tf.Custom != nil {
		var buf bytes.Buffer
		if err := json.Compact(&buf, *tf.Custom); err != nil {
			return nil, fault.Deniedf("target %q in role %s: custom is not valid JSON: %v", name, role, err)
		}
		info.Custom = buf.Bytes()
	}
	return info, nil
}
