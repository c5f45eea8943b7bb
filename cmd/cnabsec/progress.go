package main

import (
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/cnabsec/cnabsec/bundle/oci"
)

// progressWidth is the widest progress line drawn on a terminal.
const progressWidth = 80

// terminalProgress draws each copy's progress on one line of w, redrawn in
// place: what is copied, bytes done of the total, the rate and the time left.
type terminalProgress struct {
	w     io.Writer
	mu    sync.Mutex
	start map[string]time.Time
	now   func() time.Time
}

func newTerminalProgress(w io.Writer) *terminalProgress {
	return &terminalProgress{w: w, start: map[string]time.Time{}, now: time.Now}
}

func (t *terminalProgress) report(p oci.Progress) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	start, ok := t.start[p.Label]
	if !ok {
		start, t.start[p.Label] = now, now
	}
	fmt.Fprintf(t.w, "\r%-*s", progressWidth-1, progressText(p, now.Sub(start)))
	if p.Finished {
		fmt.Fprintln(t.w)
		delete(t.start, p.Label)
	}
}

// progressText is "LABEL  12.0/40.0 MiB  3.2 MiB/s  ETA 0:09" in at most
// progressWidth-1 columns: the label is shortened from the left.
func progressText(p oci.Progress, elapsed time.Duration) string {
	figures := fmt.Sprintf("  %.1f/%.1f MiB", mebi(p.Done), mebi(p.Total))
	if secs := elapsed.Seconds(); secs > 0 && p.Done > 0 {
		rate := float64(p.Done) / secs
		figures += fmt.Sprintf("  %.1f MiB/s", rate/(1<<20))
		if !p.Finished && p.Total > p.Done {
			figures += "  ETA " + clock(time.Duration(float64(p.Total-p.Done)/rate*float64(time.Second)))
		}
	}
	label := p.Label
	if room := progressWidth - 1 - len(figures); len(label) > room {
		label = "…" + label[len(label)-room+1:]
	}
	return label + figures
}

func mebi(n int64) float64 { return float64(n) / (1 << 20) }

// clock is a duration as M:SS (H:MM:SS from an hour).
func clock(d time.Duration) string {
	s := int64(d.Round(time.Second) / time.Second)
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}

// logProgress logs each finished copy at level info (off a terminal: shown
// with --log-level info, nothing otherwise).
func logProgress(p oci.Progress) {
	if p.Finished {
		slog.Info("copied", "what", p.Label, "bytes", p.Done, "total", p.Total)
	}
}
