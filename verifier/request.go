package verifier

import "time"

// Request is one verification. The zero value of every optional field is the
// safe default.
type Request struct {
	// Reference is the TUF target name of the bundle or image version
	// (REGISTRY/REPO:TAG or REGISTRY/REPO@sha256:HEX; short names are normalized).
	Reference string `json:"reference"`
	// Level is the required level; empty means 2.
	Level Level `json:"level,omitempty"`
	// Image: Reference is an image, checked for the image properties of the level.
	Image bool `json:"image,omitempty"`
	// From reads the thin bundle (or image) from this reference instead of
	// Reference's registry (a mirror or relocated copy).
	From string `json:"from,omitempty"`
	// BundleFile is a local thin bundle.json; ThickFile a local thick archive.
	BundleFile string `json:"-"`
	ThickFile  string `json:"-"`
	// RelocationMappingFile maps original image references to relocated ones.
	RelocationMappingFile string `json:"-"`
	// SupportedExtensions are the requiredExtensions the runtime supports.
	SupportedExtensions []string `json:"supportedExtensions,omitempty"`
	// AllowInspectionsUnsafe runs the layout's in-toto inspections: arbitrary
	// commands, bounded in time, memory and environment. Without it a layout
	// with inspections is refused. The report lists it as an unsafe option.
	AllowInspectionsUnsafe bool `json:"-"`
	// KeepLayouts keeps the root layouts read in the report (LayoutsRead),
	// to draw them; off, a report (cached by the service) does not hold them.
	KeepLayouts bool `json:"-"`
}

// State describes the trusted TUF metadata a Verifier currently holds.
type State struct {
	RootVersion      int64     `json:"rootVersion"`
	TimestampVersion int64     `json:"timestampVersion"`
	SnapshotVersion  int64     `json:"snapshotVersion"`
	TargetsVersion   int64     `json:"targetsVersion"`
	TimestampExpires time.Time `json:"timestampExpires"`
	RefreshedAt      time.Time `json:"refreshedAt"`
}

// TargetRef is a version target as a digest index sees it.
type TargetRef struct {
	Name   string `json:"name"`   // the TUF target name (a bundle or image version)
	SHA256 string `json:"sha256"` // hex sha256 of the signed bytes (bundle or manifest)
	Kind   string `json:"kind"`   // "bundle" or "image"
}
