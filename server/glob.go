package server

import (
	"fmt"
	"regexp"
	"strings"
)

// glob is an image pattern: "*" matches within one path segment (no "/"),
// "**" matches across segments, "?" matches one character other than "/".
// Everything else matches itself.
type glob struct {
	pattern string
	re      *regexp.Regexp
}

func compileGlob(p string) (glob, error) {
	if p == "" {
		return glob{}, fmt.Errorf("empty image pattern")
	}
	for _, r := range p {
		if r < 0x21 || r > 0x7e {
			return glob{}, fmt.Errorf("image pattern %q: only printable ASCII is allowed", p)
		}
	}
	var b strings.Builder
	b.WriteString("^")
	for i := 0; i < len(p); i++ {
		switch {
		case strings.HasPrefix(p[i:], "**"):
			b.WriteString(".*")
			i++
		case p[i] == '*':
			b.WriteString("[^/]*")
		case p[i] == '?':
			b.WriteString("[^/]")
		default:
			b.WriteString(regexp.QuoteMeta(p[i : i+1]))
		}
	}
	b.WriteString("$")
	re, err := regexp.Compile(b.String())
	if err != nil {
		return glob{}, fmt.Errorf("image pattern %q: %w", p, err)
	}
	return glob{pattern: p, re: re}, nil
}

// match reports whether the pattern matches the image's normalized reference
// (REGISTRY/REPO:TAG or REGISTRY/REPO@sha256:HEX) or its repository
// (REGISTRY/REPO).
func (g glob) match(img image) bool {
	return g.re.MatchString(img.ref) || g.re.MatchString(img.repo)
}
