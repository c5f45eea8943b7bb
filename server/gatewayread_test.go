package server

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// TestManifestReadKeepsItsCapWhateverLengthIsAnnounced: the length an
// upstream announces only sizes the first buffer; a manifest over the cap is
// refused and one within it is read whole and exactly, whether the
// announcement is missing, right, too small, too large or absurd.
func TestManifestReadKeepsItsCapWhateverLengthIsAnnounced(t *testing.T) {
	for _, limit := range []int64{1000, manifestPrealloc + 1000} {
		for _, n := range []int64{0, 1, 511, 512, 513, limit - 1, limit, limit + 1, 3 * limit} {
			body := bytes.Repeat([]byte("x"), int(n))
			for _, announced := range []int64{-1, 0, n / 2, n, n + 1, limit + 1, 1 << 40} {
				t.Run(fmt.Sprintf("limit=%d/size=%d/announced=%d", limit, n, announced), func(t *testing.T) {
					got, err := readCapped(bytes.NewReader(body), announced, limit)
					if n > limit {
						if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("upstream manifest larger than %d bytes", limit)) {
							t.Fatalf("a %d-byte manifest over the %d-byte cap: %v", n, limit, err)
						}
						return
					}
					if err != nil || !bytes.Equal(got, body) {
						t.Fatalf("read %d of %d bytes: %v", len(got), n, err)
					}
				})
			}
		}
	}
}

// TestManifestReadOfAnAnnouncedLengthNeedsNoGrowing: a manifest whose
// length is announced is read into a buffer of that length plus the byte
// that sees its end, and an announcement beyond manifestPrealloc allocates
// no more than that before the bytes arrive.
func TestManifestReadOfAnAnnouncedLengthNeedsNoGrowing(t *testing.T) {
	body := bytes.Repeat([]byte("m"), 1700)
	got, err := readCapped(bytes.NewReader(body), int64(len(body)), MaxManifestSize)
	if err != nil || cap(got) != len(body)+1 {
		t.Fatalf("want %d bytes in a buffer of %d, got %d in %d: %v", len(body), len(body)+1, len(got), cap(got), err)
	}
	got, err = readCapped(bytes.NewReader(body), MaxManifestSize, MaxManifestSize)
	if err != nil || !bytes.Equal(got, body) || cap(got) > manifestPrealloc+1 {
		t.Fatalf("an announced %d bytes: buffer of %d (want at most %d): %v", MaxManifestSize, cap(got), manifestPrealloc+1, err)
	}
}
