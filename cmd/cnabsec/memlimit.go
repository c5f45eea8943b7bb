package main

import (
	"os"
	"runtime/debug"

	"github.com/urfave/cli/v2"

	"github.com/cnabsec/cnabsec/internal/fault"
)

// defaultServiceMemoryLimit is serve's and gateway's soft memory limit. The
// verifier bounds the in-toto metadata its verifications hold at once (64
// MiB by default); without a limit the garbage collector lets the heap grow
// to twice what is live, so that verifications run one after another could
// still take the process past 128 MiB. 96 MiB keeps it under.
const defaultServiceMemoryLimit = 96 << 20

func memoryLimitFlag() cli.Flag {
	return &cli.Int64Flag{Name: "memory-limit", Value: defaultServiceMemoryLimit,
		Usage: "soft limit of the service's memory in `BYTES` (the Go runtime's, as GOMEMLIMIT, which takes precedence when set): the garbage collector works harder near it; 0: none"}
}

// applyMemoryLimit sets --memory-limit for the life of the service and
// returns what restores the previous limit.
func applyMemoryLimit(c *cli.Context) (func(), error) {
	limit := c.Int64("memory-limit")
	if limit < 0 {
		return nil, fault.Inputf("%s: --memory-limit takes a positive number of bytes, or 0 for none", c.Command.FullName())
	}
	if limit == 0 || os.Getenv("GOMEMLIMIT") != "" {
		return func() {}, nil
	}
	prev := debug.SetMemoryLimit(limit)
	return func() { debug.SetMemoryLimit(prev) }, nil
}
