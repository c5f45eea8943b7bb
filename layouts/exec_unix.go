//go:build unix

package layouts

import (
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"
)

// limitsFailed is the exit code of the limit wrapper when a limit cannot be set.
const limitsFailed = 125

// maxInspectionFileBlocks caps each file an inspection writes (512-byte
// blocks, 1 GiB).
const maxInspectionFileBlocks = 2 << 20

// limitArgs wraps an inspection command in /bin/sh, which sets its virtual
// memory (KiB) and file size limits before it executes the command: the
// limits hold from the command's first instruction and for its children.
// The shell is given absolute paths, so the empty environment's PATH does
// not matter.
func limitArgs(argv []string, memory int64) []string {
	if memory <= 0 {
		memory = DefaultInspectionMemory
	}
	if _, err := os.Stat("/bin/sh"); err != nil {
		return argv
	}
	script := `ulimit -v "$1" || exit 125; ulimit -f "$2" || exit 125; ulimit -c 0 2>/dev/null; shift 2; exec "$@"`
	return append([]string{"/bin/sh", "-c", script, "cnabsec-inspection",
		strconv.FormatInt(memory>>10, 10), strconv.Itoa(maxInspectionFileBlocks)}, argv...)
}

// bound puts the command in its own process group so that a timeout kills
// everything it started.
func bound(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 2 * time.Second
}

// killGroup ends whatever the command left running in its process group.
func killGroup(cmd *exec.Cmd) {
	if cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}
