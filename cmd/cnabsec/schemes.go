package main

// Metadata location schemes beyond file, http and https: each import
// registers its scheme with metadata/client, so --metadata accepts it.
import (
	_ "github.com/cnabsec/cnabsec/metadata/ocistore" // oci://REGISTRY/REPOSITORY
)
