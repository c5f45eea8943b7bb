//go:build interop

package layouts

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/cnabsec/cnabsec/keys"
)

// runPythonVerify runs Debian's in-toto-verify on a chain made by cnabsec.
func runPythonVerify(t *testing.T, c *chain) (string, error) {
	tool := pythonTool(t, "in-toto-verify")
	dir := t.TempDir()
	args := writeForPython(t, dir, c.layout, c.owner.Public(), c.links)
	cmd := exec.Command(tool, append(args, "--verbose")...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestInteropPythonInTotoVerifiesWhatCnabsecMakes(t *testing.T) {
	for _, typ := range []string{keys.GenRSA3072, keys.GenEd25519, keys.GenECDSAP256} {
		t.Run(typ, func(t *testing.T) {
			c := newChain(t, typ)
			mustVerify(t, c.input())
			out, err := runPythonVerify(t, c)
			if err != nil {
				t.Fatalf("in-toto-verify refused a layout and links made by cnabsec (%s owner key): %v\n%s", typ, err, out)
			}
		})
	}
}

func TestInteropPythonInTotoRefusesArtifactTamperedBetweenSteps(t *testing.T) {
	for _, typ := range []string{keys.GenRSA3072, keys.GenEd25519} {
		t.Run(typ, func(t *testing.T) {
			c := newChain(t, typ, tamperBetweenSteps)
			out, err := runPythonVerify(t, c)
			var exit *exec.ExitError
			if err == nil || !asExit(err, &exit) || exit.ExitCode() != 1 {
				t.Fatalf("in-toto-verify on a tampered chain: %v (want exit 1)\n%s", err, out)
			}
			if !strings.Contains(out, "bundle.src.json") {
				t.Fatalf("python's reason does not name the tampered artifact:\n%s", out)
			}
		})
	}
}

func asExit(err error, target **exec.ExitError) bool {
	e, ok := err.(*exec.ExitError)
	*target = e
	return ok
}
