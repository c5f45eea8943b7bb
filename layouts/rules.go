package layouts

import (
	"fmt"
	"path"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/in-toto/in-toto-golang/in_toto"
)

// This file applies in-toto artifact rules (MATCH, ALLOW, CREATE, DELETE,
// MODIFY, DISALLOW, REQUIRE) with the semantics of in-toto-golang's
// VerifyArtifacts, whose name matching (in_toto.Set.Filter) it uses, but in
// one pass per item with materials and products reported apart, without
// reflection, and without printing: VerifyArtifacts writes a warning to
// stdout on a malformed pattern, so patterns are validated when the layout is
// (checkPattern), before any matching. TestRuleEngineAgreesWithInTotoGolang
// compares the two on generated cases.

// itemRules applies the material and product rules of one step or
// inspection to its link; links holds the (reduced) link of every step and
// inspection, for MATCH rules. It returns the error of each kind.
func itemRules(mats, prods [][]string, link in_toto.Link, links map[string]in_toto.Link) (matErr, prodErr error) {
	matPaths, prodPaths := keySet(link.Materials), keySet(link.Products)
	created, deleted, modified := in_toto.NewSet(), in_toto.NewSet(), in_toto.NewSet()
	for p := range prodPaths {
		if !matPaths.Has(p) {
			created.Add(p)
		}
	}
	for p := range matPaths {
		if !prodPaths.Has(p) {
			deleted.Add(p)
		} else if !hashEqual(link.Materials[p], link.Products[p]) {
			modified.Add(p)
		}
	}
	sets := ruleSets{created: created, deleted: deleted, modified: modified}
	matErr = applyRules("materials", mats, link.Materials, matPaths, sets, links)
	prodErr = applyRules("products", prods, link.Products, prodPaths, sets, links)
	return matErr, prodErr
}

type ruleSets struct{ created, deleted, modified in_toto.Set }

func keySet(m map[string]in_toto.HashObj) in_toto.Set {
	// Artifact names are clean (parseEnvelope refuses links with other names; recordArtifacts), so
	// in-toto-golang's path.Clean of each is the name itself.
	s := make(in_toto.Set, len(m))
	for k := range m {
		s.Add(k)
	}
	return s
}

func hashEqual(a, b in_toto.HashObj) bool {
	if (a == nil) != (b == nil) || len(a) != len(b) {
		return false
	}
	if len(a) == 1 {
		if v, ok := a["sha256"]; ok {
			w, ok := b["sha256"]
			return ok && v == w
		}
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// applyRules consumes the queue (artifact names of one kind) rule by rule.
func applyRules(kind string, rules [][]string, arts map[string]in_toto.HashObj, queue in_toto.Set, sets ruleSets, links map[string]in_toto.Link) error {
	for _, rule := range rules {
		rd, err := in_toto.UnpackRule(rule)
		if err != nil {
			return fmt.Errorf("rule %v: %v", rule, err)
		}
		filtered := queue.Filter(path.Clean(rd["pattern"]))
		var consumed in_toto.Set
		switch rd["type"] {
		case "match":
			consumed = matchRule(rd, arts, queue, links)
		case "allow":
			consumed = filtered
		case "create":
			consumed = filtered.Intersection(sets.created)
		case "delete":
			consumed = filtered.Intersection(sets.deleted)
		case "modify":
			consumed = filtered.Intersection(sets.modified)
		case "disallow":
			if len(filtered) > 0 {
				return fmt.Errorf("%s %s disallowed by rule %v", kind, listNames(filtered), rule)
			}
		case "require":
			if !queue.Has(rd["pattern"]) {
				return fmt.Errorf("%s: %s is required by rule %v but is not among the remaining %s", kind, rd["pattern"], rule, kind)
			}
		default:
			return fmt.Errorf("rule %v: unknown rule type", rule)
		}
		for p := range consumed {
			delete(queue, p)
		}
	}
	return nil
}

// matchRule returns the queued artifacts whose name (less the source prefix)
// matches the pattern and whose hashes equal those of the artifact of the
// same name (under the destination prefix) in the destination link.
func matchRule(rd map[string]string, src map[string]in_toto.HashObj, queue in_toto.Set, links map[string]in_toto.Link) in_toto.Set {
	consumed := in_toto.NewSet()
	dst, ok := links[rd["dstName"]]
	if !ok {
		return consumed
	}
	dstArts := dst.Products
	if rd["dstType"] == "materials" {
		dstArts = dst.Materials
	}
	pattern := rd["pattern"]
	if pattern != "" {
		pattern = path.Clean(pattern)
	}
	srcPrefix, dstPrefix := dirPrefix(rd["srcPrefix"]), dirPrefix(rd["dstPrefix"])
	// Names are matched less the source prefix; two queued names can have
	// the same base ("dir/a" and "a" with prefix "dir/"), hence more.
	bases := queue
	var first map[string]string
	var more map[string][]string
	if srcPrefix != "" {
		bases = make(in_toto.Set, len(queue))
		first = make(map[string]string, len(queue))
		for p := range queue {
			b := strings.TrimPrefix(p, srcPrefix)
			if _, dup := first[b]; dup {
				if more == nil {
					more = map[string][]string{}
				}
				more[b] = append(more[b], p)
			} else {
				first[b] = p
			}
			bases.Add(b)
		}
	}
	for b := range bases.Filter(pattern) {
		dstPath := b
		if dstPrefix != "" || path.Clean(b) != b {
			dstPath = path.Clean(path.Join(dstPrefix, b))
		}
		d, ok := dstArts[dstPath]
		if !ok {
			continue
		}
		srcs := []string{b}
		if first != nil {
			srcs = append([]string{first[b]}, more[b]...)
		}
		for _, p := range srcs {
			if hashEqual(src[p], d) {
				consumed.Add(p)
			}
		}
	}
	return consumed
}

func dirPrefix(p string) string {
	if p == "" {
		return ""
	}
	p = path.Clean(p)
	if !strings.HasSuffix(p, "/") {
		p += "/"
	}
	return p
}

// listNames renders a set of names sorted, at most 10 of them.
func listNames(s in_toto.Set) string {
	names := s.Slice()
	sort.Strings(names)
	if len(names) > 10 {
		return fmt.Sprintf("%v and %d more", names[:10], len(names)-10)
	}
	return fmt.Sprintf("%v", names)
}

// checkPattern refuses artifact rule patterns that in-toto's matcher could
// find malformed: an unfinished escape, an unclosed or empty character class,
// a class item starting with '-' or ']' unescaped, an unfinished range, or
// invalid UTF-8. It is at least as strict as in-toto-golang's matcher.
func checkPattern(p string) error {
	if !utf8.ValidString(p) {
		return fmt.Errorf("pattern %q is not valid UTF-8", p)
	}
	bad := func(why string) error { return fmt.Errorf("malformed pattern %q: %s", p, why) }
	for i := 0; i < len(p); i++ {
		switch p[i] {
		case '\\':
			if i+1 >= len(p) {
				return bad("it ends with an escape")
			}
			i++
		case '[':
			i++
			if i < len(p) && p[i] == '!' {
				i++
			}
			items := 0
			for {
				if i >= len(p) {
					return bad("unclosed character class")
				}
				if p[i] == ']' && items > 0 {
					break
				}
				next, err := classChar(p, i)
				if err != nil {
					return bad(err.Error())
				}
				i = next
				if i < len(p) && p[i] == '-' {
					if i, err = classChar(p, i+1); err != nil {
						return bad(err.Error())
					}
				}
				items++
			}
		}
	}
	return nil
}

// classChar reads one possibly escaped character of a class at p[i] and
// returns the index after it.
func classChar(p string, i int) (int, error) {
	if i >= len(p) {
		return 0, fmt.Errorf("unclosed character class")
	}
	switch p[i] {
	case '-', ']':
		return 0, fmt.Errorf("character class item starts with %q (escape it)", p[i])
	case '\\':
		i++
		if i >= len(p) {
			return 0, fmt.Errorf("it ends with an escape")
		}
	}
	_, n := utf8.DecodeRuneInString(p[i:])
	if i+n >= len(p) {
		return 0, fmt.Errorf("unclosed character class")
	}
	return i + n, nil
}
