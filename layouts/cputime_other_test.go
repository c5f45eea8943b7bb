//go:build !unix

package layouts

import "time"

// cpuTime is not measured here: the CPU ratio is then not meaningful.
func cpuTime() time.Duration { return 0 }
