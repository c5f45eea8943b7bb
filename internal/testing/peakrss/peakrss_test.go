package peakrss

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// A status file as Linux writes it (abridged).
const sampleStatus = "Name:\tpeakrss.test\nVmPeak:\t 1300000 kB\nVmHWM:\t   70400 kB\nVmRSS:\t   65536 kB\nThreads:\t5\n"

func writeStatus(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "status")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestStatusFieldReadsKilobytesAsBytes(t *testing.T) {
	p := writeStatus(t, sampleStatus)
	for name, want := range map[string]int64{"VmHWM": 70400 << 10, "VmRSS": 65536 << 10, "VmPeak": 1300000 << 10} {
		got, err := statusField(p, name)
		if err != nil || got != want {
			t.Errorf("%s: got %d, %v; want %d", name, got, err, want)
		}
	}
}

func TestStatusFieldWithoutTheFieldIsAnErrorNotZero(t *testing.T) {
	p := writeStatus(t, "Name:\tx\nVmRSS:\t 10 kB\n")
	_, err := statusField(p, "VmHWM")
	if err == nil || !strings.Contains(err.Error(), "no VmHWM in "+p) {
		t.Fatalf("got %v, want no VmHWM in %s", err, p)
	}
}

func TestStatusFieldWithAMalformedValueIsAnError(t *testing.T) {
	for _, line := range []string{"VmHWM:\tlots kB", "VmHWM:\t 12 MB", "VmHWM:\t 12", "VmHWM:\t -5 kB"} {
		p := writeStatus(t, line+"\n")
		_, err := statusField(p, "VmHWM")
		if err == nil || !strings.Contains(err.Error(), "VmHWM is") || !strings.Contains(err.Error(), "want a number of kB") {
			t.Errorf("%q: got %v, want VmHWM is ..., want a number of kB", line, err)
		}
	}
}

func TestStatusFieldDoesNotTakeAFieldWhoseNameOnlyStartsTheSame(t *testing.T) {
	p := writeStatus(t, "VmHWMax:\t 99 kB\nVmHWM:\t 7 kB\n")
	if got, err := statusField(p, "VmHWM"); err != nil || got != 7<<10 {
		t.Fatalf("got %d, %v; want %d", got, err, 7<<10)
	}
}

func TestStatusFieldOfAMissingFileIsUnavailableNotWrong(t *testing.T) {
	_, err := statusField(filepath.Join(t.TempDir(), "none"), "VmHWM")
	if !errors.Is(err, errNoStatus) {
		t.Fatalf("got %v, want errNoStatus", err)
	}
}

// TestPeakCoversMemoryThisProcessTouched reads the real /proc/self/status
// (skipped elsewhere): after 64 MiB are written, both the resident set and
// its peak hold them.
func TestPeakCoversMemoryThisProcessTouched(t *testing.T) {
	const size = 64 << 20
	buf := make([]byte, size)
	for i := 0; i < len(buf); i += 4096 {
		buf[i] = 1
	}
	cur := Current(t)
	peak := Peak(t)
	runtime.KeepAlive(buf)
	if cur < size {
		t.Errorf("VmRSS %d MiB with %d MiB touched", cur>>20, size>>20)
	}
	if peak < cur {
		t.Errorf("VmHWM %d MiB below VmRSS %d MiB", peak>>20, cur>>20)
	}
}
