package oci

import (
	"io"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// progress returns the ggcr option that reports a copy's progress to
// Options.Progress (none when it is nil) and a function to call once the copy
// returned.
func (s *session) progress(label string) ([]remote.Option, func()) {
	if s.opts.Progress == nil {
		return nil, func() {}
	}
	ch := make(chan v1.Update)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		r := newProgressLine(s.opts.Progress, label)
		defer r.finish()
		for {
			select {
			case u, ok := <-ch:
				if !ok {
					return
				}
				if u.Error == nil {
					r.update(u.Complete, u.Total)
				}
			case <-stop:
				return
			}
		}
	}()
	// After remote.Push returns it sends nothing more (sends are unbuffered
	// and happen before it returns), so stopping the reader then is safe.
	return []remote.Option{remote.WithProgress(ch)}, func() { close(stop); wg.Wait() }
}

// Progress is the state of one copy or pull: its label (what is copied,
// e.g. "push REG/REPO@sha256:..."), the bytes done of the total, and whether
// it finished. The caller decides how to show it.
type Progress struct {
	Label       string
	Done, Total int64
	Finished    bool
}

// progressLine reports a copy's progress to the caller's function at most
// every 100 ms, and once more when it finishes.
type progressLine struct {
	report      func(Progress)
	label       string
	last        time.Time
	done, total int64
	reported    bool
}

func newProgressLine(report func(Progress), label string) *progressLine {
	return &progressLine{report: report, label: label}
}

func (p *progressLine) update(done, total int64) {
	p.done, p.total = done, total
	if time.Since(p.last) < 100*time.Millisecond && done < total {
		return
	}
	p.last = time.Now()
	p.send(false)
}

func (p *progressLine) send(finished bool) {
	p.report(Progress{Label: p.label, Done: p.done, Total: p.total, Finished: finished})
	p.reported = true
}

func (p *progressLine) finish() {
	if p.reported || p.total > 0 {
		p.send(true)
	}
}

// countingWriter reports bytes written through a progressLine.
type countingWriter struct {
	w     io.Writer
	n     int64
	total int64
	line  *progressLine
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	if c.line != nil {
		c.line.update(c.n, c.total)
	}
	return n, err
}
