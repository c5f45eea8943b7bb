package bundle

import (
	"crypto/sha256"
	"io"

	"github.com/cnabsec/cnabsec/internal/fault"
)

// DigestReader returns "sha256:<hex>" of everything r yields and its length:
// the digest a thick bundle archive is signed under, when only the digest is
// needed (ReadThick computes the same while it verifies). It reads 1 MiB
// chunks while another goroutine hashes them: reading out of the page cache
// is slow enough on this class of VM that overlapping the two more than
// doubled throughput. A read error is Input (a local file the user named).
func DigestReader(r io.Reader) (string, int64, error) {
	hr := newHashingReader(r, sha256.New())
	defer hr.close()
	if _, err := hr.drain(); err != nil {
		return "", 0, fault.Inputf("reading the archive: %w", err)
	}
	d, n := hr.sum("sha256:")
	return d, n, nil
}
