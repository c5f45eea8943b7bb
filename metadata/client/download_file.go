package client

import (
	"context"
	"errors"
	"io/fs"
	"os"

	"github.com/cnabsec/cnabsec/internal/atomicfile"
	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/theupdateframework/go-tuf/v2/metadata"
)

// DownloadToFile stores the file of target name at path (written
// atomically, mode 0644), as Download fetches and verifies it. When path
// already holds a regular file whose length and every hash match the trusted
// metadata, nothing is fetched and the file is kept (fetched reports
// whether a download happened). A file at path that does not match is
// replaced. maxLen is as for Download.
func (c *Client) DownloadToFile(ctx context.Context, name, path string, maxLen int64) (info *TargetInfo, fetched bool, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	info, tf, err := c.targetLocked(ctx, name)
	if err != nil {
		return nil, false, err
	}
	if maxLen <= 0 {
		maxLen = c.limits.Target
	}
	if err := checkSignedLength(name, tf, maxLen); err != nil {
		return nil, false, err
	}
	if keep, err := localFileMatches(name, path, tf); err != nil {
		return nil, false, err
	} else if keep {
		return info, false, nil
	}
	data, err := c.downloadLocked(ctx, name, tf, maxLen)
	if err != nil {
		return nil, false, err
	}
	if err := atomicfile.WriteFile(path, data, 0o644); err != nil {
		return nil, false, fault.Inputf("target %q: writing %s: %w", name, path, err)
	}
	return info, true, nil
}

// localFileMatches reports whether path already holds a regular file whose
// length and every hash match tf. A missing or unreadable file does not
// match; only an error other than a missing file from Lstat fails.
func localFileMatches(name, path string, tf *metadata.TargetFiles) (bool, error) {
	st, err := os.Lstat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return false, nil
		}
		return false, fault.Inputf("target %q: local file %s: %w", name, path, err)
	}
	if !st.Mode().IsRegular() || st.Size() != tf.Length {
		return false, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return false, nil
	}
	data, rerr := ReadLimited(f, path, tf.Length)
	f.Close()
	return rerr == nil && verifyTarget(name, data, tf) == nil, nil
}
