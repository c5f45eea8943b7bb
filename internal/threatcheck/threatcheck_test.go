// Package threatcheck keeps docs/threats.md honest: every attack it lists
// names at least one test, and every test it names exists.
package threatcheck

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var testName = regexp.MustCompile("`((?:Test|Fuzz)[A-Za-z0-9_]+)`")

// definedTests finds every `func TestX(` and `func FuzzX(` in the repository's test files.
func definedTests(t *testing.T, root string) map[string]bool {
	t.Helper()
	def := regexp.MustCompile(`(?m)^func ((?:Test|Fuzz)[A-Za-z0-9_]+)\(`)
	found := map[string]bool{}
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") && p != root {
			return filepath.SkipDir
		}
		if !strings.HasSuffix(p, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, m := range def.FindAllStringSubmatch(string(b), -1) {
			found[m[1]] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

func TestThreatCatalogueNamesOnlyExistingTests(t *testing.T) {
	root := "../.."
	doc, err := os.ReadFile(filepath.Join(root, "docs", "threats.md"))
	if err != nil {
		t.Fatal(err)
	}
	defined := definedTests(t, root)
	rows, named := 0, 0
	for i, line := range strings.Split(string(doc), "\n") {
		if !strings.HasPrefix(line, "| ") || strings.HasPrefix(line, "| attack ") || strings.HasPrefix(line, "|---") {
			continue
		}
		rows++
		cells := strings.Split(line, "|")
		if len(cells) < 5 {
			t.Errorf("docs/threats.md:%d: want | attack | check | tests |", i+1)
			continue
		}
		tests := testName.FindAllStringSubmatch(cells[3], -1)
		if len(tests) == 0 {
			t.Errorf("docs/threats.md:%d: %q names no test", i+1, strings.TrimSpace(cells[1]))
		}
		for _, m := range tests {
			named++
			if !defined[m[1]] {
				t.Errorf("docs/threats.md:%d: test %s does not exist", i+1, m[1])
			}
		}
	}
	if rows < 40 || named < rows {
		t.Fatalf("parsed %d rows naming %d tests: the catalogue format changed?", rows, named)
	}
}
