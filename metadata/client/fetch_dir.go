package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/cnabsec/cnabsec/internal/fault"
)

// dirFetcher reads a repository from a local directory, confined to it with
// os.OpenInRoot (no "..", no symlink escapes).
type dirFetcher struct {
	dir string
}

func (d *dirFetcher) Fetch(ctx context.Context, name string, maxLen int64) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, fault.Inconclusivef("reading %s: %v", filepath.Join(d.dir, name), context.Cause(ctx))
	}
	path := filepath.Join(d.dir, filepath.FromSlash(name))
	f, err := os.OpenInRoot(d.dir, filepath.FromSlash(name))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s: %w", path, ErrNotFound)
		}
		return nil, fault.Inconclusivef("reading %s: %w", path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fault.Inconclusivef("reading %s: %w", path, err)
	}
	if !st.Mode().IsRegular() {
		return nil, fault.Deniedf("%s is not a regular file", path)
	}
	if st.Size() > maxLen {
		return nil, endless(fmt.Sprintf("%s (%d bytes)", path, st.Size()), maxLen)
	}
	data, err := ReadLimited(&ctxReader{ctx: ctx, r: f}, path, maxLen)
	if err != nil {
		if fault.KindOf(err) != fault.Unknown {
			return nil, err
		}
		return nil, fault.Inconclusivef("reading %s: %w", path, err)
	}
	return data, nil
}

// ctxReader stops reading once ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(b []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, context.Cause(c.ctx)
	}
	return c.r.Read(b)
}
