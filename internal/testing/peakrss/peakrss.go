// Package peakrss reads how much memory this process holds resident, from
// Linux's /proc/self/status, for benchmarks that report memory. Peak (VmHWM)
// is meant for a child process that did only the work measured: the peak of
// the benchmark's own process also holds its set-up. Current (VmRSS) is the
// resident set size at the moment of the call.
package peakrss

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
)

const statusPath = "/proc/self/status"

// errNoStatus is returned when the status file cannot be read (not Linux, or
// no /proc): the measurement is unavailable rather than wrong.
var errNoStatus = errors.New("no " + statusPath)

// Peak returns this process's peak resident set size in bytes (VmHWM). It
// skips tb where /proc/self/status cannot be read and fails it where the
// field is missing or malformed.
func Peak(tb testing.TB) int64 {
	tb.Helper()
	return read(tb, "VmHWM")
}

// Current returns this process's resident set size in bytes now (VmRSS),
// skipping or failing tb as Peak does.
func Current(tb testing.TB) int64 {
	tb.Helper()
	return read(tb, "VmRSS")
}

func read(tb testing.TB, name string) int64 {
	tb.Helper()
	n, err := statusField(statusPath, name)
	if errors.Is(err, errNoStatus) {
		tb.Skip(err)
	}
	if err != nil {
		tb.Fatal(err)
	}
	return n
}

// statusField returns the field name ("VmHWM") of the status file at path in
// bytes; the file gives it as "NAME:  N kB".
func statusField(path, name string) (int64, error) {
	s, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("%w: %v", errNoStatus, err)
	}
	for _, line := range strings.Split(string(s), "\n") {
		rest, ok := strings.CutPrefix(line, name+":")
		if !ok {
			continue
		}
		if f := strings.Fields(rest); len(f) == 2 && f[1] == "kB" {
			if kb, err := strconv.ParseInt(f[0], 10, 64); err == nil && kb >= 0 {
				return kb << 10, nil
			}
		}
		return 0, fmt.Errorf("%s: %s is %q, want a number of kB", path, name, strings.TrimSpace(rest))
	}
	return 0, fmt.Errorf("no %s in %s", name, path)
}
