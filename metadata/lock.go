package metadata

import (
	"context"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cnabsec/cnabsec/internal/fault"
)

// lock is an flock(2) on DIR/.lock. Exclusive locks serialize writers across
// goroutines and processes; the kernel drops the lock if the process dies.
type lock struct{ f *os.File }

// acquire takes the shared or exclusive lock of the repository dir, waiting
// for other writers until ctx ends.
func acquire(ctx context.Context, dir string, exclusive bool) (*lock, error) {
	p := filepath.Join(dir, lockFile)
	f, err := openLockFile(p, exclusive)
	if err != nil {
		if !exclusive && os.IsNotExist(err) {
			return &lock{}, nil // a read-only view of a repository nobody has written since init
		}
		return nil, fault.Inputf("repository %s: cannot open lock file: %w", dir, err)
	}
	return waitFlock(ctx, f, dir, p, exclusive)
}

// openLockFile opens the lock file: read-only for a shared lock, created if
// need be for an exclusive one.
func openLockFile(p string, exclusive bool) (*os.File, error) {
	if exclusive {
		return os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o644)
	}
	return os.OpenFile(p, os.O_RDONLY, 0o644)
}

// waitFlock polls for the flock on f (backing off up to 50ms) until it is
// held, fails, or ctx ends; f is closed unless the lock is returned.
func waitFlock(ctx context.Context, f *os.File, dir, p string, exclusive bool) (*lock, error) {
	how := unix.LOCK_SH
	if exclusive {
		how = unix.LOCK_EX
	}
	delay := time.Millisecond
	for {
		err := unix.Flock(int(f.Fd()), how|unix.LOCK_NB)
		if err == nil {
			return &lock{f: f}, nil
		}
		if err != unix.EWOULDBLOCK && err != unix.EINTR {
			f.Close()
			return nil, fault.Inputf("repository %s: cannot lock %s: %w", dir, p, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fault.Inconclusivef("repository %s: waiting for the lock held by another writer: %w", dir, ctx.Err())
		case <-time.After(delay):
		}
		if delay < 50*time.Millisecond {
			delay *= 2
		}
	}
}

// release drops the lock (a no-op for the read-only view).
func (l *lock) release() {
	if l == nil || l.f == nil {
		return
	}
	unix.Flock(int(l.f.Fd()), unix.LOCK_UN) //nolint:errcheck // closing releases it anyway
	l.f.Close()
}
