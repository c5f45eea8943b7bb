// Package capped reads files the user passed with a size limit, so that a
// wrong path (a device, a huge file) is a clear input error, not a hang or an
// out-of-memory crash.
package capped

import (
	"os"

	"github.com/cnabsec/cnabsec/internal/fault"
)

// ReadFile reads path, refusing a directory or a file larger than max bytes
// (fault.Input, naming the file).
func ReadFile(path string, max int64) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fault.Inputf("%w", err)
	}
	if st.IsDir() {
		return nil, fault.Inputf("%s is a directory", path)
	}
	if st.Size() > max {
		return nil, fault.Inputf("%s: %d bytes exceeds the %d-byte limit", path, st.Size(), max)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fault.Inputf("%w", err)
	}
	if int64(len(b)) > max { // grew while read
		return nil, fault.Inputf("%s: more than %d bytes", path, max)
	}
	return b, nil
}
