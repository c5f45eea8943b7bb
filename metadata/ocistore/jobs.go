package ocistore

import (
	"context"
	"sync"

	"github.com/cnabsec/cnabsec/internal/fault"
)

// pushWorkers bounds concurrent requests of a push or copy.
var pushWorkers = 8

// runGroups runs the groups one after the other, the jobs of a group
// concurrently (at most workers at a time); it stops at the first error and
// starts no later group after one.
func runGroups(ctx context.Context, groups [][]func() error, workers int) error {
	for _, g := range groups {
		if err := runJobs(ctx, g, workers); err != nil {
			return err
		}
	}
	return nil
}

func runJobs(parent context.Context, jobs []func() error, workers int) error {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
		next  = make(chan func() error)
	)
	for w := 0; w < workers && w < len(jobs); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for job := range next {
				if err := job(); err != nil {
					once.Do(func() { first = err; cancel() })
				}
			}
		}()
	}
feed:
	for _, job := range jobs {
		select {
		case next <- job:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if first != nil {
		return first
	}
	if parent.Err() != nil {
		return fault.Inconclusivef("stopped before every file was sent: %v", context.Cause(parent))
	}
	return nil
}
