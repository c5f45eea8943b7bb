package oci

import (
	"fmt"
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

// progressLine redraws one "\rLABEL  12.0 MiB / 40.0 MiB" line at most every
// 100ms and ends it with a newline.
type progressLine struct {
	w           io.Writer
	label       string
	last        time.Time
	done, total int64
	drawn       bool
}

func newProgressLine(w io.Writer, label string) *progressLine {
	return &progressLine{w: w, label: label}
}

func (p *progressLine) update(done, total int64) {
	p.done, p.total = done, total
	if time.Since(p.last) < 100*time.Millisecond && done < total {
		return
	}
	p.last = time.Now()
	p.draw()
}

func (p *progressLine) draw() {
	fmt.Fprintf(p.w, "\r%s  %s / %s", p.label, mib(p.done), mib(p.total))
	p.drawn = true
}

func (p *progressLine) finish() {
	if p.drawn || p.total > 0 {
		p.draw()
		fmt.Fprintln(p.w)
	}
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

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
