// Package bundle reads, checks and writes CNAB bundles as the CNAB core
// specification (100, 101, 103, 104) and CNAB-Sec describe them:
//
//   - canonical bytes: RFC 8785 (JCS) of the same JSON value, nothing dropped
//     and nothing added (Canonicalize, CheckCanonical);
//   - thin bundles: the exact bytes, their sha256, the cnab-go view for schema
//     validation, and the images a signer or verifier must check (Parse);
//   - relocation mappings (ParseRelocationMapping, CheckRelocationCovers);
//   - thick bundles: a gzip tar with bundle.json at the root and the images in
//     an OCI image layout under artifacts/layout, verified in one streaming
//     pass (ReadThick) and written reproducibly (WriteThick).
//
// Errors carry a kind from internal/fault. Errors about the form of the input
// (not JSON, not a gzip tar, a malformed mapping) are Input; errors about
// content that fails a security check (not canonical, missing or mismatching
// digests, unsupported required extensions, unsafe archive entries) are Denied.
// A caller that reads a file the user passed where Denied is the wrong outcome
// (a signer refusing its own input) wraps with fault.Inputf("...: %w", err):
// the outermost kind wins and hints are kept. Sentinel errors (ErrNotCanonical,
// ErrNoContentDigest, ...) let callers name the failed check with errors.Is.
package bundle
