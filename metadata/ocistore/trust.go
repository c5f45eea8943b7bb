package ocistore

import (
	"errors"
	"fmt"
	"sync"

	tuf "github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/metadata/client"
)

// maxJudgedRead caps reading a versioned metadata file the registry holds
// when deciding whether it may be replaced: larger than any role a client
// accepts (10 MiB for a delegated role), so bytes above it are unusable.
const maxJudgedRead = 16 << 20

// maxDelegationWalk bounds the targets roles of the publication read, and
// walkBytes the bytes read in all, to find the role that delegates a role.
const (
	maxDelegationWalk = 1024
	walkBytes         = 64 << 20
)

// publication is the metadata being published: the directory pushed, or
// the source of a copy. It decides whether metadata bytes found in the
// registry were signed by this repository's keys.
type publication struct {
	// files lists its metadata files (N.ROLE.json and timestamp.json).
	files []string
	// read returns one of them ("3.root.json").
	read func(file string) ([]byte, error)
}

// errNotOurs marks registry bytes that a threshold of the keys this
// publication gives their role did not sign (or that are not metadata).
var errNotOurs = errors.New("not signed by this repository's keys")

// verifyRegistryFile checks that data, the registry's bytes of versioned
// file f (N.ROLE.json), were signed by a threshold of the keys the
// publication gives ROLE: root N by the root keys of root N-1 (root 1 by
// its own), snapshot and targets by those of root (the newest root being
// published), a delegated role by the role that delegates it in the newest
// targets roles of the publication, each verified from root down. It wraps
// errNotOurs (with the reason) when they were not; any other error means
// the publication itself could not be read or verified.
func (pub *publication) verifyRegistryFile(root *tuf.Metadata[tuf.RootType], f string, data []byte) (err error) {
	v, role := splitMetadataName(f)
	defer func() {
		if recover() != nil { // go-tuf on metadata of an unexpected shape
			err = fmt.Errorf("%w: it is not valid %s metadata", errNotOurs, role)
		}
	}()
	switch role {
	case tuf.ROOT:
		return pub.verifyRoot(v, data)
	case tuf.SNAPSHOT:
		return verifyAs(tuf.Snapshot().FromBytes, data, role, func(md any) error { return root.VerifyDelegate(role, md) })
	case tuf.TARGETS, tuf.TIMESTAMP:
		return pub.verifyTopLevel(root, role, data)
	}
	delegator, err := pub.delegator(root, role)
	if err != nil {
		return err
	}
	return verifyAs(tuf.Targets().FromBytes, data, role, func(md any) error { return delegator.VerifyDelegate(role, md) })
}

// verifyTopLevel checks data as role (targets or timestamp) under root.
func (pub *publication) verifyTopLevel(root *tuf.Metadata[tuf.RootType], role string, data []byte) error {
	check := func(md any) error { return root.VerifyDelegate(role, md) }
	if role == tuf.TIMESTAMP {
		return verifyAs(tuf.Timestamp().FromBytes, data, role, check)
	}
	return verifyAs(tuf.Targets().FromBytes, data, role, check)
}

// verifyRoot checks data, the registry's root version v, against the
// publication's root v-1 (v 1: its own root 1), as a client's root update
// does.
func (pub *publication) verifyRoot(v int64, data []byte) error {
	judge := v - 1
	if judge < 1 {
		judge = 1
	}
	b, err := pub.read(fmt.Sprintf("%d.root.json", judge))
	if err != nil {
		return err
	}
	prev, err := tuf.Root().FromBytes(b)
	if err != nil {
		return fault.Inputf("%d.root.json of the metadata being published is not valid root metadata: %v", judge, err)
	}
	return verifyAs(tuf.Root().FromBytes, data, tuf.ROOT, func(md any) error {
		if err := prev.VerifyDelegate(tuf.ROOT, md); err != nil {
			return fmt.Errorf("by the root keys of root version %d: %w", judge, err)
		}
		return nil
	})
}

// verifyAs parses data with parse (which checks the metadata type) and
// verifies it with check; either failing wraps errNotOurs.
func verifyAs[T tuf.Roles](parse func([]byte) (*tuf.Metadata[T], error), data []byte, role string, check func(any) error) error {
	md, err := parse(data)
	if err != nil {
		return fmt.Errorf("%w: it is not valid %s metadata: %v", errNotOurs, role, err)
	}
	if err := check(md); err != nil {
		return fmt.Errorf("%w: its signatures do not meet the threshold of the %s keys: %v", errNotOurs, role, err)
	}
	return nil
}

// delegator finds, breadth first from the newest top-level targets of the
// publication (verified by root), the newest targets role that delegates
// role, each role read verified by the one delegating it.
func (pub *publication) delegator(root *tuf.Metadata[tuf.RootType], role string) (*tuf.Metadata[tuf.TargetsType], error) {
	w := walk{pub: pub, newest: newestVersions(pub.files), budget: walkBytes, seen: map[string]bool{}}
	top, err := w.load(tuf.TARGETS, func(md any) error { return root.VerifyDelegate(tuf.TARGETS, md) })
	if err != nil {
		return nil, err
	}
	queue := []*tuf.Metadata[tuf.TargetsType]{top}
	for len(queue) > 0 {
		md := queue[0]
		queue = queue[1:]
		if delegates(md, role) {
			return md, nil
		}
		children, err := w.children(md)
		if err != nil {
			return nil, err
		}
		queue = append(queue, children...)
	}
	return nil, fault.Inputf("no targets role of the metadata being published delegates %s", role)
}

// delegates reports whether md delegates role by name or as a hash bin.
func delegates(md *tuf.Metadata[tuf.TargetsType], role string) bool {
	d := md.Signed.Delegations
	if d == nil {
		return false
	}
	if d.SuccinctRoles != nil {
		return d.SuccinctRoles.IsDelegatedRole(role)
	}
	for _, r := range d.Roles {
		if r.Name == role {
			return true
		}
	}
	return false
}

// walk reads the targets roles of a publication, each at most once.
type walk struct {
	pub    *publication
	newest map[string]string // role -> its newest N.ROLE.json
	budget int64
	seen   map[string]bool
}

// children loads the roles md delegates that the publication holds.
func (w *walk) children(md *tuf.Metadata[tuf.TargetsType]) ([]*tuf.Metadata[tuf.TargetsType], error) {
	d := md.Signed.Delegations
	if d == nil {
		return nil, nil
	}
	var names []string
	if d.SuccinctRoles != nil {
		names = d.SuccinctRoles.GetRoles()
	}
	for _, r := range d.Roles {
		names = append(names, r.Name)
	}
	var out []*tuf.Metadata[tuf.TargetsType]
	for _, n := range names {
		if _, ok := w.newest[n]; !ok || w.seen[n] {
			continue
		}
		child, err := w.load(n, func(c any) error { return md.VerifyDelegate(n, c) })
		if err != nil {
			return nil, err
		}
		out = append(out, child)
	}
	return out, nil
}

// load reads the newest version of role in the publication and verifies it
// with check.
func (w *walk) load(role string, check func(any) error) (*tuf.Metadata[tuf.TargetsType], error) {
	w.seen[role] = true
	if len(w.seen) > maxDelegationWalk {
		return nil, fault.Inputf("the metadata being published has more than %d targets roles to search for a delegation", maxDelegationWalk)
	}
	f, ok := w.newest[role]
	if !ok {
		return nil, fault.Inputf("the metadata being published holds no %s", role)
	}
	data, err := w.pub.read(f)
	if err != nil {
		return nil, err
	}
	if w.budget -= int64(len(data)); w.budget < 0 {
		return nil, fault.Inputf("the targets roles of the metadata being published exceed %d bytes in all", walkBytes)
	}
	md, err := tuf.Targets().FromBytes(data)
	if err == nil {
		err = check(md)
	}
	if err != nil {
		return nil, fault.Inputf("%s of the metadata being published does not verify: %v", f, err)
	}
	return md, nil
}

// newestVersions maps each role of files to its highest N.ROLE.json.
func newestVersions(files []string) map[string]string {
	best := map[string]int64{}
	out := map[string]string{}
	for _, f := range files {
		if v, role := splitMetadataName(f); v > 0 && v > best[role] {
			best[role], out[role] = v, f
		}
	}
	return out
}

// readRegistryFile reads versioned file f as the registry holds it (at most
// maxJudgedRead bytes). unusable says why bytes no client could use were
// not read (too large, not matching their digest, gone since the HEAD).
func (p *pusher) readRegistryFile(f string) (data []byte, unusable string, err error) {
	fe := &Fetcher{repo: p.repo, location: Scheme + "://" + p.repo.Name(), puller: p.puller}
	data, err = fe.Fetch(p.ctx, "metadata/"+f, maxJudgedRead)
	switch {
	case fault.KindOf(err) == fault.Denied, errors.Is(err, client.ErrNotFound):
		return nil, "it cannot be read as metadata: " + err.Error(), nil
	case err != nil:
		return nil, "", err
	}
	return data, "", nil
}

// mayReplaceVersioned decides whether versioned file f (N.ROLE.json), which
// the registry holds with a different manifest, may be replaced. Bytes a
// threshold of this repository's keys signed are published metadata:
// replacing them would fork what clients already trust, so that is refused.
// Anything else (not metadata, unreadable, signed by other keys: planted
// without the keys, or another repository's) is never trusted: it is
// replaced and reported.
func (p *pusher) mayReplaceVersioned(f string) error {
	refuse := func(why string) error {
		return fault.WithRemedy(fault.Inputf("%s already holds a different %s%s: refusing to overwrite published metadata", p.repo.Name(), f, why),
			fault.RemedyOtherRepository, p.repo.Name())
	}
	if p.pub == nil {
		return refuse(" (no publication to verify it against)")
	}
	data, unusable, err := p.readRegistryFile(f)
	if err != nil {
		return err
	}
	if unusable == "" {
		root, err := p.judgingRoot()
		if err != nil {
			return err
		}
		err = p.pub.verifyRegistryFile(root, f, data)
		if err == nil {
			return refuse(", signed by this repository's keys (published from another directory, or the directory was re-created)")
		}
		if !errors.Is(err, errNotOurs) {
			return err
		}
		unusable = err.Error()
	}
	claimed, _ := signedVersion(data)
	p.noteReplaced(Replaced{File: f, Version: claimed, Reason: unusable})
	return nil
}

// memoRead reads each file once with read: the roots whose chain was
// verified are the ones later judged by.
func memoRead(read func(string) ([]byte, error)) func(string) ([]byte, error) {
	var mu sync.Mutex
	seen := map[string][]byte{}
	return func(f string) ([]byte, error) {
		mu.Lock()
		defer mu.Unlock()
		if b, ok := seen[f]; ok {
			return b, nil
		}
		b, err := read(f)
		if err == nil {
			seen[f] = b
		}
		return b, err
	}
}
