package layouts_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/cnabsec/cnabsec/keys"
	"github.com/cnabsec/cnabsec/layouts"
)

// Verify the python in-toto vector: a layout signed by "owner", two links, and
// bundle.json as the artifact the provenance must be about.
func ExampleVerify() {
	dir := "../../shared/vectors/intoto-py"
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			panic(err)
		}
		return b
	}
	owner, err := keys.LoadPublic(filepath.Join(dir, "owner.pub"))
	if err != nil {
		panic(err)
	}
	bundle := read("bundle.json")
	sum := sha256.Sum256(bundle)
	res, err := layouts.Verify(context.Background(), layouts.VerifyInput{
		Layout:     read("root.layout"),
		LayoutKeys: []*keys.PublicKey{owner}, // from the TUF targets role
		Links: map[string][]byte{
			"write-bundle.68a12d64.link": read("write-bundle.68a12d64.link"),
			"package.cbc48efe.link":      read("package.cbc48efe.link"),
		},
		Artifact: layouts.ArtifactBinding{Name: "bundle.json", SHA256: hex.EncodeToString(sum[:])},
		Now:      time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC),
	})
	fmt.Println("verified:", err == nil)
	for _, c := range res.Checks {
		fmt.Printf("%s %s: %s\n", c.Status, c.Name, c.Subject)
	}
	// Output:
	// verified: true
	// pass in-toto layout signature: root.layout key 5688b88f5b1d40d46e38ab18572ba20d15b68de12f14703d340f32ae9a84a4ed
	// pass in-toto layout format: root.layout
	// pass in-toto layout expiry: root.layout
	// pass in-toto step links: write-bundle
	// warn in-toto step command: write-bundle
	// pass in-toto step links: package
	// pass in-toto artifact rules: write-bundle materials
	// pass in-toto artifact rules: write-bundle products
	// pass in-toto artifact rules: package materials
	// pass in-toto artifact rules: package products
	// pass in-toto artifact binding: bundle.json
}
