//go:build !linux

package server

import "errors"

// ownCorePin sets CPU affinities only on Linux.
type ownCorePin struct{}

func newOwnCorePin() (*ownCorePin, error) {
	return nil, errors.New("CPU affinity is set only on Linux")
}

func (p *ownCorePin) String() string                  { return "" }
func (p *ownCorePin) pin(registry, gateway int) error { return nil }
func (p *ownCorePin) restore(registry, gateway int) error {
	return nil
}
