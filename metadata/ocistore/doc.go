// Package ocistore keeps a TUF metadata repository in an OCI registry, next
// to the bundles it signs, so that a verifier needs nothing but the registry.
//
// Layout in the repository REG/REPO (docs/oci-metadata.md):
//
//   - every metadata file metadata/F (F = "N.ROLE.json" or "timestamp.json")
//     is an OCI image manifest tagged TagForMetadata(F) = "tuf-F", with the
//     empty config and the file as its single layer of media type
//     MediaTypeMetadata;
//   - every target file targets/DIR/<sha256>.<base> is a blob addressed by
//     sha256:<sha256>, kept reachable by a manifest tagged
//     TagForTarget(<sha256>) = "tuf-target-<sha256>" whose single layer it is
//     (media type MediaTypeTarget). The sha512-named copies of a target are not
//     stored: the cnabsec client always asks for the sha256 name.
//
// Push uploads a publisher's repository directory in a safe order (target
// files first, timestamp last) and skips what the registry already has.
// Fetcher reads such a repository for the TUF client; importing this package
// registers it for locations "oci://REG/REPO". Copy carries the whole
// metadata repository to another registry (cnabsec copy --with-metadata).
package ocistore

// Media types of the artifacts this package writes.
const (
	// ArtifactTypeMetadata is the artifactType of a metadata file's manifest.
	ArtifactTypeMetadata = "application/vnd.cnabsec.tuf.metadata.v1"
	// MediaTypeMetadata is the media type of a metadata file's layer.
	MediaTypeMetadata = "application/vnd.cnabsec.tuf.metadata.v1+json"
	// ArtifactTypeTarget is the artifactType of a target file's manifest.
	ArtifactTypeTarget = "application/vnd.cnabsec.tuf.target.v1"
	// MediaTypeTarget is the media type of a target file's layer.
	MediaTypeTarget = "application/vnd.cnabsec.tuf.target.v1"
	// mediaTypeEmpty is the OCI empty descriptor's media type ("{}").
	mediaTypeEmpty = "application/vnd.oci.empty.v1+json"
)

// Scheme is the location scheme the Fetcher is registered for: oci://REG/REPO.
const Scheme = "oci"
