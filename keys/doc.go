// Package keys generates, loads and exports the signing keys of publishers,
// and computes the one key ID that TUF metadata and in-toto layouts share.
//
// A key ID is the sha256 of the OLPC canonical JSON of
// {"keyid_hash_algorithms":["sha256","sha512"],"keytype":T,"keyval":{"public":P},"scheme":S},
// the ID that python in-toto, securesystemslib and in-toto-golang compute.
// Supported: ed25519, ecdsa P-256 (ecdsa-sha2-nistp256) and RSA (rsassa-pss-sha256).
package keys
