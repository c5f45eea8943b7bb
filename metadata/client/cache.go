package client

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/cnabsec/cnabsec/internal/atomicfile"
	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/theupdateframework/go-tuf/v2/metadata"
	"github.com/theupdateframework/go-tuf/v2/metadata/trustedmetadata"
)

// noCacheDir is given to go-tuf as its local metadata directory when there
// is no cache. go-tuf reads "<dir>/timestamp.json" etc. even with its cache
// disabled, and an empty directory would make it read the current working
// directory; a path below the null device can never be opened.
var noCacheDir = filepath.Join(os.DevNull, "cnabsec-no-metadata-cache")

// cache keeps trusted metadata for one trust root:
//
//	<CacheDir>/<sha256 of the initial trusted root>/roots/N.root.json
//	<CacheDir>/<sha256 of the initial trusted root>/metadata/{timestamp,snapshot,targets,ROLE}.json
//
// Every file in it was accepted by the TUF workflow before it was written
// (atomically, mode 0600). Roots are re-verified as a chain from the pinned
// root on every start; the rest is re-verified by go-tuf.
//
// A flat store (Options.MetadataDir) keeps the same files directly in dir,
// and the newest trusted root as dir/root.json.
type cache struct {
	dir  string
	flat bool
}

// openFlatStore opens a local metadata directory with unversioned names.
func openFlatStore(dir string) (*cache, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fault.Inputf("metadata directory %s: %w", dir, err)
	}
	return &cache{dir: dir, flat: true}, nil
}

func openCache(cacheDir string, pinned []byte) (*cache, error) {
	sum := sha256.Sum256(pinned)
	c := &cache{dir: filepath.Join(cacheDir, hex.EncodeToString(sum[:]))}
	for _, d := range []string{c.rootsDir(), c.metadataDir()} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fault.WithRemedy(fault.Inputf("metadata cache %s: %w", cacheDir, err),
				fault.RemedyWritableCache, cacheDir)
		}
	}
	return c, nil
}

func (c *cache) rootsDir() string { return filepath.Join(c.dir, "roots") }
func (c *cache) metadataDir() string {
	if c.flat {
		return c.dir
	}
	return filepath.Join(c.dir, "metadata")
}
func (c *cache) rootPath(v int64) string {
	if c.flat {
		return filepath.Join(c.dir, "root.json")
	}
	return filepath.Join(c.rootsDir(), strconv.FormatInt(v, 10)+".root.json")
}

// latestRoot walks the cached roots from the pinned one, verifying each
// version against the previous one exactly as the TUF root update does, and
// returns the newest verified root. A cached root that does not verify is an
// error: the cache was tampered with or is corrupt.
func (c *cache) latestRoot(pinned []byte) (_ []byte, _ int64, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fault.Inputf("metadata cache %s: a cached root made go-tuf fail: %v", c.dir, p)
		}
	}()
	tm, err := trustedmetadata.New(pinned)
	if err != nil {
		return nil, 0, err
	}
	latest := pinned
	for v := tm.Root.Signed.Version + 1; ; v++ {
		p := c.rootPath(v)
		data, err := os.ReadFile(p)
		if errors.Is(err, fs.ErrNotExist) {
			break
		}
		if err != nil {
			return nil, 0, fault.Inputf("metadata cache: %w", err)
		}
		err = checkStructure(metadata.ROOT, data)
		if err == nil {
			_, err = tm.UpdateRoot(data)
		}
		if err != nil {
			return nil, 0, fault.WithRemedy(
				fault.Inputf("metadata cache: %s does not verify against trusted root version %d: %v", p, v-1, err),
				fault.RemedyResetCache, c.dir)
		}
		latest = data
	}
	return latest, tm.Root.Signed.Version, nil
}

// checkFiles refuses cached metadata that does not even parse: go-tuf
// silently skips cached files with bad signatures but fails the whole
// refresh, with an unhelpful message, on one it cannot parse.
func (c *cache) checkFiles() error {
	entries, err := os.ReadDir(c.metadataDir())
	if err != nil {
		return fault.Inputf("metadata cache: %w", err)
	}
	for _, e := range entries {
		p := filepath.Join(c.metadataDir(), e.Name())
		if !e.Type().IsRegular() || filepath.Ext(e.Name()) != ".json" || (c.flat && e.Name() == "root.json") {
			continue
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return fault.Inputf("metadata cache: %w", err)
		}
		if err := checkCachedFile(e.Name(), data); err != nil {
			return fault.WithRemedy(fault.Inputf("metadata cache: %s is corrupt: %v", p, err),
				fault.RemedyResetCache, c.dir)
		}
	}
	return nil
}

// checkCachedFile parses the cached file name as the metadata of its role
// (timestamp, snapshot, or a targets role) and checks its structure.
func checkCachedFile(name string, data []byte) error {
	role := strings.TrimSuffix(name, ".json")
	var err error
	switch role {
	case metadata.TIMESTAMP:
		_, err = metadata.Timestamp().FromBytes(data)
	case metadata.SNAPSHOT:
		_, err = metadata.Snapshot().FromBytes(data)
	default:
		role = metadata.TARGETS
		_, err = metadata.Targets().FromBytes(data)
	}
	if err != nil {
		return err
	}
	return checkStructure(role, data)
}

// saveRoot stores a verified root version (roots never change once written).
func (c *cache) saveRoot(v int64, data []byte) error {
	p := c.rootPath(v)
	if c.flat {
		// One root.json: the newest verified root replaces an older one.
		if old, err := os.ReadFile(p); err == nil {
			if md, err := metadata.Root().FromBytes(old); err == nil && md.Signed.Version >= v {
				return nil
			}
		}
	} else if _, err := os.Stat(p); err == nil {
		return nil
	}
	if err := atomicfile.WriteFile(p, data, 0o600); err != nil {
		return fault.Inputf("metadata cache: writing %s: %w", p, err)
	}
	return nil
}

// saveRole stores accepted metadata for role unless the cache already holds
// a newer version that is still trusted (another run may have seen newer
// metadata meanwhile). trusted reports whether the cached bytes still verify;
// a newer cached file that does not (e.g. signed by a revoked key after a
// fast-forward attack) is replaced.
func (c *cache) saveRole(role string, version int64, data []byte, trusted func([]byte) bool) error {
	p := filepath.Join(c.metadataDir(), roleFile(role)+".json")
	if old, err := os.ReadFile(p); err == nil {
		if bytes.Equal(old, data) {
			return nil // unchanged: no write, no fsync
		}
		var probe struct {
			Signed struct {
				Version int64 `json:"version"`
			} `json:"signed"`
		}
		if json.Unmarshal(old, &probe) == nil && probe.Signed.Version > version && trusted != nil && trusted(old) {
			return nil
		}
	}
	if err := atomicfile.WriteFile(p, data, 0o600); err != nil {
		return fault.Inputf("metadata cache: writing %s: %w", p, err)
	}
	return nil
}
