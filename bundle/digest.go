package bundle

import (
	"crypto/sha256"
	"encoding/hex"
	"io"

	"github.com/cnabsec/cnabsec/internal/fault"
)

// DigestReader returns "sha256:<hex>" of everything r yields and its length,
// reading in 1 MiB chunks: the digest a thick bundle archive is signed under
// when only the digest is needed (ReadThick computes the same while it
// verifies). A read error is Input (a local file the user named).
func DigestReader(r io.Reader) (string, int64, error) {
	h := sha256.New()
	// Hide WriterTo (an *os.File would copy in 32 KiB pieces).
	n, err := io.CopyBuffer(h, struct{ io.Reader }{r}, make([]byte, chunkSize))
	if err != nil {
		return "", n, fault.Inputf("reading the archive after %d bytes: %w", n, err)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), n, nil
}
