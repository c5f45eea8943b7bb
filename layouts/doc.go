// Package layouts authors, records and verifies in-toto supply-chain
// metadata for CNAB bundles and images (CNAB-Sec 300/303):
//
//   - Create turns a YAML or JSON template into a root layout signed by its
//     owners (classic in-toto Metablock, readable by python in-toto);
//   - RunStep, StartStep and StopStep record a step as a signed link file
//     named STEP.<keyid[:8]>.link;
//   - Verify checks a layout and its links without executing anything unless
//     inspections are explicitly allowed, counts thresholds by unique public
//     keys, checks expiry against a fixed time and binds the provenance to the
//     artifact being verified (its sha256 must be a product of the layout's
//     last step). It returns one report entry per check.
//
// Layouts and links are parsed from bytes, never from paths, and signatures
// are checked over the canonical JSON of the bytes as they were signed.
package layouts
