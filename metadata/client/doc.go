// Package client is the TUF client the verifier uses: it refreshes a
// repository's metadata from a pinned trusted root (no trust on first use),
// looks targets up through delegations and downloads target files whose
// length and hashes match the signed metadata.
//
// It wraps go-tuf v2's updater and closes the gaps measured in SPEC-NOTES §2:
// every download goes through this package's fetcher (its own HTTP client,
// per-file deadline, idle timeout, size cap while reading, no retries), all
// expiry checks use the run's fixed reference time, trusted metadata is cached
// per trust root (keyed by the sha256 of the initial trusted root) so a mirror
// or an old copy serving older metadata is a rollback, and every error is
// classified with internal/fault and names the role or file and the reason.
//
// A Client serializes its calls (go-tuf's updater is not safe for concurrent
// use) and refreshes once: create a new Client to see newer metadata.
package client
