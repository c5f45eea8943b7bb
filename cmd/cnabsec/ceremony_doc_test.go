package main

import (
	"os"
	"strings"
	"testing"
)

// The token ceremony in docs/operations.md is the script the interop test
// runs (examples/token-ceremony.sh), byte for byte.
func TestTokenCeremonyDocIsTheScript(t *testing.T) {
	script, err := os.ReadFile("../../examples/token-ceremony.sh")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile("../../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(doc), "```sh\n"+string(script)+"```\n") {
		t.Fatal("docs/operations.md does not embed examples/token-ceremony.sh as it is: copy the script into the ceremony section")
	}
}
