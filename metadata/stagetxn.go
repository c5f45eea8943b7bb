package metadata

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/cnabsec/cnabsec/internal/atomicfile"
)

// A staging transaction lands in staged/ all or nothing: its files are
// written to staged/.txn/, then a COMMIT file naming them (and the staged
// files the change makes stale), then they are renamed into staged/. A
// writer killed before COMMIT leaves staged/ as it was; one killed after it
// is rolled forward by the next writer (recoverStagedTxn, under the lock).
// Without this, a batch staged as one file per hash bin and killed between
// two of them would later be published half.
const (
	stagedTxnName   = ".txn"
	stagedTxnCommit = "COMMIT"
)

func stagedTxnDir(dir string) string { return filepath.Join(dir, stagedDir, stagedTxnName) }

type stagedTxn struct {
	dir      string
	Files    []string `json:"files"`    // roles written to .txn/ROLE.json
	Removals []string `json:"removals"` // roles whose staged file goes
}

func newStagedTxn(dir string) (*stagedTxn, error) {
	t := stagedTxnDir(dir)
	if err := os.RemoveAll(t); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(t, 0o755); err != nil {
		return nil, err
	}
	return &stagedTxn{dir: dir}, nil
}

// path is where role's staged file is written within the transaction.
func (t *stagedTxn) path(role string) string {
	t.Files = append(t.Files, role)
	return filepath.Join(stagedTxnDir(t.dir), role+".json")
}

func (t *stagedTxn) remove(role string) { t.Removals = append(t.Removals, role) }

// commit makes the transaction durable, then applies it.
func (t *stagedTxn) commit() error {
	b, err := json.Marshal(t)
	if err != nil {
		return err
	}
	if err := step("staged-files"); err != nil {
		return err
	}
	if err := atomicfile.WriteFile(filepath.Join(stagedTxnDir(t.dir), stagedTxnCommit), b, 0o644); err != nil {
		return err
	}
	if err := step("staged-commit"); err != nil {
		return err
	}
	return recoverStagedTxn(t.dir)
}

// recoverStagedTxn finishes a committed staging transaction (renaming what is
// left of it into staged/) or drops an uncommitted one. Writers call it under
// the exclusive lock before reading the repository.
func recoverStagedTxn(dir string) error {
	t := stagedTxnDir(dir)
	b, err := os.ReadFile(filepath.Join(t, stagedTxnCommit))
	if errors.Is(err, fs.ErrNotExist) {
		return os.RemoveAll(t) // never committed (or nothing there): staged/ is as it was
	}
	if err != nil {
		return err
	}
	var tx stagedTxn
	if err := json.Unmarshal(b, &tx); err != nil {
		return fmt.Errorf("staged transaction %s: %w", t, err)
	}
	if err := moveStagedFiles(dir, t, tx.Files); err != nil {
		return err
	}
	if err := removeStagedFiles(dir, t, tx.Removals); err != nil {
		return err
	}
	if err := atomicfile.SyncDir(filepath.Join(dir, stagedDir)); err != nil {
		return err
	}
	return os.RemoveAll(t)
}

// moveStagedFiles renames the files of a committed staging transaction t
// into staged/ (those already moved before a crash are skipped).
func moveStagedFiles(dir, t string, roles []string) error {
	for _, role := range roles {
		if !safeFileRole(role) {
			return fmt.Errorf("staged transaction %s: bad role name %q", t, role)
		}
		src := filepath.Join(t, role+".json")
		if _, err := os.Stat(src); errors.Is(err, fs.ErrNotExist) {
			continue // moved before a crash
		}
		if err := os.Rename(src, stagedPath(dir, role)); err != nil {
			return err
		}
	}
	return nil
}

// removeStagedFiles removes the staged files a committed staging transaction
// t drops (those already gone are fine).
func removeStagedFiles(dir, t string, roles []string) error {
	for _, role := range roles {
		if !safeFileRole(role) {
			return fmt.Errorf("staged transaction %s: bad role name %q", t, role)
		}
		if err := os.Remove(stagedPath(dir, role)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

// safeFileRole refuses role names that would leave staged/.
func safeFileRole(role string) bool {
	return role != "" && role != "." && role != ".." && filepath.Base(role) == role
}
