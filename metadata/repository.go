package metadata

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cnabsec/cnabsec/internal/fault"
)

// Repository is a TUF metadata repository in a directory. It holds no state
// between calls: every operation reads the directory under a lock, so several
// Repository values (or processes) may work on one directory at once.
type Repository struct {
	dir string
	now func() time.Time
}

// Open returns the repository at dir after checking that it is one and that
// its published root, snapshot and timestamp verify.
func Open(dir string) (*Repository, error) {
	st, err := os.Stat(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fault.Inputf("repository %s does not exist", dir)
		}
		return nil, fault.Inputf("repository %s: %w", dir, err)
	}
	if !st.IsDir() {
		return nil, fault.Inputf("repository %s is not a directory", dir)
	}
	r := &Repository{dir: dir, now: time.Now}
	if err := r.read(context.Background(), func(*state) error { return nil }); err != nil {
		return nil, err
	}
	return r, nil
}

// Dir is the repository directory.
func (r *Repository) Dir() string { return r.dir }

// read runs fn on the repository's state under a shared lock, held until fn
// returns so that no writer prunes files fn is about to read.
func (r *Repository) read(ctx context.Context, fn func(*state) error) error {
	l, err := acquire(ctx, r.dir, false)
	if err != nil {
		return err
	}
	defer l.release()
	st, err := loadState(r.dir, r.now())
	if err != nil {
		return err
	}
	return fn(st)
}

// write runs fn on a fresh state under the exclusive lock.
func (r *Repository) write(ctx context.Context, fn func(*state) (*Result, error)) (*Result, error) {
	l, err := acquire(ctx, r.dir, true)
	if err != nil {
		return nil, err
	}
	defer l.release()
	if err := recoverStagedTxn(r.dir); err != nil {
		return nil, fault.WithRemedy(fault.Inputf("repository %s: unfinished staging transaction: %w", r.dir, err),
			fault.RemedyInspectStagingTxn, r.dir)
	}
	removeStaleTemps(r.dir)
	st, err := loadState(r.dir, r.now())
	if err != nil {
		return nil, err
	}
	res, err := fn(st)
	if err != nil {
		return nil, err
	}
	st.saveSummaries()
	return res, nil
}

// MetadataDir is DIR/metadata, the directory clients fetch metadata from.
func (r *Repository) MetadataDir() string { return filepath.Join(r.dir, metadataDir) }

// TargetsDir is DIR/targets, the directory clients fetch target files from.
func (r *Repository) TargetsDir() string { return filepath.Join(r.dir, targetsDir) }

// TrustedRoot returns the bytes of 1.root.json, the root clients pin.
func (r *Repository) TrustedRoot() ([]byte, error) {
	p := publishedPath(r.dir, RoleRoot, 1)
	b, err := readFileCapped(p)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fault.Inputf("repository %s has not published a root yet (%s is missing)", r.dir, p)
		}
		return nil, fault.Inputf("repository %s: %w", r.dir, err)
	}
	return b, nil
}

// removeStaleTemps deletes the temporary files of writes that a killed
// writer left behind (atomicfile names them .NAME.tmp-*). Only a writer
// holding the exclusive lock calls it, so none of them is in progress.
// Target files' directories are not walked: they can be many, and their
// leftovers are hidden dot-files too.
func removeStaleTemps(dir string) {
	for _, d := range []string{dir, filepath.Join(dir, metadataDir), filepath.Join(dir, stagedDir), filepath.Join(dir, cacheDir)} {
		entries, err := os.ReadDir(d)
		if err != nil {
			continue
		}
		for _, e := range entries {
			if n := e.Name(); strings.HasPrefix(n, ".") && strings.Contains(n, ".tmp-") && e.Type().IsRegular() {
				os.Remove(filepath.Join(d, n)) //nolint:errcheck // best effort
			}
		}
	}
}
