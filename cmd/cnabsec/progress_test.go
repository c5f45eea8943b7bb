package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/cnabsec/cnabsec/bundle/oci"
)

// On a terminal a copy shows bytes, rate and time left on one line of at
// most 80 columns, however long the label.
func TestProgressLineShowsBytesRateAndETAWithinEightyColumns(t *testing.T) {
	long := "push registry.example.com/" + strings.Repeat("org/", 30) + "web@sha256:0123456789abcdef"
	got := progressText(oci.Progress{Label: long, Done: 10 << 20, Total: 40 << 20}, 5*time.Second)
	if utf8.RuneCountInString(got) > progressWidth-1 {
		t.Errorf("%d columns: %q", len(got), got)
	}
	for _, want := range []string{"10.0/40.0 MiB", "2.0 MiB/s", "ETA 0:15", "web@sha256:0123456789abcdef"} {
		if !strings.Contains(got, want) {
			t.Errorf("%q lacks %q", got, want)
		}
	}
	if done := progressText(oci.Progress{Label: "pull x", Done: 40 << 20, Total: 40 << 20, Finished: true}, 10*time.Second); strings.Contains(done, "ETA") {
		t.Errorf("a finished copy shows an ETA: %q", done)
	}
}

func TestTerminalProgressRedrawsOneLineAndEndsItWhenFinished(t *testing.T) {
	var b bytes.Buffer
	tp := newTerminalProgress(&b)
	now := time.Unix(0, 0)
	tp.now = func() time.Time { return now }
	tp.report(oci.Progress{Label: "pull a", Done: 0, Total: 1 << 20})
	now = now.Add(time.Second)
	tp.report(oci.Progress{Label: "pull a", Done: 1 << 20, Total: 1 << 20, Finished: true})
	out := b.String()
	if strings.Count(out, "\r") != 2 || !strings.HasSuffix(out, "\n") || strings.Count(out, "\n") != 1 {
		t.Errorf("output %q: want two redraws of one line, ended once", out)
	}
	for _, line := range strings.Split(out, "\r") {
		if len(strings.TrimSuffix(line, "\n")) > progressWidth-1 {
			t.Errorf("line wider than %d: %q", progressWidth-1, line)
		}
	}
}

func TestClock(t *testing.T) {
	for d, want := range map[time.Duration]string{9 * time.Second: "0:09", 75 * time.Second: "1:15", 3725 * time.Second: "1:02:05"} {
		if got := clock(d); got != want {
			t.Errorf("clock(%v) = %q, want %q", d, got, want)
		}
	}
}
