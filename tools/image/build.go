package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/cnabsec/cnabsec/internal/fault"
)

// maxBinary bounds the cnabsec binary read back (it is about 40 MiB).
const maxBinary = 512 << 20

// buildBinary compiles o.pkg as a static binary whose bytes depend only on
// the source, the version and the Go toolchain: no cgo, no local paths
// (-trimpath), no symbol table; the VCS revision Go stamps is the commit.
func buildBinary(ctx context.Context, o options, out string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, goCommand(), "build", "-trimpath",
		"-ldflags", "-s -w -X main.version="+o.version, "-o", out, o.pkg)
	cmd.Dir = o.moduleDir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+o.platform.OS, "GOARCH="+o.platform.Architecture,
		"GOFLAGS=-mod=readonly")
	if o.platform.Variant != "" && o.platform.Architecture == "arm" {
		cmd.Env = append(cmd.Env, "GOARM="+strings.TrimPrefix(o.platform.Variant, "v"))
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("go build %s: %v\n%s", o.pkg, err, tail(stderr.String(), 4096))
	}
	bin, err := readCapped(out, maxBinary)
	if err != nil {
		return nil, fmt.Errorf("reading the built binary: %v", err)
	}
	return bin, nil
}

// goCommand is the go command that runs this tool's build ($GO, else go).
func goCommand() string {
	if g := os.Getenv("GO"); g != "" {
		return g
	}
	return "go"
}

// git runs a git query in dir and returns its trimmed output.
func git(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fault.Inputf("git %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(string(out)), nil
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}
