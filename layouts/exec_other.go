//go:build !unix

package layouts

import (
	"os/exec"
	"time"
)

func bound(cmd *exec.Cmd) { cmd.WaitDelay = 2 * time.Second }

func killGroup(*exec.Cmd) {}
