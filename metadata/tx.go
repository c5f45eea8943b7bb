package metadata

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"unicode"

	"github.com/secure-systems-lab/go-securesystemslib/cjson"
	tuf "github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/internal/names"
	"github.com/cnabsec/cnabsec/keys"
)

// TargetInfo describes one target as a role lists it.
type TargetInfo struct {
	// Length is the target's size in bytes.
	Length int64 `json:"length"`
	// Hashes maps algorithm (sha256, sha512) to lowercase hex; sha256 is required.
	Hashes map[string]string `json:"hashes"`
	// Custom is the target's custom object (e.g. {"in-toto": [...]}), or nil.
	Custom json.RawMessage `json:"custom,omitempty"`
	// Content, when set, is the file to publish under DIR/targets with its
	// consistent-snapshot names (one per hash). Missing hashes and a zero
	// Length are computed from it; given ones must match it.
	Content []byte `json:"-"`
}

// Target is a listed target and the role that signs it.
type Target struct {
	Name string `json:"name"`
	Role string `json:"role"`
	TargetInfo
	// Staged is true while the role's metadata waits in DIR/staged/.
	Staged bool `json:"staged,omitempty"`
}

// UpdateOptions are the keys a transaction signs with.
type UpdateOptions struct {
	// Signers are keys of the roles the change touches (targets and/or
	// releases). Each must belong to a role the transaction changes.
	Signers []keys.Signer
	// Snapshot and Timestamp publish the change; when nil it is staged.
	Snapshot, Timestamp keys.Signer
}

// Tx is one transaction on the repository's working state.
type Tx struct {
	ctx context.Context
	st  *state
}

// Update runs fn in a transaction under the repository's write lock and then
// signs each role fn changed once (version + 1), publishing the result or
// staging it. If fn returns an error nothing is written.
func (r *Repository) Update(ctx context.Context, opts UpdateOptions, fn func(tx *Tx) error) (*Result, error) {
	if fn == nil {
		return nil, fault.Inputf("update of %s: no change given", r.dir)
	}
	return r.write(ctx, func(st *state) (*Result, error) {
		if err := st.checkOnlineSigners(finishOpts{snapshot: opts.Snapshot, timestamp: opts.Timestamp}); err != nil {
			return nil, err
		}
		tx := &Tx{ctx: ctx, st: st}
		if err := fn(tx); err != nil {
			return nil, err
		}
		if err := st.signDirty(ctx, opts.Signers); err != nil {
			return nil, err
		}
		return st.finish(ctx, finishOpts{snapshot: opts.Snapshot, timestamp: opts.Timestamp})
	})
}

// signDirty signs every role changed by this operation with the signers that
// are its keys. A signer that is a key of no changed role is refused: signing
// with the wrong key is a mistake to report, not to ignore.
func (st *state) signDirty(ctx context.Context, signers []keys.Signer) error {
	dirty, err := st.dirtyRoles(ctx)
	if err != nil {
		return err
	}
	if len(dirty) == 0 {
		return nil // nothing changed: nothing to sign
	}
	for _, s := range signers {
		if s == nil {
			continue
		}
		if err := signWith(s, dirty); err != nil {
			return err
		}
	}
	return nil
}

// dirtyRole is a changed role to sign: its keys and how to sign it.
type dirtyRole struct {
	spec roleSpec
	sign func(keys.Signer) error
}

// dirtyRoles lists the changed roles: the root (once per key set a new root
// must satisfy), then the other changed roles by name.
func (st *state) dirtyRoles(ctx context.Context) ([]dirtyRole, error) {
	var dirty []dirtyRole
	if st.rootDirty {
		root := st.root
		for _, spec := range st.rootSpecs() {
			spec := spec
			dirty = append(dirty, dirtyRole{spec, func(s keys.Signer) error {
				return addSignature(ctx, spec, root.Signed, &root.Signatures, s)
			}})
		}
	}
	for _, n := range st.dirtyNames() {
		r := st.roles[n]
		spec, err := st.spec(n)
		if err != nil {
			return nil, err
		}
		dirty = append(dirty, dirtyRole{spec, func(s keys.Signer) error {
			return signRole(ctx, spec, r, s)
		}})
	}
	return dirty, nil
}

// dirtyNames are the names of the changed roles other than root, sorted.
func (st *state) dirtyNames() []string {
	names := make([]string, 0, len(st.roles))
	for n, r := range st.roles {
		if r.dirty {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names
}

// signWith signs every dirty role s is a key of, and refuses s when it is a
// key of none of them.
func signWith(s keys.Signer, dirty []dirtyRole) error {
	used := false
	for _, d := range dirty {
		if d.spec.isRoleKey(s.Public()) {
			if err := d.sign(s); err != nil {
				return err
			}
			used = true
		}
	}
	if used {
		return nil
	}
	var roles []string
	for _, d := range dirty {
		roles = append(roles, d.spec.name)
	}
	return fault.Inputf("key %s is not a key of the role(s) this change modifies: %s", s.Public().ID(), strings.Join(roles, ", "))
}

// rootSpecs are the root key sets a new root must satisfy: its own and, for
// a rotation, the published root's.
func (st *state) rootSpecs() []roleSpec {
	var out []roleSpec
	if spec, err := rootSpec(st.root, RoleRoot); err == nil {
		out = append(out, spec)
	}
	if st.rootPub != nil {
		if spec, err := rootSpec(st.rootPub, RoleRoot); err == nil {
			spec.name = "root (previous keys)"
			out = append(out, spec)
		}
	}
	return out
}

// RoleFor returns the role that signs target name: the first delegated role
// whose paths match it, else targets.
func (tx *Tx) RoleFor(name string) string { return tx.st.roleFor(name) }

func (st *state) roleFor(name string) string {
	t, err := st.role(RoleTargets)
	if err != nil || t.md.Signed.Delegations == nil {
		return RoleTargets
	}
	for _, d := range t.md.Signed.Delegations.Roles {
		if ok, _ := d.IsDelegatedPath(name); ok {
			if d.Name == RoleReleases {
				if r, err := st.role(d.Name); err == nil && r.md.Signed.Delegations != nil && r.md.Signed.Delegations.SuccinctRoles != nil {
					return r.md.Signed.Delegations.SuccinctRoles.GetRolesForTarget(name)[0].Name
				}
			}
			return d.Name
		}
	}
	return RoleTargets
}

// AddTarget lists (or replaces) target name in the role RoleFor chooses.
func (tx *Tx) AddTarget(name string, t TargetInfo) error {
	if err := checkTargetName(name); err != nil {
		return err
	}
	tf, err := targetFile(name, &t)
	if err != nil {
		return err
	}
	r, err := tx.st.role(tx.st.roleFor(name))
	if err != nil {
		return err
	}
	tx.st.markDirty(r)
	r.md.Signed.Targets[name] = tf
	if r.changed == nil {
		r.changed = map[string]bool{}
	}
	r.changed[name] = true
	if t.Content != nil {
		dir, base := path.Split(name)
		for _, h := range tf.Hashes {
			p := filepath.Join(tx.st.dir, targetsDir, filepath.FromSlash(dir), hex.EncodeToString(h)+"."+base)
			tx.st.pendingFiles[p] = t.Content
		}
	}
	return nil
}

// RemoveTarget removes target name from the role that lists it. Files under
// DIR/targets stay: older snapshots may still name them.
func (tx *Tx) RemoveTarget(name string) error {
	for _, n := range tx.st.searchRoles(name) {
		r, err := tx.st.role(n)
		if err != nil {
			return err
		}
		if _, ok := r.md.Signed.Targets[name]; ok {
			tx.st.markDirty(r)
			delete(r.md.Signed.Targets, name)
			return nil
		}
	}
	return fault.Inputf("target %q: no role of the repository lists it", name)
}

// Target looks name up in the working state the way a client searches:
// top-level targets first, then the role the delegations give it to.
func (tx *Tx) Target(name string) (Target, bool, error) {
	for _, n := range tx.st.searchRoles(name) {
		r, err := tx.st.role(n)
		if err != nil {
			return Target{}, false, err
		}
		if tf, ok := r.md.Signed.Targets[name]; ok {
			return toTarget(name, n, r.staged, tf), true, nil
		}
	}
	return Target{}, false, nil
}

// searchRoles are the roles a client looks in for name, in order.
func (st *state) searchRoles(name string) []string {
	if r := st.roleFor(name); r != RoleTargets {
		return []string{RoleTargets, r}
	}
	return []string{RoleTargets}
}

// targetRoles lists targets then its delegated roles.
func (st *state) targetRoles() []string {
	return append([]string{RoleTargets}, st.delegatedNames()...)
}

// Delegate lets the releases role sign versions of each repository name: it
// adds the paths NAME:*, NAME@* and NAME/in-toto-metadata/*/*.link
// (names.DelegationPaths) to the delegation. A name with a reserved in-toto
// path segment is refused (names.CheckRepository).
// Only the targets keys can sign this change.
func (tx *Tx) Delegate(repos ...string) error {
	if len(repos) == 0 {
		return fault.Inputf("delegate: no names given")
	}
	t, err := tx.st.role(RoleTargets)
	if err != nil {
		return err
	}
	idx := releasesIndex(t.md.Signed.Delegations)
	if idx < 0 {
		return fault.WithRemedy(fault.Inputf("repository %s has no %s role to delegate to", tx.st.dir, RoleReleases), fault.RemedyInitReleases, tx.st.dir)
	}
	add, err := newDelegationPaths(t.md.Signed.Delegations.Roles[idx].Paths, repos)
	if err != nil {
		return err
	}
	if len(add) == 0 {
		return nil // already delegated: no new version
	}
	tx.st.markDirty(t)
	d := &t.md.Signed.Delegations.Roles[idx]
	d.Paths = append(d.Paths, add...)
	return nil
}

// releasesIndex is the index of the releases role among the delegations,
// or -1.
func releasesIndex(d *tuf.Delegations) int {
	idx := -1
	if d == nil {
		return idx
	}
	for i, r := range d.Roles {
		if r.Name == RoleReleases {
			idx = i
		}
	}
	return idx
}

// newDelegationPaths checks each repository name and returns the paths
// delegating it that are not among have yet, in order.
func newDelegationPaths(have []string, repos []string) ([]string, error) {
	seen := map[string]bool{}
	for _, p := range have {
		seen[p] = true
	}
	var add []string
	for _, n := range repos {
		if err := checkDelegationName(n); err != nil {
			return nil, err
		}
		for _, p := range names.DelegationPaths(n) {
			if !seen[p] {
				add = append(add, p)
				seen[p] = true
			}
		}
	}
	return add, nil
}

// checkTargetName refuses a target name that is not a clean relative path
// with / separators, of at most 1024 bytes and without control characters.
func checkTargetName(name string) error {
	if name == "" {
		return fault.Inputf("target name: empty")
	}
	if len(name) > 1024 {
		return fault.Inputf("target name %.64q...: longer than 1024 bytes", name)
	}
	if strings.HasPrefix(name, "/") || strings.Contains(name, "\\") {
		return fault.Inputf("target name %q: must be a relative path with / separators", name)
	}
	for _, seg := range strings.Split(name, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return fault.Inputf("target name %q: empty, \".\" or \"..\" path segment", name)
		}
	}
	for _, c := range name {
		if unicode.IsControl(c) {
			return fault.Inputf("target name %q: control character", name)
		}
	}
	return nil
}

func checkDelegationName(name string) error {
	if err := checkTargetName(name); err != nil {
		return err
	}
	if strings.ContainsAny(name, ":@") && !strings.Contains(name, "/") {
		return fault.Inputf("delegate name %q: want REGISTRY/REPOSITORY without tag or digest", name)
	}
	last := name[strings.LastIndex(name, "/")+1:]
	if strings.ContainsAny(last, ":@") {
		return fault.Inputf("delegate name %q: want REGISTRY/REPOSITORY without tag or digest", name)
	}
	if _, err := path.Match(name, ""); err != nil {
		return fault.Inputf("delegate name %q: bad glob: %v", name, err)
	}
	if err := names.CheckRepository(name); err != nil {
		return fault.Inputf("delegate name %q: %w", name, err)
	}
	return nil
}

var hashSizes = map[string]int{"sha256": sha256.Size, "sha512": sha512.Size}

// targetFile builds the signed entry of target name from t: the hashes
// given, those of the content when given (which must agree), the length and
// the custom object.
func targetFile(name string, t *TargetInfo) (*tuf.TargetFiles, error) {
	hashes, err := givenHashes(name, t.Hashes)
	if err != nil {
		return nil, err
	}
	tf := &tuf.TargetFiles{Length: t.Length, Hashes: hashes, Path: name}
	if t.Content != nil {
		if err := addContent(name, t, tf); err != nil {
			return nil, err
		}
	}
	if _, ok := tf.Hashes["sha256"]; !ok {
		return nil, fault.Inputf("target %q: a sha256 hash is required", name)
	}
	if tf.Length < 0 {
		return nil, fault.Inputf("target %q: negative length %d", name, tf.Length)
	}
	if tf.Custom, err = customObject(name, t.Custom); err != nil {
		return nil, err
	}
	return tf, nil
}

// givenHashes decodes the hex hashes given for target name: sha256 and
// sha512 only, each of its full size.
func givenHashes(name string, given map[string]string) (tuf.Hashes, error) {
	hashes := tuf.Hashes{}
	for alg, h := range given {
		size, ok := hashSizes[alg]
		if !ok {
			return nil, fault.Inputf("target %q: hash algorithm %q is not supported (want sha256, sha512)", name, alg)
		}
		b, err := hex.DecodeString(h)
		if err != nil || len(b) != size {
			return nil, fault.Inputf("target %q: %s hash %q is not %d hex-encoded bytes", name, alg, h, size)
		}
		hashes[alg] = b
	}
	return hashes, nil
}

// addContent sets the hashes and length of tf from the content of t,
// refusing hashes or a length given that do not match it.
func addContent(name string, t *TargetInfo, tf *tuf.TargetFiles) error {
	s256 := sha256.Sum256(t.Content)
	s512 := sha512.Sum512(t.Content)
	for alg, want := range map[string][]byte{"sha256": s256[:], "sha512": s512[:]} {
		if got, ok := tf.Hashes[alg]; ok && hex.EncodeToString(got) != hex.EncodeToString(want) {
			return fault.Inputf("target %q: the %s hash given does not match the content", name, alg)
		}
		tf.Hashes[alg] = want
	}
	if t.Length != 0 && t.Length != int64(len(t.Content)) {
		return fault.Inputf("target %q: length %d given, the content has %d bytes", name, t.Length, len(t.Content))
	}
	tf.Length = int64(len(t.Content))
	return nil
}

// customObject is the custom object of target name as it will be signed:
// nil for none or JSON null (written as "custom": null it would be dropped
// by a client's parser and its signature would no longer verify), otherwise
// valid JSON that canonical JSON can encode (it has no floating-point
// numbers).
func customObject(name string, custom []byte) (*json.RawMessage, error) {
	c := bytes.TrimSpace(custom)
	if len(c) == 0 || bytes.Equal(c, []byte("null")) {
		return nil, nil
	}
	if !json.Valid(c) {
		return nil, fault.Inputf("target %q: custom is not valid JSON", name)
	}
	if _, err := cjson.EncodeCanonical(json.RawMessage(c)); err != nil {
		return nil, fault.Inputf("target %q: custom cannot be signed as canonical JSON: %v", name, err)
	}
	raw := json.RawMessage(append([]byte(nil), c...))
	return &raw, nil
}

func toTarget(name, role string, staged bool, tf *tuf.TargetFiles) Target {
	t := Target{Name: name, Role: role, Staged: staged, TargetInfo: TargetInfo{Length: tf.Length, Hashes: map[string]string{}}}
	for alg, h := range tf.Hashes {
		t.Hashes[alg] = hex.EncodeToString(h)
	}
	if tf.Custom != nil {
		t.Custom = append(json.RawMessage(nil), (*tf.Custom)...)
	}
	return t
}
