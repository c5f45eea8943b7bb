package verifier

import (
	"context"
	"encoding/json"
	"fmt"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/metadata/client"
)

// trustSource answers target lookups from trusted TUF metadata: one
// repository (*client.Client) or several under a TAP 4 map.
type trustSource interface {
	Target(ctx context.Context, name string) (*client.TargetInfo, error)
	Download(ctx context.Context, name string, maxLen int64) ([]byte, *client.TargetInfo, error)
	ReferenceTime() time.Time
	Location() string
	// TopLevelTargets lists what the top-level targets role itself signs
	// under a prefix (a repository's root layouts).
	TopLevelTargets(ctx context.Context, prefix string) ([]client.TargetInfo, error)
	// DelegationKeyIDs are the key IDs the top-level targets role lists for a
	// delegated role (the CI keys of releases).
	DelegationKeyIDs(ctx context.Context, role string) ([]string, error)
}

// MapFile is a TAP 4 map file: which repositories (by name) are trusted for
// which target paths, and how many of them must agree. cnabsec adds "roots":
// each repository's pinned root file, relative to the map file (no trust on
// first use), since TAP 4 leaves where roots come from to the client.
type MapFile struct {
	Repositories map[string][]string `json:"repositories"`
	Roots        map[string]string   `json:"roots"`
	Mapping      []MapRule           `json:"mapping"`
}

// MapRule is one entry of a TAP 4 mapping, tried in order.
type MapRule struct {
	Paths        []string `json:"paths"`
	Repositories []string `json:"repositories"`
	Threshold    int      `json:"threshold"`
	Terminating  bool     `json:"terminating"`
}

// ParseMapFile reads and checks a map file; root files are read relative to it.
func ParseMapFile(p string) (*MapFile, map[string][]byte, error) {
	raw, err := readLocal(p, 1<<20, "map file")
	if err != nil {
		return nil, nil, err
	}
	var m MapFile
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return nil, nil, fault.Inputf("map file %s: %w", p, err)
	}
	if len(m.Mapping) == 0 {
		return nil, nil, fault.Inputf("map file %s: no mapping: it would trust nothing", p)
	}
	roots, err := m.readRoots(p)
	if err != nil {
		return nil, nil, err
	}
	for i, r := range m.Mapping {
		if err := m.checkMapping(p, i, r); err != nil {
			return nil, nil, err
		}
	}
	return &m, roots, nil
}

// readRoots reads the pinned root of every repository (in name order, so
// that the first error is always the same one): no trust on first use.
func (m *MapFile) readRoots(p string) (map[string][]byte, error) {
	repos := make([]string, 0, len(m.Repositories))
	for name := range m.Repositories {
		repos = append(repos, name)
	}
	sort.Strings(repos)
	roots := map[string][]byte{}
	for _, name := range repos {
		if len(m.Repositories[name]) == 0 {
			return nil, fault.Inputf("map file %s: repository %q has no location", p, name)
		}
		rp, ok := m.Roots[name]
		if !ok {
			return nil, fault.Inputf("map file %s: repository %q has no pinned root in \"roots\" (no trust on first use)", p, name)
		}
		if !filepath.IsAbs(rp) {
			rp = filepath.Join(filepath.Dir(p), rp)
		}
		b, err := readLocal(rp, 1<<20, "root of repository "+name)
		if err != nil {
			return nil, err
		}
		roots[name] = b
	}
	return roots, nil
}

// checkMapping checks one rule: paths, known and distinct repositories, and
// a threshold they can meet.
func (m *MapFile) checkMapping(p string, i int, r MapRule) error {
	if len(r.Paths) == 0 {
		return fault.Inputf("map file %s: mapping %d has no paths", p, i)
	}
	seen := map[string]bool{}
	for _, n := range r.Repositories {
		if _, ok := m.Repositories[n]; !ok {
			return fault.Inputf("map file %s: mapping %d names unknown repository %q", p, i, n)
		}
		if seen[n] {
			return fault.Inputf("map file %s: mapping %d lists repository %q twice (a threshold counts distinct repositories)", p, i, n)
		}
		seen[n] = true
	}
	if r.Threshold < 1 || r.Threshold > len(r.Repositories) {
		return fault.Inputf("map file %s: mapping %d has threshold %d for %d repositories", p, i, r.Threshold, len(r.Repositories))
	}
	return nil
}

// multiRepo resolves targets across repositories per a TAP 4 map.
type multiRepo struct {
	m       *MapFile
	clients map[string]*client.Client
	now     time.Time
}

func (mr *multiRepo) ReferenceTime() time.Time { return mr.now }

func (mr *multiRepo) Location() string {
	names := make([]string, 0, len(mr.clients))
	for n := range mr.clients {
		names = append(names, n)
	}
	sort.Strings(names)
	return "TAP 4 map (" + strings.Join(names, ", ") + ")"
}

func (mr *multiRepo) refresh(ctx context.Context) error {
	for name, c := range mr.clients {
		if err := c.Refresh(ctx); err != nil {
			return fmt.Errorf("repository %s: %w", name, err)
		}
	}
	return nil
}

func (mr *multiRepo) close() {
	for _, c := range mr.clients {
		c.Close()
	}
}

// matches applies TUF path patterns (shell globs per path segment).
func matches(patterns []string, name string) bool {
	for _, p := range patterns {
		if strings.Count(p, "/") != strings.Count(name, "/") {
			continue
		}
		if ok, _ := path.Match(p, name); ok {
			return true
		}
	}
	return false
}

// Target finds name under the first mapping whose paths match and whose
// threshold of repositories agree on it (same length and hashes).
func (mr *multiRepo) Target(ctx context.Context, name string) (*client.TargetInfo, error) {
	ti, _, err := mr.agree(ctx, name)
	return ti, err
}

func (mr *multiRepo) agree(ctx context.Context, name string) (*client.TargetInfo, string, error) {
	for i, rule := range mr.m.Mapping {
		if !matches(rule.Paths, name) {
			continue
		}
		groups := map[string][]string{} // length+sha256 → repositories
		infos := map[string]*client.TargetInfo{}
		for _, repo := range rule.Repositories {
			ti, err := mr.clients[repo].Target(ctx, name)
			if err != nil {
				if isTargetNotFound(err) {
					continue
				}
				return nil, "", fmt.Errorf("repository %s: %w", repo, err)
			}
			key := fmt.Sprintf("%d/%s", ti.Length, ti.Hashes["sha256"])
			groups[key] = append(groups[key], repo)
			infos[key] = ti
		}
		for key, repos := range groups {
			if len(repos) >= rule.Threshold {
				return infos[key], repos[0], nil
			}
		}
		if len(groups) > 1 {
			return nil, "", fault.Deniedf("target %q: the repositories of map rule %d disagree on its content (%d versions), none has the threshold %d", name, i, len(groups), rule.Threshold)
		}
		if rule.Terminating {
			break
		}
	}
	return nil, "", fault.Deniedf("target %q not found under the TAP 4 map: no rule's threshold of repositories signs it: %w", name, client.ErrTargetNotFound)
}

// Download fetches name from a repository of the agreeing threshold.
func (mr *multiRepo) Download(ctx context.Context, name string, maxLen int64) ([]byte, *client.TargetInfo, error) {
	ti, repo, err := mr.agree(ctx, name)
	if err != nil {
		return nil, nil, err
	}
	b, got, err := mr.clients[repo].Download(ctx, name, maxLen)
	if err != nil {
		return nil, nil, err
	}
	if got.Length != ti.Length || got.Hashes["sha256"] != ti.Hashes["sha256"] {
		return nil, nil, fault.Deniedf("target %q changed while it was read", name)
	}
	return b, ti, nil
}

// TopLevelTargets lists the top-level targets under prefix as the first map
// rule whose paths match a layout under prefix has them: a threshold of its
// repositories must list exactly the same targets (names, lengths, sha256,
// custom), as for any target.
func (mr *multiRepo) TopLevelTargets(ctx context.Context, prefix string) ([]client.TargetInfo, error) {
	probe := prefix + "root.layout"
	for i, rule := range mr.m.Mapping {
		if !matches(rule.Paths, probe) {
			continue
		}
		groups := map[string][]string{}
		lists := map[string][]client.TargetInfo{}
		for _, repo := range rule.Repositories {
			list, err := mr.clients[repo].TopLevelTargets(ctx, prefix)
			if err != nil {
				return nil, fmt.Errorf("repository %s: %w", repo, err)
			}
			key := listKey(list)
			groups[key] = append(groups[key], repo)
			lists[key] = list
		}
		for key, repos := range groups {
			if len(repos) >= rule.Threshold {
				return lists[key], nil
			}
		}
		return nil, fault.Deniedf("the repositories of map rule %d disagree on the top-level targets under %s; none has the threshold %d", i, prefix, rule.Threshold)
	}
	return nil, nil
}

func listKey(list []client.TargetInfo) string {
	var b strings.Builder
	for _, t := range list {
		fmt.Fprintf(&b, "%s %d %s %s\n", t.Name, t.Length, t.Hashes["sha256"], t.Custom)
	}
	return b.String()
}

// DelegationKeyIDs are the union of the role's keys in every repository.
func (mr *multiRepo) DelegationKeyIDs(ctx context.Context, role string) ([]string, error) {
	seen := map[string]bool{}
	var out []string
	for _, c := range mr.clients {
		ids, err := c.DelegationKeyIDs(ctx, role)
		if err != nil {
			return nil, err
		}
		for _, id := range ids {
			if !seen[id] {
				seen[id] = true
				out = append(out, id)
			}
		}
	}
	sort.Strings(out)
	return out, nil
}
