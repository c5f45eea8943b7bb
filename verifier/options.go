package verifier

import (
	"time"

	"github.com/cnabsec/cnabsec/bundle/oci"
	"github.com/cnabsec/cnabsec/metadata/client"
)

// Config says where trust comes from and how to reach the network. It is
// shared by every verification a Verifier runs.
type Config struct {
	// TrustedRoot is the pinned root metadata (the user's ROOT.json). Without
	// it only level 0 can be verified.
	TrustedRoot []byte
	// Location serves the TUF repository (directory, file://, http(s)://, oci://).
	Location string
	// Map, with MapRoots (each repository's pinned root), replaces
	// TrustedRoot and Location: targets are resolved per TAP 4.
	Map      *MapFile
	MapRoots map[string][]byte
	// Fetcher replaces Location (e.g. an export kit read with no network).
	Fetcher client.Fetcher
	// CacheDir keeps trusted metadata across runs, per trust root.
	CacheDir string
	// Timeout bounds each network operation (default 30s).
	Timeout time.Duration
	// Registry says how to reach OCI registries.
	Registry oci.Options
	// Now fixes the reference time of the run; zero means the time of each
	// refresh.
	Now time.Time
	// ImageSource, when set, answers image manifest lookups instead of the
	// registries (thick bundles and export kits).
	ImageSource ImageSource
	// Concurrency bounds how many images are checked at once (default 4).
	Concurrency int
	// Provenance bounds the in-toto metadata one artifact's verification
	// reads (number of links, in all and per step, and bytes).
	Provenance ProvenanceLimits
}
