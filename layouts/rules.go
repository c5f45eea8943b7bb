package layouts

import (
	"fmt"
	"path"
	"reflect"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/in-toto/in-toto-golang/in_toto"
)

// This file applies in-toto artifact rules (MATCH, ALLOW, CREATE, DELETE,
// MODIFY, DISALLOW, REQUIRE) with the semantics of in-toto-golang's
// VerifyArtifacts and its name matching, but in one pass per rule without
// building intermediate sets, with materials and products reported apart,
// without reflection, and without printing (VerifyArtifacts writes a
// warning to stdout on a malformed pattern; patterns are validated with the
// layout, checkPattern). TestRuleEngineAgreesWithInTotoGolang and
// TestGlobMatchAgreesWithInTotoGolang compare the two on generated cases.

// itemRules applies the material and product rules of one step or
// inspection to its link; links holds the (reduced) link of every step and
// inspection, for MATCH rules. It returns the error of each kind. Artifact
// names are clean relative paths (links with others are refused before,
// recordArtifacts records no others), so in-toto-golang's path.Clean of each
// name is the name itself.
func itemRules(mats, prods [][]string, link in_toto.Link, links map[string]in_toto.Link) (matErr, prodErr error) {
	matErr = applyRules("materials", mats, queueOf(link.Materials), link, links)
	prodErr = applyRules("products", prods, queueOf(link.Products), link, links)
	return matErr, prodErr
}

// queue holds the artifacts of one kind not yet consumed by a rule, names
// with their hashes in two slices that rules filter in place (in no
// particular order: every rule decides for each artifact on its own).
type queue struct {
	names  []string
	hashes []in_toto.HashObj
}

func queueOf(m map[string]in_toto.HashObj) *queue {
	q := &queue{names: make([]string, 0, len(m)), hashes: make([]in_toto.HashObj, 0, len(m))}
	for k, h := range m {
		q.names = append(q.names, k)
		q.hashes = append(q.hashes, h)
	}
	return q
}

// consume removes every artifact whose name the pattern (when not empty)
// matches and take accepts.
func (q *queue) consume(pattern string, take func(name string, h in_toto.HashObj) bool) {
	n := 0
	for i, name := range q.names {
		if (pattern == "" || globMatch(pattern, name)) && take(name, q.hashes[i]) {
			continue
		}
		q.names[n], q.hashes[n] = name, q.hashes[i]
		n++
	}
	clear(q.names[n:])
	clear(q.hashes[n:])
	q.names, q.hashes = q.names[:n], q.hashes[:n]
}

// applyRules consumes the queue (artifacts of one kind) rule by rule.
func applyRules(kind string, rules [][]string, q *queue, link in_toto.Link, links map[string]in_toto.Link) error {
	for _, rule := range rules {
		rd, err := in_toto.UnpackRule(rule)
		if err != nil {
			return fmt.Errorf("rule %v: %v", rule, err)
		}
		switch rd["type"] {
		case "disallow":
			if err := disallow(kind, rule, path.Clean(rd["pattern"]), q); err != nil {
				return err
			}
		case "require":
			if !slices.Contains(q.names, rd["pattern"]) {
				return fmt.Errorf("%s: %s is required by rule %v but is not among the remaining %s", kind, rd["pattern"], rule, kind)
			}
		case "match":
			// MATCH matches the pattern against the name less the source
			// prefix (matchRule does); the others against the name.
			q.consume("", matchRule(rd, links))
		default:
			consume := consumer(rd["type"], link)
			if consume == nil {
				return fmt.Errorf("rule %v: unknown rule type", rule)
			}
			q.consume(path.Clean(rd["pattern"]), consume)
		}
	}
	return nil
}

// consumer is the test of ALLOW, CREATE, DELETE and MODIFY rules (nil for
// another type).
func consumer(typ string, link in_toto.Link) func(string, in_toto.HashObj) bool {
	switch typ {
	case "allow":
		return func(string, in_toto.HashObj) bool { return true }
	case "create":
		return func(n string, _ in_toto.HashObj) bool { return has(link.Products, n) && !has(link.Materials, n) }
	case "delete":
		return func(n string, _ in_toto.HashObj) bool { return has(link.Materials, n) && !has(link.Products, n) }
	case "modify":
		return func(n string, _ in_toto.HashObj) bool {
			return has(link.Materials, n) && has(link.Products, n) && !hashEqual(link.Materials[n], link.Products[n])
		}
	}
	return nil
}

// disallow fails when any remaining name matches the pattern.
func disallow(kind string, rule []string, pattern string, q *queue) error {
	var hit []string
	for _, n := range q.names {
		if globMatch(pattern, n) {
			hit = append(hit, n)
		}
	}
	if len(hit) > 0 {
		return fmt.Errorf("%s %s disallowed by rule %v", kind, listNames(hit), rule)
	}
	return nil
}

func has(m map[string]in_toto.HashObj, n string) bool {
	_, ok := m[n]
	return ok
}

// matchRule returns whether a queued artifact is consumed by a MATCH rule:
// its name less the source prefix matches the pattern, and the artifact of
// that name under the destination prefix in the destination link has equal
// hashes.
func matchRule(rd map[string]string, links map[string]in_toto.Link) func(string, in_toto.HashObj) bool {
	dst, ok := links[rd["dstName"]]
	if !ok {
		return func(string, in_toto.HashObj) bool { return false }
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
	return func(p string, h in_toto.HashObj) bool {
		b := strings.TrimPrefix(p, srcPrefix)
		if !globMatch(pattern, b) {
			return false
		}
		dstPath := b
		// A clean relative name is its own path.Clean (all names are, in
		// a link that passed its checks): the scan saves the cleaning.
		if dstPrefix != "" || (!cleanRelative(b) && path.Clean(b) != b) {
			dstPath = path.Clean(path.Join(dstPrefix, b))
		}
		d, ok := dstArts[dstPath]
		return ok && hashEqual(h, d)
	}
}

// globMatch reports whether name matches an in-toto artifact pattern: '*'
// matches any sequence (including '/'), '?' any one character, '[...]' a
// character class ('!' negates), '\\' escapes. Patterns are validated
// (checkPattern) before; a malformed one matches nothing. Like in-toto's
// matcher it places each star-separated chunk at its leftmost position (the
// last chunk at the end), so no pattern makes it backtrack exponentially.
func globMatch(pattern, name string) bool {
	for len(pattern) > 0 {
		star, chunk, rest := nextChunk(pattern)
		if star && chunk == "" {
			return true
		}
		if t, ok := matchChunk(chunk, name); ok && (len(t) == 0 || len(rest) > 0) {
			name, pattern = t, rest
			continue
		}
		found := false
		if star {
			for i := 1; i <= len(name); i++ {
				t, ok := matchChunk(chunk, name[i:])
				if !ok || (len(rest) == 0 && len(t) > 0) {
					continue
				}
				name, pattern, found = t, rest, true
				break
			}
		}
		if !found {
			return false
		}
	}
	return len(name) == 0
}

// nextChunk splits off leading stars and the following star-free chunk.
func nextChunk(p string) (star bool, chunk, rest string) {
	for len(p) > 0 && p[0] == '*' {
		p, star = p[1:], true
	}
	inClass := false
	i := 0
	for ; i < len(p); i++ {
		switch p[i] {
		case '\\':
			if i+1 < len(p) {
				i++
			}
		case '[':
			inClass = true
		case ']':
			inClass = false
		case '*':
			if !inClass {
				return star, p[:i], p[i:]
			}
		}
	}
	return star, p, ""
}

// matchChunk matches a star-free chunk at the start of s and returns the rest.
func matchChunk(chunk, s string) (string, bool) {
	for len(chunk) > 0 {
		if len(s) == 0 {
			return "", false
		}
		switch chunk[0] {
		case '?':
			_, n := utf8.DecodeRuneInString(s)
			s, chunk = s[n:], chunk[1:]
		case '[':
			r, n := utf8.DecodeRuneInString(s)
			rest, ok := matchClass(chunk[1:], r)
			if !ok {
				return "", false
			}
			s, chunk = s[n:], rest
		case '\\':
			if len(chunk) < 2 {
				return "", false
			}
			chunk = chunk[1:]
			fallthrough
		default:
			if chunk[0] != s[0] {
				return "", false
			}
			s, chunk = s[1:], chunk[1:]
		}
	}
	return s, true
}

// matchClass reports whether r is in the class starting at c (after '[') and
// returns the pattern after the closing ']'.
func matchClass(c string, r rune) (string, bool) {
	negated := false
	if len(c) > 0 && c[0] == '!' {
		negated, c = true, c[1:]
	}
	in, items := false, 0
	for {
		if len(c) == 0 {
			return "", false
		}
		if c[0] == ']' && items > 0 {
			return c[1:], in != negated
		}
		lo, rest, ok := classRune(c)
		if !ok {
			return "", false
		}
		hi := lo
		if c = rest; len(c) > 0 && c[0] == '-' {
			if hi, c, ok = classRune(c[1:]); !ok {
				return "", false
			}
		}
		if lo <= r && r <= hi {
			in = true
		}
		items++
	}
}

func classRune(c string) (rune, string, bool) {
	if len(c) == 0 || c[0] == '-' || c[0] == ']' {
		return 0, "", false
	}
	if c[0] == '\\' {
		if c = c[1:]; len(c) == 0 {
			return 0, "", false
		}
	}
	r, n := utf8.DecodeRuneInString(c)
	return r, c[n:], true
}

func hashEqual(a, b in_toto.HashObj) bool {
	// One map (artifacts of one digest share theirs, hashObjects), or both
	// nil: equal, without reading either.
	if reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer() {
		return true
	}
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

// listNames renders names sorted, at most 10 of them.
func listNames(names []string) string {
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
