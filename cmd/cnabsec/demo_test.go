package main

import (
	"strings"
	"testing"
)

func TestDemoVerifiesTheReleaseAndDeniesEveryAttack(t *testing.T) {
	code, out, errs := runCLI(t, "demo", "--keep", t.TempDir())
	if code != 0 {
		t.Fatalf("demo exit %d\n%s\n%s", code, out, errs)
	}
	for _, want := range []string{
		"VERIFIED",            // the honest release at level 4
		"runtime got sha256:", // the hand-off
		"is not a product of the layout's last step", // replayed links
		"rollback",                     // timestamp rolled back
		"does not match signed target", // tag moved
		"but contentDigest is",         // image replaced
		"All attacks were denied",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
	if strings.Count(out, "=> denied (exit 1)") != 4 {
		t.Errorf("want 4 denied attacks:\n%s", out)
	}
}
