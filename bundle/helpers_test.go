package bundle

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cnabsec/cnabsec/internal/fault"
)

// vectors is /work/shared/vectors seen from this package (CI clones the repo
// with shared/ beside it, so the relative path holds there too).
const vectors = "../../shared/vectors"

func readVector(t testing.TB, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(vectors, rel))
	if err != nil {
		t.Fatalf("test vector: %v", err)
	}
	return b
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// wantErr fails unless err is of kind k, wraps sentinel (when non-nil) and
// its message contains every fragment.
func wantErr(t testing.TB, err error, k fault.Kind, sentinel error, fragments ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want a %v error containing %q", k, fragments)
	}
	if got := fault.KindOf(err); got != k {
		t.Errorf("kind = %v, want %v (error: %v)", got, k, err)
	}
	if sentinel != nil && !errors.Is(err, sentinel) {
		t.Errorf("error does not wrap %v: %v", sentinel, err)
	}
	for _, f := range fragments {
		if !strings.Contains(err.Error(), f) {
			t.Errorf("error lacks %q: %v", f, err)
		}
	}
}
