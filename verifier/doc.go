// Package verifier implements the CNAB-Sec 303 verification workflow with
// gradual security levels: a TUF refresh from a pinned root, the bundle and its
// images compared with their signed targets, in-toto provenance verified
// without executing anything, and a per-check Report explaining the verdict.
package verifier
