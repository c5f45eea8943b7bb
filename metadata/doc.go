// Package metadata is the publisher side of a TUF metadata repository as the
// CNAB Security specification (301) lays it out: the top-level roles root,
// targets, snapshot and timestamp, plus an optional terminating delegation
// from targets to the online "releases" role that signs bundle and image
// versions and their in-toto links, optionally split into TAP 15 succinct
// hash bins (releases-bin-0 ...) signed by the releases keys.
//
// A repository is a directory:
//
//	DIR/metadata/   N.root.json, N.targets.json, N.releases.json, N.snapshot.json, timestamp.json
//	DIR/targets/    target files under consistent-snapshot names <hash>.<basename>, for every hash listed
//	DIR/staged/     metadata waiting for more signatures (never served)
//	DIR/repository.json   settings (expiry periods); DIR/.lock; DIR/cache/ (status summaries)
//
// Only metadata/ and targets/ are served (see Handler). Every change runs as
// one transaction under an exclusive flock on DIR/.lock, starting from what is
// on disk, so two writers (goroutines or processes) never lose each other's
// change. Each role touched is re-signed once with its version incremented;
// publication writes target files, then delegated targets metadata, targets,
// root, snapshot and finally timestamp.json, each atomically, so a client at
// any moment sees a state that verifies; a writer that dies part way leaves
// the previous state served and its change unapplied. A change whose roles
// lack signatures (below threshold, or no snapshot/timestamp key given) waits
// in DIR/staged/ until Sign, Refresh or a later transaction completes it;
// metadata that expired while staged is never published. Metadata that no
// kept snapshot (the last three) names is pruned; root versions are kept.
//
// Thresholds always count unique public keys: a key listed under two key IDs,
// or a signature repeated, counts once. Signatures are made with keys.Signer
// under the one key ID TUF and in-toto share (see package keys). Bad input
// (wrong or malformed keys, unknown roles, thresholds below 1 or above the
// unique keys, corrupted metadata) is refused with a fault.Input error naming
// the subject, before anything is written.
package metadata
