// Package oci moves CNAB bundles and the images they reference through OCI
// registries: image digests (ResolveImage), thin bundles in the CNAB-in-OCI
// format that cnab-to-oci and Porter use (PushBundle, PullBundle), relocation of
// a bundle and its images to another repository (Copy), thick bundle archives
// built from a registry (PullThick), and bundles pushed from a local OCI image
// layout (PushLayout). RemoteOptions and OpenBlob give other registry users the
// same rules.
//
// Every registry access goes through Options: a timeout on each HTTP request,
// size caps on manifests and bundle configs, plain HTTP only for loopback hosts
// and hosts the user named as insecure, proxies from the environment,
// credentials from the Docker config, and two retries when a registry answers
// 429 or 502-504. Errors are classified with
// internal/fault: content that is missing or wrong is Denied, a registry that
// cannot be reached or fails is Inconclusive, a bad reference is Input.
//
// The CNAB-in-OCI format (CNAB spec 201, cnab-to-oci): the bundle is an OCI
// image index annotated io.cnab.runtime_version and
// org.opencontainers.artifactType=application/vnd.cnab.manifest.v1. Its first
// manifest (io.cnab.manifest.type=config) is an image manifest whose config
// blob is the canonical bundle.json; then come the invocation images
// (io.cnab.manifest.type=invocation) and the component images
// (io.cnab.manifest.type=component, io.cnab.component.name=NAME), each by the
// contentDigest bundle.json gives it, copied into the bundle's repository.
package oci
