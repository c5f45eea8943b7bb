package client_test

import (
	"fmt"

	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/metadata/client"
)

// A client needs a pinned root: there is no trust on first use.
func ExampleNew_noTrustOnFirstUse() {
	_, err := client.New(client.Options{Location: "https://tuf.example.com/repo"})
	fmt.Println(fault.KindOf(err), "-", err)
	fmt.Println("hint:", fault.HintOf(err))
	// Output:
	// input - no trusted root given: a TUF client needs a pinned root.json (no trust on first use)
	// hint: pass the repository's root.json obtained out of band with --trust-root
}
