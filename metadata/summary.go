package metadata

import (
	"encoding/json"
	"os"
	"path/filepath"
	"syscall"
	"time"

	tuf "github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/cnabsec/cnabsec/internal/atomicfile"
	"github.com/cnabsec/cnabsec/keys"
)

// A summary is what status needs from a targets-like metadata file without
// parsing it: writers record one for each file they write (DIR/cache/, under
// the write lock), and status uses it only while the file's size and
// modification time and inode are unchanged, so a repository with 10,000 targets
// reports its status as fast as one with 10. A missing or stale summary is
// recomputed from the file.
type summary struct {
	Size    int64            `json:"size"`
	ModTime int64            `json:"mtime"`
	Inode   uint64           `json:"inode"` // every atomic write is a new inode
	Version int64            `json:"version"`
	Expires time.Time        `json:"expires"`
	Targets int              `json:"targets"`
	Deleg   *tuf.Delegations `json:"delegations,omitempty"`
	// Sigs are the signatures that verify, each with the fingerprint of the
	// key (as listed by the delegator under its key ID) that verified it.
	Sigs []verifiedSig `json:"sigs"`
}

type verifiedSig struct {
	KeyID       string `json:"keyid"`
	Fingerprint string `json:"fingerprint"`
}

type summaryCache map[string]*summary // key: path relative to DIR

const summaryFile = "summaries.json"

type noted struct {
	path string
	r    *targetsRole
}

func (st *state) noteWritten(path string, r *targetsRole) {
	st.written = append(st.written, noted{path, r})
}

// summarize builds a summary of md, verifying its signatures against the
// keys the delegator lists in spec.
func summarize(md *tuf.Metadata[tuf.TargetsType], payload []byte, spec roleSpec, fi os.FileInfo) *summary {
	s := &summary{Size: fi.Size(), ModTime: fi.ModTime().UnixNano(), Inode: inode(fi), Version: md.Signed.Version,
		Expires: md.Signed.Expires, Targets: len(md.Signed.Targets), Deleg: md.Signed.Delegations, Sigs: []verifiedSig{}}
	for _, sig := range md.Signatures {
		k, ok := spec.keys[sig.KeyID]
		if !ok || k == nil {
			continue
		}
		pk, err := keys.FromTUFKey(k)
		if err != nil || pk.Verify(payload, sig.Signature) != nil {
			continue
		}
		s.Sigs = append(s.Sigs, verifiedSig{KeyID: sig.KeyID, Fingerprint: fingerprint(pk)})
	}
	return s
}

func inode(fi os.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Ino
	}
	return 0
}

// matches reports whether the summary was made from the file fi describes.
func (s *summary) matches(fi os.FileInfo) bool {
	return s.Size == fi.Size() && s.ModTime == fi.ModTime().UnixNano() && s.Inode == inode(fi)
}

func readSummaries(dir string) summaryCache {
	c := summaryCache{}
	b, err := os.ReadFile(filepath.Join(dir, cacheDir, summaryFile))
	if err != nil {
		return c
	}
	if json.Unmarshal(b, &c) != nil {
		return summaryCache{}
	}
	return c
}

// saveSummaries records summaries of the files this operation wrote and
// drops entries for files that are gone or superseded. Best effort: a cache
// that cannot be written only makes status slower.
func (st *state) saveSummaries() {
	if len(st.written) == 0 {
		return
	}
	c := readSummaries(st.dir)
	for _, w := range st.written {
		if rel, sum, ok := st.summaryOf(w); ok {
			c[rel] = sum
		}
	}
	for rel := range c {
		if st.staleSummary(rel, c[rel]) {
			delete(c, rel)
		}
	}
	writeSummaries(st.dir, c)
	st.written = nil
}

// summaryOf summarizes a file this operation wrote, under its slash path
// relative to the repository; ok is false when it cannot be summarized.
func (st *state) summaryOf(w noted) (rel string, sum *summary, ok bool) {
	fi, err := os.Stat(w.path)
	if err != nil {
		return "", nil, false
	}
	spec, err := st.spec(roleOfPath(w.path))
	if err != nil {
		return "", nil, false
	}
	rel, err = filepath.Rel(st.dir, w.path)
	if err != nil {
		return "", nil, false
	}
	payload, err := w.r.canonical()
	if err != nil {
		return "", nil, false
	}
	return filepath.ToSlash(rel), summarize(w.r.md, payload, spec, fi), true
}

// staleSummary reports whether the summary of rel is for a file that is
// gone, or for a published version older than the latest.
func (st *state) staleSummary(rel string, sum *summary) bool {
	if _, err := os.Stat(filepath.Join(st.dir, filepath.FromSlash(rel))); err != nil {
		return true
	}
	name := roleOfPath(rel)
	if name == "" || filepath.Dir(filepath.FromSlash(rel)) != metadataDir {
		return false
	}
	return sum.Version < st.publishedVersionAfter(name)
}

func writeSummaries(dir string, c summaryCache) {
	b, err := json.Marshal(c)
	if err != nil {
		return
	}
	if os.MkdirAll(filepath.Join(dir, cacheDir), 0o755) != nil {
		return
	}
	atomicfile.WriteFile(filepath.Join(dir, cacheDir, summaryFile), b, 0o644) //nolint:errcheck // best effort
}

// publishedVersionAfter is the latest published version of a role once this
// operation's writes are taken into account.
func (st *state) publishedVersionAfter(role string) int64 {
	v := st.publishedVersion(role)
	for _, w := range st.written {
		if roleOfPath(w.path) == role && filepath.Base(filepath.Dir(w.path)) == metadataDir && w.r.md.Signed.Version > v {
			v = w.r.md.Signed.Version
		}
	}
	return v
}

// roleOfPath returns ROLE for .../N.ROLE.json or .../ROLE.json.
func roleOfPath(p string) string {
	base := filepath.Base(p)
	base = base[:len(base)-len(filepath.Ext(base))]
	for i := 0; i < len(base); i++ {
		if base[i] < '0' || base[i] > '9' {
			if i > 0 && base[i] == '.' {
				return base[i+1:]
			}
			return base
		}
	}
	return ""
}
