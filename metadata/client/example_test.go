package client_test

import (
	"fmt"

	"github.com/cnabsec/cnabsec"
	"github.com/cnabsec/cnabsec/metadata/client"
)

// A client needs a pinned root: there is no trust on first use.
func ExampleNew_noTrustOnFirstUse() {
	_, err := client.New(client.Options{Location: "https://tuf.example.com/repo"})
	fmt.Println(cnabsec.KindOf(err), "-", err)
	r, _ := cnabsec.RemedyOf(err)
	fmt.Println("remedy:", r)
	// Output:
	// input - no trusted root given: a TUF client needs a pinned root.json (no trust on first use)
	// remedy: pin-trust-root
}
