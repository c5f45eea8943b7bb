package metadata

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

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
	// Waiting explains, one line per role, why the change is staged.
	Waiting []string `json:"waiting,omitempty"`
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
// whole change or stages it, explaining what is missing.
func (st *state) finish(ctx context.Context, fo finishOpts) (*Result, error) {
	if err := st.checkOnlineSigners(fo); err != nil {
		return nil, err
	}
	res := &Result{Versions: map[string]int64{}}
	contentChanged := st.rootDirty
	var waiting []string

	if st.rootStaged {
		w, err := st.rootWaiting()
		if err != nil {
			return nil, err
		}
		waiting = append(waiting, w...)
	}
	staged := st.sortedStaged()
	for _, n := range staged {
		r, err := st.role(n)
		if err != nil {
			return nil, err
		}
		if !r.staged {
			continue
		}
		if r.dirty {
			contentChanged = true
		}
		spec, err := st.spec(n)
		if err != nil {
			return nil, err
		}
		c, err := checkRole(spec, r)
		if err != nil {
			return nil, err
		}
		if !c.meets(spec.threshold) {
			waiting = append(waiting, fmt.Sprintf("%s version %d: signatures from %d of the %d unique keys its threshold needs (sign with `repo sign --role %s`)", n, r.md.Signed.Version, c.Valid, spec.threshold, n))
		}
	}
	// Roles unchanged by this operation must still verify under the working
	// root (a rotation marks the ones it invalidates dirty; this is the
	// fail-closed check that nothing was forgotten).
	if st.rootStaged {
		if err := st.unchangedRolesVerify(); err != nil {
			waiting = append(waiting, err.Error())
		}
	}
	// Metadata that waited in staged/ past its expiry must not go out.
	if st.rootStaged && !st.root.Signed.Expires.After(st.now) {
		waiting = append(waiting, fmt.Sprintf("root version %d expired at %s while staged (re-sign it: `repo refresh --role root --key K`)", st.root.Signed.Version, st.root.Signed.Expires.Format(time.RFC3339)))
	}
	for _, n := range staged {
		if r := st.roles[n]; r != nil && r.staged && !r.md.Signed.Expires.After(st.now) {
			waiting = append(waiting, fmt.Sprintf("%s version %d expired at %s while staged (re-sign it: `repo refresh --role %s --key K`)", n, r.md.Signed.Version, r.md.Signed.Expires.Format(time.RFC3339), n))
		}
	}
	if len(waiting) > 0 {
		return st.stageAll(res, waiting, contentChanged, nil, nil)
	}

	// Snapshot.
	snap := st.snapStaged
	needSnap := len(staged) > 0 || st.snapStaged != nil || fo.force || st.snapPub == nil || st.onlineRoleInvalid(RoleSnapshot)
	if needSnap {
		// Each role is listed with its version and exact length: clients then
		// download no more than that (and go-tuf's 5 MB default cap for
		// targets metadata without a length does not apply).
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
		spec, err := st.spec(RoleSnapshot)
		if err != nil {
			return nil, err
		}
		// A staged snapshot that still says the right thing keeps the
		// signatures it has (a threshold above 1 collects them one by one).
		if snap == nil || contentChanged || fo.force || !snap.Signed.Expires.After(st.now) || !sameJSON(snap.Signed.Meta, desired) {
			snap = tuf.Snapshot(st.expires(RoleSnapshot))
			snap.Signed.Version = st.snapVersion() + 1
			snap.Signed.Meta = desired
		} else if fo.snapshot != nil {
			st.snapSigned = true
		}
		if fo.snapshot != nil {
			if err := addSignature(ctx, spec, snap.Signed, &snap.Signatures, fo.snapshot); err != nil {
				return nil, err
			}
		}
		c, err := checkSignatures(spec, snap.Signed, snap.Signatures)
		if err != nil {
			return nil, err
		}
		if !c.meets(spec.threshold) {
			waiting = append(waiting, fmt.Sprintf("snapshot version %d: signatures from %d of the %d unique keys its threshold needs (pass --snapshot-key, or `repo sign --role snapshot`)", snap.Signed.Version, c.Valid, spec.threshold))
			return st.stageAll(res, waiting, contentChanged, snap, nil)
		}
	}

	// Timestamp.
	var snapBytes []byte
	ts := st.tsStaged
	needTS := needSnap || st.tsStaged != nil || fo.force || st.tsPub == nil || st.onlineRoleInvalid(RoleTimestamp)
	if needTS {
		cur := snap
		if cur == nil {
			cur = st.snapPub
		}
		var err error
		if snapBytes, err = cur.ToBytes(true); err != nil {
			return nil, err
		}
		sum := sha256.Sum256(snapBytes)
		desired := map[string]*tuf.MetaFiles{"snapshot.json": {
			Version: cur.Signed.Version, Length: int64(len(snapBytes)), Hashes: tuf.Hashes{"sha256": sum[:]},
		}}
		spec, err := st.spec(RoleTimestamp)
		if err != nil {
			return nil, err
		}
		if ts == nil || fo.force || !ts.Signed.Expires.After(st.now) || !sameJSON(ts.Signed.Meta, desired) {
			ts = tuf.Timestamp(st.expires(RoleTimestamp))
			ts.Signed.Version = st.tsVersion() + 1
			ts.Signed.Meta = desired
		} else if fo.timestamp != nil {
			st.tsSigned = true
		}
		if fo.timestamp != nil {
			if err := addSignature(ctx, spec, ts.Signed, &ts.Signatures, fo.timestamp); err != nil {
				return nil, err
			}
		}
		c, err := checkSignatures(spec, ts.Signed, ts.Signatures)
		if err != nil {
			return nil, err
		}
		if !c.meets(spec.threshold) {
			waiting = append(waiting, fmt.Sprintf("timestamp version %d: signatures from %d of the %d unique keys its threshold needs (pass --timestamp-key, or `repo sign --role timestamp`)", ts.Signed.Version, c.Valid, spec.threshold))
			return st.stageAll(res, waiting, contentChanged, snap, ts)
		}
	}
	return st.publish(res, staged, snap, snapBytes, ts)
}

// rootWaiting explains what a staged root lacks: a threshold of its own root
// keys and, for a rotation, of the previous root's.
func (st *state) rootWaiting() ([]string, error) {
	spec, err := rootSpec(st.root, RoleRoot)
	if err != nil {
		return nil, err
	}
	c, err := checkSignatures(spec, st.root.Signed, st.root.Signatures)
	if err != nil {
		return nil, err
	}
	var out []string
	v := st.root.Signed.Version
	if !c.meets(spec.threshold) {
		out = append(out, fmt.Sprintf("root version %d: signatures from %d of the %d unique new root keys its threshold needs (sign with `repo sign --role root`)", v, c.Valid, spec.threshold))
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
			out = append(out, fmt.Sprintf("root version %d: signatures from %d of the %d unique keys of root version %d its threshold needs (sign with `repo sign --role root`)", v, c.Valid, old.threshold, st.rootPub.Signed.Version))
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
// replaced, still verifies under the working root.
func (st *state) unchangedRolesVerify() error {
	if st.stagedSet[RoleTargets] || st.publishedVersion(RoleTargets) == 0 {
		return nil
	}
	r, err := st.role(RoleTargets)
	if err != nil {
		return err
	}
	if r.staged {
		return nil
	}
	if err := verifyWith(st.root, RoleTargets, r.md.Signed, r.md.Signatures); err != nil {
		return fmt.Errorf("targets version %d does not verify under root version %d: %v (re-sign it with `repo refresh --role targets --key K`)", r.md.Signed.Version, st.root.Signed.Version, err)
	}
	return nil
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
func (st *state) stageAll(res *Result, waiting []string, contentChanged bool, snap *tuf.Metadata[tuf.SnapshotType], ts *tuf.Metadata[tuf.TimestampType]) (*Result, error) {
	res.Waiting = waiting
	if err := st.writeTargetFiles(); err != nil {
		return nil, err
	}
	txn, err := newStagedTxn(st.dir)
	if err != nil {
		return nil, err
	}
	for _, n := range st.sortedStaged() {
		r := st.roles[n]
		if r == nil || !(r.dirty || r.signed) {
			continue
		}
		if err := writeRole(txn.path(n), r); err != nil {
			return nil, err
		}
		st.noteWritten(stagedPath(st.dir, n), r)
		res.Versions[n] = r.md.Signed.Version
	}
	if st.rootDirty || st.rootSigned {
		if _, err := writeMD(txn.path(RoleRoot), st.root); err != nil {
			return nil, err
		}
		res.Versions[RoleRoot] = st.root.Signed.Version
	}
	if snap != nil && (snap != st.snapStaged || st.snapSigned) {
		if _, err := writeMD(txn.path(RoleSnapshot), snap); err != nil {
			return nil, err
		}
		res.Versions[RoleSnapshot] = snap.Signed.Version
	} else if snap == nil && contentChanged {
		txn.remove(RoleSnapshot)
	}
	if ts != nil && (ts != st.tsStaged || st.tsSigned) {
		if _, err := writeMD(txn.path(RoleTimestamp), ts); err != nil {
			return nil, err
		}
		res.Versions[RoleTimestamp] = ts.Signed.Version
	} else if ts == nil && (contentChanged || snap != st.snapStaged) {
		txn.remove(RoleTimestamp)
	}
	if err := txn.commit(); err != nil {
		return nil, err
	}
	return res, nil
}

func removeIfExists(p string) {
	if err := os.Remove(p); err == nil {
		atomicfile.SyncDir(filepath.Dir(p)) //nolint:errcheck // best effort; a stale staged file is ignored on load
	}
}

// publish writes the complete change in the order that keeps every moment
// verifiable for a client: target files, delegated roles, targets, root,
// snapshot, timestamp.json; then clears staged/.
func (st *state) publish(res *Result, staged []string, snap *tuf.Metadata[tuf.SnapshotType], snapBytes []byte, ts *tuf.Metadata[tuf.TimestampType]) (*Result, error) {
	if err := st.writeTargetFiles(); err != nil {
		return nil, err
	}
	if err := step("target-files"); err != nil {
		return nil, err
	}
	for _, n := range staged {
		r := st.roles[n]
		if r == nil || !r.staged {
			continue
		}
		p := publishedPath(st.dir, n, r.md.Signed.Version)
		if err := writeRole(p, r); err != nil {
			return nil, err
		}
		st.noteWritten(p, r)
		res.Versions[n] = r.md.Signed.Version
		if err := step(n); err != nil {
			return nil, err
		}
	}
	if st.rootStaged {
		p := publishedPath(st.dir, RoleRoot, st.root.Signed.Version)
		if _, err := writeMD(p, st.root); err != nil {
			return nil, err
		}
		res.Versions[RoleRoot] = st.root.Signed.Version
		if err := step(RoleRoot); err != nil {
			return nil, err
		}
	}
	if snap != nil && snap != st.snapPub {
		p := publishedPath(st.dir, RoleSnapshot, snap.Signed.Version)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return nil, err
		}
		if snapBytes == nil {
			var err error
			if snapBytes, err = snap.ToBytes(true); err != nil {
				return nil, err
			}
		}
		if err := atomicfile.WriteFile(p, snapBytes, 0o644); err != nil {
			return nil, err
		}
		res.Versions[RoleSnapshot] = snap.Signed.Version
		if err := step(RoleSnapshot); err != nil {
			return nil, err
		}
	}
	if ts != nil && ts != st.tsPub {
		if _, err := writeMD(publishedPath(st.dir, RoleTimestamp, 0), ts); err != nil {
			return nil, err
		}
		res.Versions[RoleTimestamp] = ts.Signed.Version
		if err := step(RoleTimestamp); err != nil {
			return nil, err
		}
	}
	res.Published = true
	for _, n := range staged {
		removeIfExists(stagedPath(st.dir, n))
	}
	for _, n := range []string{RoleRoot, RoleSnapshot, RoleTimestamp} {
		removeIfExists(stagedPath(st.dir, n))
	}
	if snap != nil {
		st.prune(snap.Signed.Version)
	}
	return res, nil
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
	old, _, err := readSnapshot(publishedPath(st.dir, RoleSnapshot, oldest))
	if err != nil {
		return
	}
	floors := map[string]int64{}
	for name, mf := range old.Signed.Meta {
		floors[strings.TrimSuffix(name, ".json")] = mf.Version
	}
	entries, err := os.ReadDir(filepath.Join(st.dir, metadataDir))
	if err != nil {
		return
	}
	removed := false
	for _, e := range entries {
		num, rest, ok := strings.Cut(e.Name(), ".")
		role, isJSON := strings.CutSuffix(rest, ".json")
		v, err := strconv.ParseInt(num, 10, 64)
		if !ok || !isJSON || err != nil || role == RoleRoot {
			continue
		}
		floor, listed := floors[role]
		if (role == RoleSnapshot && v < oldest) || (listed && v < floor) {
			if os.Remove(filepath.Join(st.dir, metadataDir, e.Name())) == nil {
				removed = true
			}
		}
	}
	if removed {
		atomicfile.SyncDir(filepath.Join(st.dir, metadataDir)) //nolint:errcheck // best effort
	}
}
