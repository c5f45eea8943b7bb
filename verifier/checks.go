package verifier

// Check names: the Name of each Check in a Report (and in its JSON), stable
// for callers, scripts and the report schema. In-toto checks are reported
// under the names of package layouts (layouts.CheckStepLinks, ...).
const (
	CheckTUFRefresh         = "tuf-refresh"         // the TUF client workflow from the pinned root
	CheckBundleTarget       = "bundle-target"       // the version's signed target
	CheckBundleSource       = "bundle-source"       // obtaining the bundle (registry, --from, file, archive)
	CheckBundleDigest       = "bundle-digest"       // the bundle bytes against the signed length and hashes
	CheckCanonicalJSON      = "canonical-json"      // a thin bundle is RFC 8785 canonical
	CheckBundleSchema       = "bundle-schema"       // valid CNAB, every image with a contentDigest
	CheckRequiredExtensions = "required-extensions" // requiredExtensions the runtime supports
	CheckRelocationMapping  = "relocation-mapping"  // the mapping covers the images, pinned by digest
	CheckImageDigest        = "image-digest"        // an image's manifest against its contentDigest
	CheckImageTarget        = "image-target"        // an image's own signed target
	CheckImageProvenance    = "image-provenance"    // an image's in-toto provenance
	CheckBundleProvenance   = "bundle-provenance"   // the bundle's in-toto provenance
	CheckSecurityLevel      = "security-level"      // the required level against the achieved one
	CheckVerification       = "verification"        // a failure that stopped the workflow early
)
