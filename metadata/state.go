package metadata

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/secure-systems-lab/go-securesystemslib/cjson"
	tuf "github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/cnabsec/cnabsec/internal/fault"
)

// state is one transaction's view of a repository: what is published, what is
// staged, and the working copy being changed. Targets-like roles load lazily
// so that operations that do not touch them (refresh, status) stay cheap on a
// repository with many targets.
type state struct {
	dir string
	cfg *config
	now time.Time

	rootPub    *tuf.Metadata[tuf.RootType] // latest published root; nil before the first publication
	root       *tuf.Metadata[tuf.RootType] // working root: the staged one if any, else rootPub
	rootStaged bool                        // root differs from rootPub and waits in staged/
	rootDirty  bool                        // changed by this operation

	snapPub    *tuf.Metadata[tuf.SnapshotType]
	snapStaged *tuf.Metadata[tuf.SnapshotType]
	tsPub      *tuf.Metadata[tuf.TimestampType]
	tsStaged   *tuf.Metadata[tuf.TimestampType]
	// rootSigned, snapSigned, tsSigned: signatures added to staged metadata
	// whose content did not change (repo sign).
	rootSigned, snapSigned, tsSigned bool

	roles      map[string]*targetsRole                   // loaded targets-like roles
	stagedSet  map[string]bool                           // targets-like roles with a (current) staged file
	pubRoles   map[string]*tuf.Metadata[tuf.TargetsType] // published targets-like metadata, verified
	pubPayload map[string][]byte                         // their canonical signed parts

	// pendingFiles are target files to write before any metadata.
	pendingFiles map[string][]byte
	// written are the targets-like files this operation wrote (for summaries).
	written []noted
}

// targetsRole is a targets-like role (targets, releases, ...).
type targetsRole struct {
	name       string
	md         *tuf.Metadata[tuf.TargetsType]
	pubVersion int64           // 0 when never published
	staged     bool            // md waits in staged/
	dirty      bool            // changed by this operation
	signed     bool            // signatures added without a content change (repo sign)
	payload    []byte          // canonical form of md.Signed, once its content is final
	file       []byte          // the file as written, once its signatures are final
	changed    map[string]bool // targets added or replaced by this operation
}

// bytes returns the role's file content, computed once after signing. It
// fails closed unless a client parsing the file gets back exactly what was
// signed: go-tuf verifies signatures over its re-encoding of what it parsed,
// so anything its parser drops or changes would make the role unverifiable.
// The check covers the role's own fields and the targets this operation
// added (go-tuf parses each target entry on its own); entries carried over
// passed it when they were added.
func (r *targetsRole) bytes() ([]byte, error) {
	if r.file == nil {
		probe := r.md.Signed
		probe.Targets = map[string]*tuf.TargetFiles{}
		for name := range r.changed {
			if tf, ok := r.md.Signed.Targets[name]; ok {
				probe.Targets[name] = tf
			}
		}
		if err := survivesParsing(&probe); err != nil {
			return nil, fault.Inputf("role %s: the metadata written would not verify for clients: %v", r.name, err)
		}
		b, err := r.md.ToBytes(true)
		if err != nil {
			return nil, err
		}
		r.file = b
	}
	return r.file, nil
}

// survivesParsing checks that signed re-encodes to the same canonical form
// after a round trip through go-tuf's parser.
func survivesParsing(signed *tuf.TargetsType) error {
	want, err := cjson.EncodeCanonical(signed)
	if err != nil {
		return err
	}
	b, err := json.Marshal(signed)
	if err != nil {
		return err
	}
	var back tuf.TargetsType
	if err := json.Unmarshal(b, &back); err != nil {
		return fmt.Errorf("it does not parse: %w", err)
	}
	got, err := cjson.EncodeCanonical(&back)
	if err != nil {
		return err
	}
	if !bytes.Equal(got, want) {
		return errors.New("its content changes when parsed back")
	}
	return nil
}

// canonical returns the canonical JSON of the role's signed part, computed
// once: on a role with many targets it is the costly step, and content only
// changes between markDirty and the first call.
func (r *targetsRole) canonical() ([]byte, error) {
	if r.payload == nil {
		b, err := cjson.EncodeCanonical(r.md.Signed)
		if err != nil {
			return nil, err
		}
		r.payload = b
	}
	return r.payload, nil
}

func corrupted(path string, err error) error {
	return fault.WithRemedy(fault.Inputf("corrupted metadata %s: %w", path, err),
		fault.RemedyRestoreBackup, path)
}

func readRoot(path string) (*tuf.Metadata[tuf.RootType], error) {
	b, err := readFileCapped(path)
	if err != nil {
		return nil, err
	}
	md, err := (&tuf.Metadata[tuf.RootType]{}).FromBytes(b)
	if err != nil {
		return nil, corrupted(path, err)
	}
	return md, nil
}

func readTargets(path string) (*tuf.Metadata[tuf.TargetsType], []byte, error) {
	b, err := readFileCapped(path)
	if err != nil {
		return nil, nil, err
	}
	md, err := (&tuf.Metadata[tuf.TargetsType]{}).FromBytes(b)
	if err != nil {
		return nil, nil, corrupted(path, err)
	}
	return md, b, nil
}

func readSnapshot(path string) (*tuf.Metadata[tuf.SnapshotType], []byte, error) {
	b, err := readFileCapped(path)
	if err != nil {
		return nil, nil, err
	}
	md, err := (&tuf.Metadata[tuf.SnapshotType]{}).FromBytes(b)
	if err != nil {
		return nil, nil, corrupted(path, err)
	}
	return md, b, nil
}

func readTimestamp(path string) (*tuf.Metadata[tuf.TimestampType], error) {
	b, err := readFileCapped(path)
	if err != nil {
		return nil, err
	}
	md, err := (&tuf.Metadata[tuf.TimestampType]{}).FromBytes(b)
	if err != nil {
		return nil, corrupted(path, err)
	}
	return md, nil
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// loadState reads the published and staged metadata of the repository at
// dir, verifying the published root, timestamp and snapshot. It follows a
// client's order: the root chain, then timestamp.json, then the snapshot
// it names; staged files are read after the published ones they follow.
func loadState(dir string, now time.Time) (*state, error) {
	cfg, err := readConfig(dir)
	if err != nil {
		return nil, err
	}
	st := newState(dir, cfg, now)
	if err := st.loadPublishedRoots(); err != nil {
		return nil, err
	}
	if err := st.loadStagedRoot(); err != nil {
		return nil, err
	}
	if err := st.chooseWorkingRoot(); err != nil {
		return nil, err
	}
	if err := st.loadPublishedTimestamp(); err != nil {
		return nil, err
	}
	if err := st.loadStagedOnline(); err != nil {
		return nil, err
	}
	if err := st.listStagedRoles(); err != nil {
		return nil, err
	}
	return st, nil
}

// loadPublishedRoots reads the published root chain: the highest N with
// N.root.json, each version checked against its predecessor as a client
// would.
func (st *state) loadPublishedRoots() error {
	for v := int64(1); ; v++ {
		p := publishedPath(st.dir, RoleRoot, v)
		if !exists(p) {
			return nil
		}
		md, err := readRoot(p)
		if err != nil {
			return err
		}
		if md.Signed.Version != v {
			return corrupted(p, fmt.Errorf("file name says version %d, content says %d", v, md.Signed.Version))
		}
		if err := verifyRootStep(st.rootPub, md); err != nil {
			return corrupted(p, err)
		}
		st.rootPub = md
	}
}

// loadStagedRoot reads a staged root: the next version becomes the working
// root; an older one is left over from an interrupted publication; a later
// one is refused, since published as N.root.json it would leave a gap no
// client crosses.
func (st *state) loadStagedRoot() error {
	p := stagedPath(st.dir, RoleRoot)
	if !exists(p) {
		return nil
	}
	md, err := readRoot(p)
	if err != nil {
		return err
	}
	next := int64(1)
	if st.rootPub != nil {
		next = st.rootPub.Signed.Version + 1
	}
	switch v := md.Signed.Version; {
	case v == next:
		st.root, st.rootStaged = md, true
	case v > next:
		return corrupted(p, fmt.Errorf("staged root version %d does not follow the published version %d", v, next-1))
	}
	return nil
}

// chooseWorkingRoot falls back to the published root when none is staged,
// and refuses a repository with neither.
func (st *state) chooseWorkingRoot() error {
	if st.root == nil {
		st.root = st.rootPub
	}
	if st.root == nil {
		return corrupted(filepath.Join(st.dir, metadataDir), errors.New("no root metadata (neither 1.root.json nor staged/root.json)"))
	}
	return nil
}

// loadPublishedTimestamp reads timestamp.json, verified under the published
// root, and then the snapshot it names.
func (st *state) loadPublishedTimestamp() error {
	p := publishedPath(st.dir, RoleTimestamp, 0)
	if !exists(p) {
		return nil
	}
	if st.rootPub == nil {
		return corrupted(p, errors.New("timestamp.json is published but no root is"))
	}
	ts, err := readTimestamp(p)
	if err != nil {
		return err
	}
	if err := verifyWith(st.rootPub, RoleTimestamp, ts.Signed, ts.Signatures); err != nil {
		return corrupted(p, err)
	}
	st.tsPub = ts
	mf := ts.Signed.Meta["snapshot.json"]
	if mf == nil {
		return corrupted(p, errors.New("timestamp lists no snapshot.json"))
	}
	return st.loadPublishedSnapshot(mf)
}

// loadPublishedSnapshot reads the snapshot version timestamp.json names,
// checks its length and hash against it, and verifies it under the
// published root.
func (st *state) loadPublishedSnapshot(mf *tuf.MetaFiles) error {
	sp := publishedPath(st.dir, RoleSnapshot, mf.Version)
	snap, raw, err := readSnapshot(sp)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return corrupted(sp, errors.New("the snapshot that timestamp.json names is missing"))
		}
		return err
	}
	if err := mf.VerifyLengthHashes(raw); err != nil {
		return corrupted(sp, fmt.Errorf("does not match timestamp.json: %w", err))
	}
	if err := verifyWith(st.rootPub, RoleSnapshot, snap.Signed, snap.Signatures); err != nil {
		return corrupted(sp, err)
	}
	st.snapPub = snap
	return nil
}

// loadStagedOnline reads a staged snapshot and timestamp, keeping each only
// when it is newer than the published one (an older one is left over from
// an interrupted publication).
func (st *state) loadStagedOnline() error {
	if p := stagedPath(st.dir, RoleSnapshot); exists(p) {
		md, _, err := readSnapshot(p)
		if err != nil {
			return err
		}
		if md.Signed.Version > st.snapVersion() {
			st.snapStaged = md
		}
	}
	if p := stagedPath(st.dir, RoleTimestamp); exists(p) {
		md, err := readTimestamp(p)
		if err != nil {
			return err
		}
		if st.tsPub == nil || md.Signed.Version > st.tsPub.Signed.Version {
			st.tsStaged = md
		}
	}
	return nil
}

// listStagedRoles notes which targets-like roles have a file in staged/;
// they are read when first used.
func (st *state) listStagedRoles() error {
	entries, err := os.ReadDir(filepath.Join(st.dir, stagedDir))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fault.Inputf("repository %s: %w", st.dir, err)
	}
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || strings.HasPrefix(name, ".") {
			continue
		}
		switch name {
		case RoleRoot, RoleSnapshot, RoleTimestamp:
			continue
		}
		st.stagedSet[name] = true
	}
	return nil
}

// verifyRootStep checks a new root as a client does: signed by a threshold of
// the previous root's root keys (when there is one) and of its own.
func verifyRootStep(prev, next *tuf.Metadata[tuf.RootType]) error {
	if prev != nil {
		if next.Signed.Version != prev.Signed.Version+1 {
			return fmt.Errorf("root version %d does not follow %d", next.Signed.Version, prev.Signed.Version)
		}
		if err := verifyWith(prev, RoleRoot, next.Signed, next.Signatures); err != nil {
			return fmt.Errorf("by the keys of root version %d: %w", prev.Signed.Version, err)
		}
	}
	return verifyWith(next, RoleRoot, next.Signed, next.Signatures)
}

func rootSpec(root *tuf.Metadata[tuf.RootType], role string) (roleSpec, error) {
	r, ok := root.Signed.Roles[role]
	if !ok || r == nil {
		return roleSpec{}, fmt.Errorf("root version %d defines no role %s", root.Signed.Version, role)
	}
	return roleSpec{name: role, keyIDs: r.KeyIDs, threshold: r.Threshold, keys: root.Signed.Keys}, nil
}

// verifyWith checks that signed meets the threshold root sets for role.
func verifyWith(root *tuf.Metadata[tuf.RootType], role string, signed any, sigs []tuf.Signature) error {
	spec, err := rootSpec(root, role)
	if err != nil {
		return err
	}
	return verifySpec(spec, signed, sigs)
}

func verifySpec(spec roleSpec, signed any, sigs []tuf.Signature) error {
	c, err := checkSignatures(spec, signed, sigs)
	if err != nil {
		return err
	}
	if !c.meets(spec.threshold) {
		return fmt.Errorf("role %s has valid signatures from %d unique key(s), threshold is %d", spec.name, c.Valid, spec.threshold)
	}
	return nil
}

func (st *state) snapVersion() int64 {
	if st.snapPub == nil {
		return 0
	}
	return st.snapPub.Signed.Version
}

func (st *state) tsVersion() int64 {
	if st.tsPub == nil {
		return 0
	}
	return st.tsPub.Signed.Version
}

// publishedVersion is the version of a targets-like role the published
// snapshot lists (0 if none).
func (st *state) publishedVersion(role string) int64 {
	if st.snapPub == nil {
		return 0
	}
	if mf := st.snapPub.Signed.Meta[role+".json"]; mf != nil {
		return mf.Version
	}
	return 0
}

func newState(dir string, cfg *config, now time.Time) *state {
	return &state{dir: dir, cfg: cfg, now: now, roles: map[string]*targetsRole{}, stagedSet: map[string]bool{},
		pendingFiles: map[string][]byte{}, pubRoles: map[string]*tuf.Metadata[tuf.TargetsType]{}, pubPayload: map[string][]byte{}}
}

// parentOf names the role that delegates to a targets-like role: targets
// for a top-level delegation, releases for its hash bins.
func parentOf(name string) string {
	if strings.HasPrefix(name, binPrefix+"-") {
		return RoleReleases
	}
	return RoleTargets
}

// publishedRole returns the published metadata of a targets-like role (nil
// when never published), verified against its published delegator.
func (st *state) publishedRole(name string) (*tuf.Metadata[tuf.TargetsType], error) {
	if md, ok := st.pubRoles[name]; ok {
		return md, nil
	}
	v := st.publishedVersion(name)
	if v == 0 {
		st.pubRoles[name] = nil
		return nil, nil
	}
	if r := st.roles[name]; r != nil && !r.staged && r.md.Signed.Version == v {
		st.pubRoles[name] = r.md
		return r.md, nil
	}
	return st.readPublishedRole(name, v)
}

// readPublishedRole reads version v of a targets-like role, checks it is
// the file the published snapshot lists (length, hashes, version), and
// verifies its signatures; it keeps the metadata and its signed bytes.
func (st *state) readPublishedRole(name string, v int64) (*tuf.Metadata[tuf.TargetsType], error) {
	p := publishedPath(st.dir, name, v)
	md, raw, err := readTargets(p)
	if err != nil {
		return nil, missingOr(p, err)
	}
	if err := st.snapPub.Signed.Meta[name+".json"].VerifyLengthHashes(raw); err != nil {
		return nil, corrupted(p, fmt.Errorf("does not match the snapshot: %w", err))
	}
	if md.Signed.Version != v {
		return nil, corrupted(p, fmt.Errorf("snapshot lists version %d, the file holds version %d", v, md.Signed.Version))
	}
	payload, err := st.verifyPublishedRole(name, raw, md.Signatures)
	if err != nil {
		return nil, corrupted(p, err)
	}
	st.pubRoles[name], st.pubPayload[name] = md, payload
	return md, nil
}

// verifyPublishedRole checks a published role's signatures over the signed
// part of its file as written (raw) against the threshold its published
// delegator sets, and returns that signed part.
func (st *state) verifyPublishedRole(name string, raw []byte, sigs []tuf.Signature) ([]byte, error) {
	spec, err := st.publishedSpec(name)
	if err != nil {
		return nil, err
	}
	payload, err := canonicalOfFile(raw)
	if err != nil {
		return nil, err
	}
	c, err := checkPayload(spec, payload, sigs)
	if err != nil {
		return nil, err
	}
	if !c.meets(spec.threshold) {
		return nil, fmt.Errorf("role %s has valid signatures from %d unique key(s), threshold is %d", name, c.Valid, spec.threshold)
	}
	return payload, nil
}

// publishedSpec is what the published delegator of a targets-like role
// says about it: the published root for targets, else its published
// parent role.
func (st *state) publishedSpec(name string) (roleSpec, error) {
	if name == RoleTargets {
		return rootSpec(st.rootPub, RoleTargets)
	}
	parent, err := st.publishedRole(parentOf(name))
	if err != nil {
		return roleSpec{}, err
	}
	return delegationSpec(parent, name)
}

// canonicalOfFile is the canonical form of a metadata file's "signed" part,
// taken from the bytes on disk (what was signed) without go-tuf's costly
// re-encoding. Every file this package writes re-encodes to the same bytes
// (see targetsRole.bytes), so a mismatch is tampering either way.
func canonicalOfFile(raw []byte) ([]byte, error) {
	var env struct {
		Signed json.RawMessage `json:"signed"`
	}
	if err := json.Unmarshal(raw, &env); err != nil {
		return nil, err
	}
	return cjson.EncodeCanonical(env.Signed)
}

func missingOr(p string, err error) error {
	if errors.Is(err, os.ErrNotExist) {
		return corrupted(p, errors.New("the snapshot lists it but the file is missing"))
	}
	return err
}

// role loads a targets-like role: its staged metadata if newer than the
// published one, else the published metadata (verified).
func (st *state) role(name string) (*targetsRole, error) {
	if r := st.roles[name]; r != nil {
		return r, nil
	}
	pubV := st.publishedVersion(name)
	r := &targetsRole{name: name, pubVersion: pubV}
	if st.stagedSet[name] {
		p := stagedPath(st.dir, name)
		md, _, err := readTargets(p)
		if err != nil {
			return nil, err
		}
		if md.Signed.Version > pubV {
			r.md, r.staged = md, true
		} else {
			delete(st.stagedSet, name) // left over from an interrupted publication
		}
	}
	if r.md == nil {
		md, err := st.publishedRole(name)
		if err != nil {
			return nil, err
		}
		if md == nil {
			return nil, fault.Inputf("repository %s has no role %s", st.dir, name)
		}
		r.md, r.payload = md, st.pubPayload[name]
	}
	st.roles[name] = r
	return r, nil
}

// delegationSpec is what a targets-like delegator says about role name.
func delegationSpec(parent *tuf.Metadata[tuf.TargetsType], name string) (roleSpec, error) {
	if parent == nil || parent.Signed.Delegations == nil {
		return roleSpec{}, fmt.Errorf("no delegation to role %s", name)
	}
	return delegSpec(parent.Signed.Delegations, name)
}

// delegSpec finds role name in a delegations object: a listed role or one
// of its succinct hash bins.
func delegSpec(d *tuf.Delegations, name string) (roleSpec, error) {
	if d == nil {
		return roleSpec{}, fmt.Errorf("no delegation to role %s", name)
	}
	for _, r := range d.Roles {
		if r.Name == name {
			return roleSpec{name: name, keyIDs: r.KeyIDs, threshold: r.Threshold, keys: d.Keys}, nil
		}
	}
	if sr := d.SuccinctRoles; sr != nil && sr.IsDelegatedRole(name) {
		return roleSpec{name: name, keyIDs: sr.KeyIDs, threshold: sr.Threshold, keys: d.Keys}, nil
	}
	return roleSpec{}, fmt.Errorf("no delegation to role %s", name)
}

// spec returns the working delegator's description of any role.
func (st *state) spec(name string) (roleSpec, error) {
	switch name {
	case RoleRoot, RoleTargets, RoleSnapshot, RoleTimestamp:
		return rootSpec(st.root, name)
	}
	t, err := st.role(parentOf(name))
	if err != nil {
		if parentOf(name) != RoleTargets {
			return roleSpec{}, fault.Inputf("unknown role %q: the repository has roles %s", name, strings.Join(st.roleNames(), ", "))
		}
		return roleSpec{}, err
	}
	spec, err := delegationSpec(t.md, name)
	if err != nil {
		return roleSpec{}, fault.Inputf("unknown role %q: the repository has roles %s", name, strings.Join(st.roleNames(), ", "))
	}
	return spec, nil
}

// delegatedNames lists the roles the working targets metadata delegates to.
func (st *state) delegatedNames() []string {
	t, err := st.role(RoleTargets)
	if err != nil || t.md.Signed.Delegations == nil {
		return nil
	}
	var out []string
	for _, d := range t.md.Signed.Delegations.Roles {
		out = append(out, d.Name)
	}
	for _, d := range t.md.Signed.Delegations.Roles {
		if d.Name != RoleReleases {
			continue
		}
		if r, err := st.role(d.Name); err == nil && r.md.Signed.Delegations != nil && r.md.Signed.Delegations.SuccinctRoles != nil {
			out = append(out, r.md.Signed.Delegations.SuccinctRoles.GetRoles()...)
		}
	}
	return out
}

func (st *state) roleNames() []string {
	names := []string{RoleRoot, RoleTargets, RoleSnapshot, RoleTimestamp}
	return append(names, st.delegatedNames()...)
}

// markDirty prepares a targets-like role for change: the next version after
// the published one, a fresh expiry, no signatures.
func (st *state) markDirty(r *targetsRole) {
	if r.dirty {
		return
	}
	if !r.staged {
		r.md = cloneTargets(r.md)
		r.md.Signed.Version = r.pubVersion + 1
	}
	r.staged, r.dirty, r.payload, r.file = true, true, nil, nil
	st.stagedSet[r.name] = true
	r.md.Signed.Expires = st.expires(r.name)
	r.md.Signatures = []tuf.Signature{}
}

// markRootDirty does the same for root.
func (st *state) markRootDirty() {
	if st.rootDirty {
		return
	}
	if !st.rootStaged {
		st.root = cloneRoot(st.root)
		st.root.Signed.Version = st.rootPub.Signed.Version + 1
	}
	st.rootStaged, st.rootDirty = true, true
	st.root.Signed.Expires = st.expires(RoleRoot)
	st.root.Signatures = []tuf.Signature{}
}

func (st *state) expires(role string) time.Time {
	return st.now.Add(st.cfg.expiry(role)).UTC().Truncate(time.Second)
}

func cloneTargets(md *tuf.Metadata[tuf.TargetsType]) *tuf.Metadata[tuf.TargetsType] {
	// Target entries are never changed in place (AddTarget replaces them),
	// so a new map of the same pointers is a safe copy; delegations are
	// small and copied deeply.
	out := &tuf.Metadata[tuf.TargetsType]{Signed: md.Signed, UnrecognizedFields: md.UnrecognizedFields,
		Signatures: append([]tuf.Signature(nil), md.Signatures...)}
	out.Signed.Targets = make(map[string]*tuf.TargetFiles, len(md.Signed.Targets))
	for k, v := range md.Signed.Targets {
		out.Signed.Targets[k] = v
	}
	if d := md.Signed.Delegations; d != nil {
		b, err := json.Marshal(d)
		if err != nil {
			panic(err) // it was parsed or built by us: it always marshals
		}
		out.Signed.Delegations = &tuf.Delegations{}
		if err := json.Unmarshal(b, out.Signed.Delegations); err != nil {
			panic(err)
		}
	}
	return out
}

func cloneRoot(md *tuf.Metadata[tuf.RootType]) *tuf.Metadata[tuf.RootType] {
	b, err := md.ToBytes(false)
	if err != nil {
		panic(err)
	}
	out, err := (&tuf.Metadata[tuf.RootType]{}).FromBytes(b)
	if err != nil {
		panic(err)
	}
	return out
}

// sortedStaged lists the staged targets-like roles, deepest delegations
// first (they must be published before their delegator).
func (st *state) sortedStaged() []string {
	var out []string
	for n := range st.stagedSet {
		out = append(out, n)
	}
	sort.Slice(out, func(i, j int) bool {
		if di, dj := roleDepth(out[i]), roleDepth(out[j]); di != dj {
			return di > dj
		}
		return out[i] < out[j]
	})
	return out
}

// roleDepth is a targets-like role's distance from root.
func roleDepth(name string) int {
	switch {
	case name == RoleTargets:
		return 1
	case parentOf(name) == RoleReleases:
		return 3
	}
	return 2
}

func sameJSON(a, b any) bool {
	x, err1 := jsonBytes(a)
	y, err2 := jsonBytes(b)
	return err1 == nil && err2 == nil && bytes.Equal(x, y)
}
