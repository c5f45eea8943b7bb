package client

import (
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"errors"
	"hash"
	"path"
	"sort"
	"strings"

	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/theupdateframework/go-tuf/v2/metadata"
)

// TargetInfo is a target as the trusted metadata lists it.
type TargetInfo struct {
	Name   string            `json:"name"`
	Length int64             `json:"length"`
	Hashes map[string]string `json:"hashes"` // algorithm → lowercase hex
	Custom json.RawMessage   `json:"custom,omitempty"`
	// Role is the targets role whose signed metadata lists the target
	// ("targets", "releases", a hash bin, ...).
	Role string `json:"role"`
}

// Target finds name through the delegations (refreshing first if needed)
// and returns what the trusted metadata says about it. A name no trusted
// role lists is Denied ("not found").
func (c *Client) Target(ctx context.Context, name string) (*TargetInfo, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	info, _, err := c.targetLocked(ctx, name)
	return info, err
}

func (c *Client) targetLocked(ctx context.Context, name string) (*TargetInfo, *metadata.TargetFiles, error) {
	if err := c.refreshLocked(ctx); err != nil {
		return nil, nil, err
	}
	if name == "" {
		return nil, nil, fault.Inputf("empty target name")
	}
	var tf *metadata.TargetFiles
	err := c.runTUF(ctx, "looking up target "+name, func() (err error) {
		if err := c.preloadPath(name); err != nil {
			return err
		}
		tf, err = c.up.GetTargetInfo(name)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	if tf == nil {
		return nil, nil, fault.Deniedf("target %q: its entry in the metadata is null", name)
	}
	role, err := c.checkDelegationPath(name, tf)
	if err != nil {
		return nil, nil, err
	}
	info, err := targetInfo(name, tf, role)
	if err != nil {
		return nil, nil, err
	}
	return info, tf, nil
}

// Download returns the bytes of target name, refused unless their length
// and every listed hash match the trusted metadata. maxLen caps the
// download (<= 0: Limits.Target); a target listed as longer is refused
// before anything is fetched.
func (c *Client) Download(ctx context.Context, name string, maxLen int64) ([]byte, *TargetInfo, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	info, tf, err := c.targetLocked(ctx, name)
	if err != nil {
		return nil, nil, err
	}
	data, err := c.downloadLocked(ctx, name, tf, maxLen)
	if err != nil {
		return nil, nil, err
	}
	return data, info, nil
}

// checkSignedLength refuses a target that cannot be fetched safely: longer
// than maxLen, a negative length, no hashes, or a name with empty, '.' or
// '..' segments.
func checkSignedLength(name string, tf *metadata.TargetFiles, maxLen int64) error {
	if tf.Length > maxLen {
		return fault.Deniedf("target %q is %d bytes by its signed metadata, more than the %d allowed", name, tf.Length, maxLen)
	}
	if tf.Length < 0 {
		return fault.Deniedf("target %q has a negative signed length %d", name, tf.Length)
	}
	if len(tf.Hashes) == 0 {
		return fault.Deniedf("target %q lists no hashes: it cannot be verified", name)
	}
	if !validName(name) {
		return fault.Deniedf("target %q has an empty, '.' or '..' path segment: refusing to fetch it", name)
	}
	return nil
}

// downloadLocked fetches and verifies the file of a trusted target entry.
func (c *Client) downloadLocked(ctx context.Context, name string, tf *metadata.TargetFiles, maxLen int64) ([]byte, error) {
	if maxLen <= 0 {
		maxLen = c.limits.Target
	}
	if err := checkSignedLength(name, tf, maxLen); err != nil {
		return nil, err
	}
	var (
		data []byte
		err  error
	)
	var tried []string
	for _, p := range c.targetPaths(name, tf) {
		tried = append(tried, p)
		data, err = c.fetch(ctx, p, tf.Length)
		if err == nil {
			break
		}
		if !errors.Is(err, ErrNotFound) {
			return nil, err
		}
	}
	if err != nil {
		return nil, fault.Inconclusivef("target file of %q not found at %s (tried %s)", name, c.location, strings.Join(tried, ", "))
	}
	if err := verifyTarget(name, data, tf); err != nil {
		return nil, err
	}
	return data, nil
}

// targetPaths lists where the repository may hold the file of a target.
// With consistent snapshots: "targets/<dir>/<hash>.<basename>" (the TUF
// specification's layout, which package metadata writes and go-tuf and
// python-tuf fetch), then the flat "targets/<hash>.<basename>". The hash is
// chosen deterministically (sha256 first; go-tuf picks a random one).
// Without consistent snapshots: "targets/<name>". Any of them is safe: the
// bytes are verified against every signed hash.
func (c *Client) targetPaths(name string, tf *metadata.TargetFiles) []string {
	tm := c.up.GetTrustedMetadataSet()
	if !tm.Root.Signed.ConsistentSnapshot {
		return []string{"targets/" + name}
	}
	algs := make([]string, 0, len(tf.Hashes))
	for alg := range tf.Hashes {
		algs = append(algs, alg)
	}
	sort.Slice(algs, func(i, j int) bool {
		if (algs[i] == "sha256") != (algs[j] == "sha256") {
			return algs[i] == "sha256"
		}
		return algs[i] < algs[j]
	})
	h := hex.EncodeToString(tf.Hashes[algs[0]])
	dir, base := path.Split(name)
	paths := []string{"targets/" + dir + h + "." + base}
	if dir != "" {
		paths = append(paths, "targets/"+h+"."+base)
	}
	return paths
}

// verifyTarget checks the length and every listed hash; an algorithm it
// does not know is refused (fail closed).
func verifyTarget(name string, data []byte, tf *metadata.TargetFiles) error {
	if int64(len(data)) != tf.Length {
		return fault.Deniedf("target %q: downloaded %d bytes, signed length is %d: length mismatch", name, len(data), tf.Length)
	}
	algs := make([]string, 0, len(tf.Hashes))
	for alg := range tf.Hashes {
		algs = append(algs, alg)
	}
	sort.Strings(algs)
	for _, alg := range algs {
		var h hash.Hash
		switch alg {
		case "sha256":
			h = sha256.New()
		case "sha384":
			h = sha512.New384()
		case "sha512":
			h = sha512.New()
		default:
			return fault.Deniedf("target %q: unsupported hash algorithm %q in its signed metadata", name, alg)
		}
		h.Write(data)
		got, want := hex.EncodeToString(h.Sum(nil)), hex.EncodeToString(tf.Hashes[alg])
		if got != want {
			return fault.Deniedf("target %q: %s of the downloaded file is %s, signed %s is %s: hash mismatch", name, alg, got, alg, want)
		}
	}
	return nil
}
