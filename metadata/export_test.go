package metadata

import "time"

// SetFailAfter makes publication fail after the named step ("target-files",
// a role name, "snapshot", "timestamp") to simulate a writer killed there.
func SetFailAfter(fn func(step string) error) { failAfter = fn }

// SetClock fixes the clock of a repository.
func (r *Repository) SetClock(now func() time.Time) { r.now = now }
