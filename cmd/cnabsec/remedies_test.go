package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/keys"
)

// A remedy a library attaches but the command cannot word would print no
// hint: every remedy has words, and words that use the subject show it.
func TestEveryRemedyIsWorded(t *testing.T) {
	for _, r := range fault.Remedies() {
		words, ok := remedyWords[r]
		if !ok {
			t.Errorf("remedy %s has no words in remedyWords", r)
			continue
		}
		if w := words("SUBJECT"); w == "" {
			t.Errorf("remedy %s is worded as nothing", r)
		}
	}
	if len(remedyWords) != len(fault.Remedies()) {
		t.Errorf("remedyWords has %d entries for %d remedies", len(remedyWords), len(fault.Remedies()))
	}
}

func TestHintWordsTheLibrarysRemedyWithItsSubject(t *testing.T) {
	err := fault.WithRemedy(errors.New("refusing plain HTTP to 10.0.0.5:5000"), fault.RemedyInsecureRegistry, "10.0.0.5:5000")
	if got := hintFor(err); got != "if 10.0.0.5:5000 is a registry you trust on this network, pass --insecure-registry 10.0.0.5:5000" {
		t.Errorf("hint %q", got)
	}
	worded := fault.WithHint(err, "the command's own hint")
	if got := hintFor(worded); got != "the command's own hint" {
		t.Errorf("the command's hint did not win: %q", got)
	}
}

// Libraries attach remedies; only cmd/ words hints. A fault.WithHint call
// or a "hint:" line in a library's non-test code is CLI wording in the wrong
// layer.
func TestLibrariesWordNoHints(t *testing.T) {
	root := filepath.Join("..", "..")
	worded := regexp.MustCompile(`fault\.WithHint\(|"hint: `)
	n := 0
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if d.IsDir() && (strings.HasPrefix(rel, "cmd") || strings.HasPrefix(rel, "tools") || strings.HasPrefix(rel, ".") && rel != ".") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") || strings.HasPrefix(rel, filepath.Join("internal", "fault")) {
			return nil
		}
		n++
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if loc := worded.FindIndex(b); loc != nil {
			t.Errorf("%s:%d words a hint: attach a fault.Remedy and word it in cmd/cnabsec/remedies.go", rel, 1+strings.Count(string(b[:loc[0]]), "\n"))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 100 {
		t.Fatalf("walked only %d library files", n)
	}
}

// keys says only that a key is encrypted or the passphrase is wrong; the
// command says where the passphrase comes from.
func TestEncryptedKeyHintNamesThePassphraseFlag(t *testing.T) {
	err := fault.Inputf("key file ci.key: %w", fmt.Errorf("%w: the key is encrypted", keys.ErrPassphrase))
	if got := hintFor(err); !strings.Contains(got, "--passphrase-env") {
		t.Errorf("hint %q", got)
	}
}
