// Package doccheck keeps the repository's text pointing only at documents the
// repository holds: no reference to design notes kept elsewhere, and every
// relative Markdown link resolves to a file of the repository.
package doccheck

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

const root = "../.."

// outside names documents that live outside this repository; the repository
// carries its own (docs/cli.md, docs/design.md).
var outside = regexp.MustCompile(`\b(CONTRACT|SPEC-NOTES|STYLE)(\.md)?\b`)

// mdLink is a Markdown link or image target: ](target).
var mdLink = regexp.MustCompile(`\]\(([^)\s]+)\)`)

// walkText calls fn for every text file of the repository (Go, Markdown,
// scripts, YAML, test scripts), skipping hidden directories and fuzz corpora.
func walkText(t *testing.T, fn func(path string, text string)) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != root && (strings.HasPrefix(d.Name(), ".") && d.Name() != ".ci" || d.Name() == "fuzz") {
				return filepath.SkipDir
			}
			return nil
		}
		switch filepath.Ext(p) {
		case ".go", ".md", ".yaml", ".yml", ".txtar", ".sh", "":
		default:
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if bytes.IndexByte(b, 0) >= 0 {
			return nil // a binary (a locally built program), not text
		}
		n++
		fn(p, string(b))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestNoReferenceToDocumentsOutsideTheRepository(t *testing.T) {
	self, _ := filepath.Abs("doccheck_test.go")
	files := walkText(t, func(p, text string) {
		if abs, _ := filepath.Abs(p); abs == self {
			return
		}
		for i, line := range strings.Split(text, "\n") {
			if m := outside.FindString(line); m != "" {
				t.Errorf("%s:%d refers to %s, a document this repository does not hold: point at docs/cli.md or docs/design.md", p, i+1, m)
			}
		}
	})
	if files < 100 {
		t.Fatalf("read only %d files", files)
	}
}

func TestMarkdownLinksResolve(t *testing.T) {
	walkText(t, func(p, text string) {
		if filepath.Ext(p) != ".md" {
			return
		}
		for _, m := range mdLink.FindAllStringSubmatch(text, -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "#") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			target, _, _ = strings.Cut(target, "#")
			if _, err := os.Stat(filepath.Join(filepath.Dir(p), target)); err != nil {
				t.Errorf("%s links to %s, which does not exist", p, m[1])
			}
		}
	})
}
