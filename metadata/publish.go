package metadata

import (
	"context"
	"crypto/sha256"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/secure-systems-lab/go-securesystemslib/cjson"
	tuf "github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/cnabsec/cnabsec/internal/atomicfile"
	"github.com/cnabsec/cnabsec/keys"
)

// Result says what an operation did.
type Result struct {
	// Published is true when the change is live: metadata/ holds it and
	// timestamp.json points at it.
	Published bool `json:"published"`
	// Versions maps each role written (published or staged) to its version.
	Versions map[string]int64 `json:"versions"`
	// Waiting says, one entry per role, why the change is staged.
	Waiting []Pending `json:"waiting,omitempty"`
}

// finishOpts are the online keys an operation may use to complete publication.
type finishOpts struct {
	snapshot, timestamp keys.Signer
	// force renews snapshot and timestamp even when nothing else changed.
	force bool
}

// failAfter lets tests simulate a writer killed between publication steps.
var failAfter func(step string) error

func step(name string) error {
	if failAfter != nil {
		return failAfter(name)
	}
	return nil
}

func jsonBytes(v any) ([]byte, error) { return cjson.EncodeCanonical(v) }

// checkOnlineSigners refuses snapshot or timestamp keys that are not keys of
// those roles, before anything is written.
func (st *state) checkOnlineSigners(fo finishOpts) error {
	for role, s := range map[string]keys.Signer{RoleSnapshot: fo.snapshot, RoleTimestamp: fo.timestamp} {
		if s == nil {
			continue
		}
		spec, err := st.spec(role)
		if err != nil {
			return err
		}
		if !spec.isRoleKey(s.Public()) {
			return notRoleKey(spec, s.Public())
		}
	}
	return nil
}

// finish signs what it can with the online keys and either publishes the
// whole change or stages it, explaining what is missing. The steps follow a
// client's view of a publication: every offline-signed role must meet its
// threshold and be unexpired, then a snapshot lists them, then a timestamp
// names that snapshot; the first step that falls short stages everything
// built so far.
func (st *state) finish(ctx context.Context, fo finishOpts) (*Result, error) {
	if err := st.checkOnlineSigners(fo); err != nil {
		return nil, err
	}
	res := &Result{Versions: map[string]int64{}}
	staged := st.sortedStaged()
	contentChanged, waiting, err := st.offlineWaiting(staged)
	if err != nil {
		return nil, err
	}
	if len(waiting) > 0 {
		return st.stageAll(res, waiting, contentChanged, nil, nil)
	}
	snap, needSnap := st.snapStaged, st.needSnapshot(staged, fo)
	if needSnap {
		var wait *Pending
		if snap, wait, err = st.signSnapshot(ctx, fo, staged, contentChanged); err != nil {
			return nil, err
		}
		if wait != nil {
			return st.stageAll(res, []Pending{*wait}, contentChanged, snap, nil)
		}
	}
	var snapBytes []byte
	ts := st.tsStaged
	if st.needTimestamp(needSnap, fo) {
		var wait *Pending
		if ts, snapBytes, wait, err = st.signTimestamp(ctx, fo, snap); err != nil {
			return nil, err
		}
		if wait != nil {
			return st.stageAll(res, []Pending{*wait}, contentChanged, snap, ts)
		}
	}
	return st.publish(res, staged, snap, snapBytes, ts)
}

// offlineWaiting explains, one line each, why the offline-signed part of the
// change (root and the staged targets-like roles) cannot be published yet,
// and reports whether this operation changed any content (which makes a
// staged snapshot or timestamp stale).
func (st *state) offlineWaiting(staged []string) (contentChanged bool, waiting []Pending, err error) {
	if st.rootStaged {
		if waiting, err = st.rootWaiting(); err != nil {
			return false, nil, err
		}
	}
	contentChanged, below, err := st.rolesBelowThreshold(staged)
	if err != nil {
		return false, nil, err
	}
	waiting = append(waiting, below...)
	// Roles unchanged by this operation must still verify under the working
	// root (a rotation marks the ones it invalidates dirty; this is the
	// fail-closed check that nothing was forgotten).
	if st.rootStaged {
		p, err := st.unchangedRolesVerify()
		if err != nil {
			return false, nil, err
		}
		if p != nil {
			waiting = append(waiting, *p)
		}
	}
	waiting = append(waiting, st.expiredWhileStaged(staged)...)
	return contentChanged || st.rootDirty, waiting, nil
}

// rolesBelowThreshold checks each staged targets-like role against the
// threshold its working delegator sets, and reports whether any of them was
// changed by this operation.
func (st *state) rolesBelowThreshold(staged []string) (changed bool, waiting []Pending, err error) {
	for _, n := range staged {
		r, err := st.role(n)
		if err != nil {
			return false, nil, err
		}
		if !r.staged {
			continue
		}
		changed = changed || r.dirty
		spec, err := st.spec(n)
		if err != nil {
			return false, nil, err
		}
		c, err := checkRole(spec, r)
		if err != nil {
			return false, nil, err
		}
		if !c.meets(spec.threshold) {
			waiting = append(waiting, Pending{Reason: PendingSignatures, Role: n, Version: r.md.Signed.Version, ValidKeys: c.Valid, Threshold: spec.threshold})
		}
	}
	return changed, waiting, nil
}

// expiredWhileStaged lists staged root and targets-like metadata that
// waited in staged/ past its expiry: it must not go out.
func (st *state) expiredWhileStaged(staged []string) []Pending {
	var out []Pending
	if st.rootStaged && !st.root.Signed.Expires.After(st.now) {
		out = append(out, Pending{Reason: PendingExpired, Role: RoleRoot, Version: st.root.Signed.Version, Expired: st.root.Signed.Expires})
	}
	for _, n := range staged {
		if r := st.roles[n]; r != nil && r.staged && !r.md.Signed.Expires.After(st.now) {
			out = append(out, Pending{Reason: PendingExpired, Role: n, Version: r.md.Signed.Version, Expired: r.md.Signed.Expires})
		}
	}
	return out
}

// needSnapshot reports whether this publication needs a new (or the staged)
// snapshot: a targets-like role changed, one is staged, renewal was forced,
// none was ever published, or a root rotation invalidated the published one.
func (st *state) needSnapshot(staged []string, fo finishOpts) bool {
	return len(staged) > 0 || st.snapStaged != nil || fo.force || st.snapPub == nil || st.onlineRoleInvalid(RoleSnapshot)
}

// needTimestamp is needSnapshot for the timestamp: a new snapshot always
// needs a new timestamp naming it.
func (st *state) needTimestamp(needSnap bool, fo finishOpts) bool {
	return needSnap || st.tsStaged != nil || fo.force || st.tsPub == nil || st.onlineRoleInvalid(RoleTimestamp)
}

// snapshotMeta is what the snapshot must list: the published snapshot's
// entries with each staged targets-like role's new version. Each role is
// listed with its version and exact length: clients then download no more
// than that (and go-tuf's 5 MB default cap for targets metadata without a
// length does not apply).
func (st *state) snapshotMeta(staged []string) (map[string]*tuf.MetaFiles, error) {
	desired := map[string]*tuf.MetaFiles{}
	if st.snapPub != nil {
		for k, v := range st.snapPub.Signed.Meta {
			desired[k] = &tuf.MetaFiles{Version: v.Version, Length: v.Length, Hashes: v.Hashes}
		}
	}
	for _, n := range staged {
		if r := st.roles[n]; r != nil && r.staged {
			b, err := r.bytes()
			if err != nil {
				return nil, err
			}
			desired[n+".json"] = &tuf.MetaFiles{Version: r.md.Signed.Version, Length: int64(len(b))}
		}
	}
	return desired, nil
}

// snapshotToSign returns the staged snapshot when it still lists exactly
// desired and has not expired, so that it keeps the signatures it has (a
// threshold above 1 collects them one by one); else a new snapshot version
// listing desired.
func (st *state) snapshotToSign(desired map[string]*tuf.MetaFiles, contentChanged bool, fo finishOpts) *tuf.Metadata[tuf.SnapshotType] {
	snap := st.snapStaged
	if snap == nil || contentChanged || fo.force || !snap.Signed.Expires.After(st.now) || !sameJSON(snap.Signed.Meta, desired) {
		snap = tuf.Snapshot(st.expires(RoleSnapshot))
		snap.Signed.Version = st.snapVersion() + 1
		snap.Signed.Meta = desired
		return snap
	}
	if fo.snapshot != nil {
		st.snapSigned = true
	}
	return snap
}

// signSnapshot builds the snapshot, signs it with the online snapshot key
// when one is given, and returns why it must wait when its threshold is not
// met.
func (st *state) signSnapshot(ctx context.Context, fo finishOpts, staged []string, contentChanged bool) (*tuf.Metadata[tuf.SnapshotType], *Pending, error) {
	desired, err := st.snapshotMeta(staged)
	if err != nil {
		return nil, nil, err
	}
	spec, err := st.spec(RoleSnapshot)
	if err != nil {
		return nil, nil, err
	}
	snap := st.snapshotToSign(desired, contentChanged, fo)
	c, err := signOnline(ctx, spec, snap.Signed, &snap.Signatures, fo.snapshot)
	if err != nil {
		return nil, nil, err
	}
	if !c.meets(spec.threshold) {
		return snap, &Pending{Reason: PendingSignatures, Role: RoleSnapshot, Version: snap.Signed.Version, ValidKeys: c.Valid, Threshold: spec.threshold}, nil
	}
	return snap, nil, nil
}

// timestampMeta is what the timestamp must list: the snapshot to be served
// (snap, else the published one) with its version, length and hash. It
// also returns that snapshot's file.
func (st *state) timestampMeta(snap *tuf.Metadata[tuf.SnapshotType]) (map[string]*tuf.MetaFiles, []byte, error) {
	if snap == nil {
		snap = st.snapPub
	}
	b, err := snap.ToBytes(true)
	if err != nil {
		return nil, nil, err
	}
	sum := sha256.Sum256(b)
	return map[string]*tuf.MetaFiles{"snapshot.json": {
		Version: snap.Signed.Version, Length: int64(len(b)), Hashes: tuf.Hashes{"sha256": sum[:]},
	}}, b, nil
}

// timestampToSign returns the staged timestamp when it still names the
// right snapshot and has not expired (it keeps its signatures); else a new
// timestamp version listing desired.
func (st *state) timestampToSign(desired map[string]*tuf.MetaFiles, fo finishOpts) *tuf.Metadata[tuf.TimestampType] {
	ts := st.tsStaged
	if ts == nil || fo.force || !ts.Signed.Expires.After(st.now) || !sameJSON(ts.Signed.Meta, desired) {
		ts = tuf.Timestamp(st.expires(RoleTimestamp))
		ts.Signed.Version = st.tsVersion() + 1
		ts.Signed.Meta = desired
		return ts
	}
	if fo.timestamp != nil {
		st.tsSigned = true
	}
	return ts
}

// signTimestamp builds the timestamp naming snap (else the published
// snapshot), signs it with the online timestamp key when one is given, and
// returns the snapshot's file and why the timestamp must wait when its
// threshold is not met.
func (st *state) signTimestamp(ctx context.Context, fo finishOpts, snap *tuf.Metadata[tuf.SnapshotType]) (*tuf.Metadata[tuf.TimestampType], []byte, *Pending, error) {
	desired, snapBytes, err := st.timestampMeta(snap)
	if err != nil {
		return nil, nil, nil, err
	}
	spec, err := st.spec(RoleTimestamp)
	if err != nil {
		return nil, nil, nil, err
	}
	ts := st.timestampToSign(desired, fo)
	c, err := signOnline(ctx, spec, ts.Signed, &ts.Signatures, fo.timestamp)
	if err != nil {
		return nil, nil, nil, err
	}
	if !c.meets(spec.threshold) {
		return ts, snapBytes, &Pending{Reason: PendingSignatures, Role: RoleTimestamp, Version: ts.Signed.Version, ValidKeys: c.Valid, Threshold: spec.threshold}, nil
	}
	return ts, snapBytes, nil, nil
}

// signOnline adds the online key's signature (when one is given) to
// snapshot or timestamp metadata and counts the valid signatures it has.
func signOnline(ctx context.Context, spec roleSpec, signed any, sigs *[]tuf.Signature, s keys.Signer) (sigCheck, error) {
	if s != nil {
		if err := addSignature(ctx, spec, signed, sigs, s); err != nil {
			return sigCheck{}, err
		}
	}
	return checkSignatures(spec, signed, *sigs)
}

// rootWaiting explains what a staged root lacks: a threshold of its own root
// keys and, for a rotation, of the previous root's.
func (st *state) rootWaiting() ([]Pending, error) {
	spec, err := rootSpec(st.root, RoleRoot)
	if err != nil {
		return nil, err
	}
	c, err := checkSignatures(spec, st.root.Signed, st.root.Signatures)
	if err != nil {
		return nil, err
	}
	var out []Pending
	v := st.root.Signed.Version
	if !c.meets(spec.threshold) {
		out = append(out, Pending{Reason: PendingSignatures, Role: RoleRoot, Version: v, ValidKeys: c.Valid, Threshold: spec.threshold, NewRootKeys: true})
	}
	if st.rootPub != nil {
		old, err := rootSpec(st.rootPub, RoleRoot)
		if err != nil {
			return nil, err
		}
		c, err := checkSignatures(old, st.root.Signed, st.root.Signatures)
		if err != nil {
			return nil, err
		}
		if !c.meets(old.threshold) {
			out = append(out, Pending{Reason: PendingSignatures, Role: RoleRoot, Version: v, ValidKeys: c.Valid, Threshold: old.threshold, PreviousRoot: st.rootPub.Signed.Version})
		}
	}
	return out, nil
}

// onlineRoleInvalid reports whether the published snapshot or timestamp no
// longer verifies under the working root (its keys were rotated).
func (st *state) onlineRoleInvalid(role string) bool {
	if !st.rootStaged {
		return false
	}
	switch role {
	case RoleSnapshot:
		return st.snapPub != nil && verifyWith(st.root, role, st.snapPub.Signed, st.snapPub.Signatures) != nil
	case RoleTimestamp:
		return st.tsPub != nil && verifyWith(st.root, role, st.tsPub.Signed, st.tsPub.Signatures) != nil
	}
	return false
}

// unchangedRolesVerify checks that top-level targets, when it is not being
// replaced, still verifies under the working root; when it does not, the
// change waits for it to be re-signed.
func (st *state) unchangedRolesVerify() (*Pending, error) {
	if st.stagedSet[RoleTargets] || st.publishedVersion(RoleTargets) == 0 {
		return nil, nil
	}
	r, err := st.role(RoleTargets)
	if err != nil || r.staged {
		return nil, err
	}
	if err := verifyWith(st.root, RoleTargets, r.md.Signed, r.md.Signatures); err != nil {
		return &Pending{Reason: PendingUnverified, Role: RoleTargets, Version: r.md.Signed.Version, UnderRoot: st.root.Signed.Version, Detail: err.Error()}, nil
	}
	return nil, nil
}

func (st *state) writeTargetFiles() error {
	paths := make([]string, 0, len(st.pendingFiles))
	for p := range st.pendingFiles {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := atomicfile.WriteFile(p, st.pendingFiles[p], 0o644); err != nil {
			return err
		}
	}
	st.pendingFiles = map[string][]byte{}
	return nil
}

type marshaler interface{ ToBytes(bool) ([]byte, error) }

func writeMD(path string, md marshaler) ([]byte, error) {
	b, err := md.ToBytes(true)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	return b, atomicfile.WriteFile(path, b, 0o644)
}

func writeRole(path string, r *targetsRole) error {
	b, err := r.bytes()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return atomicfile.WriteFile(path, b, 0o644)
}

// stageAll writes the changed roles (and any snapshot or timestamp built) to
// staged/. Staged snapshot or timestamp files made stale by the change go.
// Target files are written first, as for a publication; the staged metadata
// then changes in one transaction.
func (st *state) stageAll(res *Result, waiting []Pending, contentChanged bool, snap *tuf.Metadata[tuf.SnapshotType], ts *tuf.Metadata[tuf.TimestampType]) (*Result, error) {
	res.Waiting = waiting
	if err := st.writeTargetFiles(); err != nil {
		return nil, err
	}
	txn, err := newStagedTxn(st.dir)
	if err != nil {
		return nil, err
	}
	if err := st.stageTargetsRoles(txn, res); err != nil {
		return nil, err
	}
	if err := st.stageRoot(txn, res); err != nil {
		return nil, err
	}
	if err := st.stageSnapshot(txn, res, snap, contentChanged); err != nil {
		return nil, err
	}
	if err := st.stageTimestamp(txn, res, ts, contentChanged || snap != st.snapStaged); err != nil {
		return nil, err
	}
	if err := txn.commit(); err != nil {
		return nil, err
	}
	return res, nil
}

// stageTargetsRoles writes each targets-like role this operation changed or
// signed into the staged transaction.
func (st *state) stageTargetsRoles(txn *stagedTxn, res *Result) error {
	for _, n := range st.sortedStaged() {
		r := st.roles[n]
		if r == nil || !(r.dirty || r.signed) {
			continue
		}
		if err := writeRole(txn.path(n), r); err != nil {
			return err
		}
		st.noteWritten(stagedPath(st.dir, n), r)
		res.Versions[n] = r.md.Signed.Version
	}
	return nil
}

// stageRoot writes the working root into the staged transaction when this
// operation changed or signed it.
func (st *state) stageRoot(txn *stagedTxn, res *Result) error {
	if !st.rootDirty && !st.rootSigned {
		return nil
	}
	if _, err := writeMD(txn.path(RoleRoot), st.root); err != nil {
		return err
	}
	res.Versions[RoleRoot] = st.root.Signed.Version
	return nil
}

// stageSnapshot writes a snapshot that is new or newly signed; with none
// built, a content change makes the staged one stale, so it goes.
func (st *state) stageSnapshot(txn *stagedTxn, res *Result, snap *tuf.Metadata[tuf.SnapshotType], contentChanged bool) error {
	if snap == nil {
		if contentChanged {
			txn.remove(RoleSnapshot)
		}
		return nil
	}
	if snap == st.snapStaged && !st.snapSigned {
		return nil
	}
	if _, err := writeMD(txn.path(RoleSnapshot), snap); err != nil {
		return err
	}
	res.Versions[RoleSnapshot] = snap.Signed.Version
	return nil
}

// stageTimestamp writes a timestamp that is new or newly signed; with none
// built, a stale staged one (the content or the snapshot changed) goes.
func (st *state) stageTimestamp(txn *stagedTxn, res *Result, ts *tuf.Metadata[tuf.TimestampType], stale bool) error {
	if ts == nil {
		if stale {
			txn.remove(RoleTimestamp)
		}
		return nil
	}
	if ts == st.tsStaged && !st.tsSigned {
		return nil
	}
	if _, err := writeMD(txn.path(RoleTimestamp), ts); err != nil {
		return err
	}
	res.Versions[RoleTimestamp] = ts.Signed.Version
	return nil
}

func removeIfExists(p string) {
	if err := os.Remove(p); err == nil {
		atomicfile.SyncDir(filepath.Dir(p)) //nolint:errcheck // best effort; a stale staged file is ignored on load
	}
}

// publish writes the complete change in the order that keeps every moment
// verifiable for a client: target files, delegated roles, targets, root,
// snapshot, timestamp.json; then clears staged/. Each file is written
// atomically, and a writer killed between two steps leaves the published
// metadata consistent (the next operation finishes from staged/).
func (st *state) publish(res *Result, staged []string, snap *tuf.Metadata[tuf.SnapshotType], snapBytes []byte, ts *tuf.Metadata[tuf.TimestampType]) (*Result, error) {
	if err := st.publishTargetFiles(); err != nil {
		return nil, err
	}
	if err := st.publishTargetsRoles(res, staged); err != nil {
		return nil, err
	}
	if err := st.publishRoot(res); err != nil {
		return nil, err
	}
	if err := st.publishSnapshot(res, snap, snapBytes); err != nil {
		return nil, err
	}
	if err := st.publishTimestamp(res, ts); err != nil {
		return nil, err
	}
	res.Published = true
	st.clearStaged(staged)
	if snap != nil {
		st.prune(snap.Signed.Version)
	}
	return res, nil
}

// publishTargetFiles writes the target files first: no metadata may name a
// file that is not there yet.
func (st *state) publishTargetFiles() error {
	if err := st.writeTargetFiles(); err != nil {
		return err
	}
	return step("target-files")
}

// publishTargetsRoles writes each staged targets-like role as
// N.ROLE.json, deepest delegation first (staged is sorted so), so that a
// delegator is never served before the roles it names.
func (st *state) publishTargetsRoles(res *Result, staged []string) error {
	for _, n := range staged {
		r := st.roles[n]
		if r == nil || !r.staged {
			continue
		}
		p := publishedPath(st.dir, n, r.md.Signed.Version)
		if err := writeRole(p, r); err != nil {
			return err
		}
		st.noteWritten(p, r)
		res.Versions[n] = r.md.Signed.Version
		if err := step(n); err != nil {
			return err
		}
	}
	return nil
}

// publishRoot writes a staged root as N.root.json, after the targets-like
// roles and before the snapshot that a client reads under it.
func (st *state) publishRoot(res *Result) error {
	if !st.rootStaged {
		return nil
	}
	p := publishedPath(st.dir, RoleRoot, st.root.Signed.Version)
	if _, err := writeMD(p, st.root); err != nil {
		return err
	}
	res.Versions[RoleRoot] = st.root.Signed.Version
	return step(RoleRoot)
}

// publishSnapshot writes a new snapshot as N.snapshot.json, byte for byte
// the file the timestamp hashes when one was computed.
func (st *state) publishSnapshot(res *Result, snap *tuf.Metadata[tuf.SnapshotType], snapBytes []byte) error {
	if snap == nil || snap == st.snapPub {
		return nil
	}
	p := publishedPath(st.dir, RoleSnapshot, snap.Signed.Version)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	if snapBytes == nil {
		var err error
		if snapBytes, err = snap.ToBytes(true); err != nil {
			return err
		}
	}
	if err := atomicfile.WriteFile(p, snapBytes, 0o644); err != nil {
		return err
	}
	res.Versions[RoleSnapshot] = snap.Signed.Version
	return step(RoleSnapshot)
}

// publishTimestamp writes timestamp.json last: once it is replaced,
// clients see the whole change.
func (st *state) publishTimestamp(res *Result, ts *tuf.Metadata[tuf.TimestampType]) error {
	if ts == nil || ts == st.tsPub {
		return nil
	}
	if _, err := writeMD(publishedPath(st.dir, RoleTimestamp, 0), ts); err != nil {
		return err
	}
	res.Versions[RoleTimestamp] = ts.Signed.Version
	return step(RoleTimestamp)
}

// clearStaged removes the staged files the publication made live (best
// effort: a stale staged file is ignored on load).
func (st *state) clearStaged(staged []string) {
	for _, n := range staged {
		removeIfExists(stagedPath(st.dir, n))
	}
	for _, n := range []string{RoleRoot, RoleSnapshot, RoleTimestamp} {
		removeIfExists(stagedPath(st.dir, n))
	}
}

// keepSnapshots is how many snapshot versions (with the role versions they
// list) stay served: a client that read an older timestamp.json just before
// a publication can still fetch what it names.
const keepSnapshots = 3

// prune deletes published metadata that no kept snapshot names: snapshot
// versions older than the last keepSnapshots, and targets-like versions older
// than the ones the oldest kept snapshot lists. Root versions are never
// deleted (clients walk them). Best effort: a file left behind costs disk only.
func (st *state) prune(current int64) {
	oldest := current - keepSnapshots + 1
	if oldest <= 1 {
		return
	}
	floors, err := st.keptVersions(oldest)
	if err != nil {
		return
	}
	entries, err := os.ReadDir(filepath.Join(st.dir, metadataDir))
	if err != nil {
		return
	}
	removed := false
	for _, e := range entries {
		if !unservedFile(e.Name(), oldest, floors) {
			continue
		}
		if os.Remove(filepath.Join(st.dir, metadataDir, e.Name())) == nil {
			removed = true
		}
	}
	if removed {
		atomicfile.SyncDir(filepath.Join(st.dir, metadataDir)) //nolint:errcheck // best effort
	}
}

// keptVersions maps each role the oldest kept snapshot lists to the version
// it lists: the oldest version of that role still served.
func (st *state) keptVersions(oldest int64) (map[string]int64, error) {
	old, _, err := readSnapshot(publishedPath(st.dir, RoleSnapshot, oldest))
	if err != nil {
		return nil, err
	}
	floors := map[string]int64{}
	for name, mf := range old.Signed.Meta {
		floors[strings.TrimSuffix(name, ".json")] = mf.Version
	}
	return floors, nil
}

// unservedFile reports whether a file of metadata/ is a versioned
// N.ROLE.json (not root) that no kept snapshot names: a snapshot older than
// oldest, or a role version older than floors lists.
func unservedFile(file string, oldest int64, floors map[string]int64) bool {
	num, rest, ok := strings.Cut(file, ".")
	role, isJSON := strings.CutSuffix(rest, ".json")
	v, err := strconv.ParseInt(num, 10, 64)
	if !ok || !isJSON || err != nil || role == RoleRoot {
		return false
	}
	floor, listed := floors[role]
	return (role == RoleSnapshot && v < oldest) || (listed && v < floor)
}
