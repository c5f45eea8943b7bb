package keys

import (
	"encoding/hex"
	"testing"
	"time"
)

func timeIn() time.Time { return time.Now().UTC().Add(time.Hour).Truncate(time.Second) }

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
