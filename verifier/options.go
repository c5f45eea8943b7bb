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

// Option configures a one-shot Verify.
type Option func(*oneShot)

type oneShot struct {
	cfg Config
	req Request
}

// WithTrustedRoot pins the root metadata.
func WithTrustedRoot(root []byte) Option { return func(o *oneShot) { o.cfg.TrustedRoot = root } }

// WithMetadata sets the TUF repository location.
func WithMetadata(location string) Option { return func(o *oneShot) { o.cfg.Location = location } }

// WithCache keeps trusted metadata in dir across runs.
func WithCache(dir string) Option { return func(o *oneShot) { o.cfg.CacheDir = dir } }

// WithTimeout bounds each network operation.
func WithTimeout(d time.Duration) Option { return func(o *oneShot) { o.cfg.Timeout = d } }

// WithRegistryOptions says how to reach registries.
func WithRegistryOptions(r oci.Options) Option { return func(o *oneShot) { o.cfg.Registry = r } }

// WithReferenceTime fixes the time expiry is checked against.
func WithReferenceTime(t time.Time) Option { return func(o *oneShot) { o.cfg.Now = t } }

// WithLevel sets the required level (default 2).
func WithLevel(l Level) Option { return func(o *oneShot) { o.req.Level = l } }

// WithImage verifies the reference as an image.
func WithImage() Option { return func(o *oneShot) { o.req.Image = true } }

// WithSource reads the bundle or image from another reference (mirror, relocated copy).
func WithSource(ref string) Option { return func(o *oneShot) { o.req.From = ref } }

// WithBundleFile reads the thin bundle from a local file.
func WithBundleFile(path string) Option { return func(o *oneShot) { o.req.BundleFile = path } }

// WithThickFile reads a thick bundle archive; its images come from the archive.
func WithThickFile(path string) Option { return func(o *oneShot) { o.req.ThickFile = path } }

// WithRelocationMapping checks images at their relocated references.
func WithRelocationMapping(path string) Option {
	return func(o *oneShot) { o.req.RelocationMappingFile = path }
}

// WithSupportedExtensions declares the requiredExtensions the runtime supports.
func WithSupportedExtensions(names ...string) Option {
	return func(o *oneShot) { o.req.SupportedExtensions = append(o.req.SupportedExtensions, names...) }
}

// WithInspectionsUnsafe runs the layout's in-toto inspections (arbitrary
// commands), bounded in time and environment. Without it a layout with
// inspections is refused. The report lists it as an unsafe option.
func WithInspectionsUnsafe() Option { return func(o *oneShot) { o.req.AllowInspections = true } }
