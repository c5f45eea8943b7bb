//go:build interop

package main

import (
	"net"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cnabsec/cnabsec/internal/testing/peers"
)

// TestInteropWalkthrough runs the README walkthrough (examples/walkthrough.sh,
// which TestREADMEWalkthroughIsTheScript keeps identical to the README's
// block) end to end against Debian's docker-registry with skopeo: build,
// keys, repository, delegations, images, layouts, links, signatures, level 4
// verification with the hand-off, the export kit and its import. The
// repository server the walkthrough starts must be gone when it returns.
func TestInteropWalkthrough(t *testing.T) {
	peers.NeedTool(t, "skopeo")
	reg := peers.StartDistribution(t)
	tuf := peers.FreeLoopbackAddr(t)
	work := t.TempDir()
	cmd := exec.Command("bash", "../../examples/walkthrough.sh")
	cmd.Env = append(os.Environ(), "REGISTRY="+reg, "TUF="+tuf, "WORK="+work)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	t.Logf("walkthrough: %s", time.Since(start).Round(time.Millisecond))
	if err != nil {
		t.Fatalf("the walkthrough failed: %v\n%s", err, out)
	}
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^VERIFIED ` + regexp.QuoteMeta(reg) + `/org/app:1\.0 at level 4 \(required 4\)`),
		regexp.MustCompile(`(?m)^the runtime got \S+/bundle\.json \(sha256:[0-9a-f]{64}\)$`),
		regexp.MustCompile(`(?m)^exported ` + regexp.QuoteMeta(reg) + `/org/app:1\.0 .*verified at level 4`),
		regexp.MustCompile(`(?m)^imported .* 2 images relocated`),
	} {
		if !want.Match(out) {
			t.Errorf("the walkthrough's output has no line matching %s:\n%s", want, out)
		}
	}
	if n := strings.Count(string(out), "\nVERIFIED "); n != 2 {
		t.Errorf("want 2 verifications (served metadata, kit), got %d", n)
	}
	// The trap stopped repo serve: nothing listens on its address.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		c, err := net.DialTimeout("tcp", tuf, time.Second)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatalf("repo serve still listens on %s after the walkthrough returned", tuf)
		}
	}
}
