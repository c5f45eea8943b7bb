package metadata

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/cnabsec/cnabsec/internal/atomicfile"
	"github.com/cnabsec/cnabsec/internal/fault"
)

// Role names.
const (
	RoleRoot      = "root"
	RoleTargets   = "targets"
	RoleSnapshot  = "snapshot"
	RoleTimestamp = "timestamp"
	RoleReleases  = "releases"
)

// Default expiry periods (CNAB-Sec 301 suggests them: docs/operations.md).
const (
	DefaultRootExpiry      = 365 * 24 * time.Hour
	DefaultTargetsExpiry   = 365 * 24 * time.Hour
	DefaultReleasesExpiry  = 7 * 24 * time.Hour
	DefaultSnapshotExpiry  = 24 * time.Hour
	DefaultTimestampExpiry = 24 * time.Hour
)

// Directory and file names inside a repository.
const (
	metadataDir = "metadata"
	targetsDir  = "targets"
	stagedDir   = "staged"
	cacheDir    = "cache"
	configFile  = "repository.json"
	lockFile    = ".lock"
)

// maxMetadataFile bounds every metadata file read from disk.
const maxMetadataFile = 512 << 20

// config is DIR/repository.json: settings that are not part of any signed role.
type config struct {
	Format  int               `json:"format"`
	Expires map[string]string `json:"expires"` // role → Go duration
}

func defaultExpiry(role string) time.Duration {
	switch role {
	case RoleRoot:
		return DefaultRootExpiry
	case RoleTargets:
		return DefaultTargetsExpiry
	case RoleSnapshot:
		return DefaultSnapshotExpiry
	case RoleTimestamp:
		return DefaultTimestampExpiry
	}
	return DefaultReleasesExpiry
}

func (c *config) expiry(role string) time.Duration {
	if parentOf(role) == RoleReleases {
		role = RoleReleases // hash bins expire with releases
	}
	if s, ok := c.Expires[role]; ok {
		if d, err := time.ParseDuration(s); err == nil && d > 0 {
			return d
		}
	}
	return defaultExpiry(role)
}

func readConfig(dir string) (*config, error) {
	p := filepath.Join(dir, configFile)
	b, err := os.ReadFile(p)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fault.Inputf("%s is not a cnabsec repository: %s is missing", dir, configFile)
		}
		return nil, fault.Inputf("repository %s: %w", dir, err)
	}
	var c config
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fault.Inputf("repository %s: %s is corrupted: %w", dir, p, err)
	}
	for role, s := range c.Expires {
		if d, err := time.ParseDuration(s); err != nil || d <= 0 {
			return nil, fault.Inputf("repository %s: %s: expiry of role %s %q is not a positive duration", dir, p, role, s)
		}
	}
	return &c, nil
}

func writeConfig(dir string, c *config) error {
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(dir, configFile), append(b, '\n'), 0o644)
}

// publishedPath is the served file name of a role's metadata: N.ROLE.json,
// except timestamp.json.
func publishedPath(dir, role string, version int64) string {
	if role == RoleTimestamp {
		return filepath.Join(dir, metadataDir, "timestamp.json")
	}
	return filepath.Join(dir, metadataDir, strconv.FormatInt(version, 10)+"."+role+".json")
}

func stagedPath(dir, role string) string {
	return filepath.Join(dir, stagedDir, role+".json")
}

// readFileCapped reads a metadata file, refusing absurd sizes.
func readFileCapped(path string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		return nil, fmt.Errorf("%s is a directory", path)
	}
	if st.Size() > maxMetadataFile {
		return nil, fmt.Errorf("%s: %d bytes exceeds the %d-byte limit for metadata", path, st.Size(), maxMetadataFile)
	}
	return os.ReadFile(path)
}
