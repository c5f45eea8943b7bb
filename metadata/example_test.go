package metadata_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/cnabsec/cnabsec/keys"
	"github.com/cnabsec/cnabsec/metadata"
)

// A repository with a releases delegation; CI signs a version with the
// releases key and publishes it with the online snapshot/timestamp key.
func Example() {
	gen := func() *keys.PrivateKey { k, _ := keys.Generate(keys.GenEd25519); return k }
	root, targets, online, ci := gen(), gen(), gen(), gen()
	dir, _ := os.MkdirTemp("", "repo")
	defer os.RemoveAll(dir)
	signs := func(k keys.Signer) metadata.RoleKeys { return metadata.RoleKeys{Signers: []keys.Signer{k}} }
	repo, err := metadata.Init(filepath.Join(dir, "repo"), metadata.InitOptions{
		Root: signs(root), Targets: signs(targets), Snapshot: signs(online), Timestamp: signs(online),
		Releases: &metadata.RoleKeys{Signers: []keys.Signer{ci}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	publish := metadata.UpdateOptions{Snapshot: online, Timestamp: online}

	publish.Signers = []keys.Signer{targets}
	repo.Update(ctx, publish, func(tx *metadata.Tx) error { return tx.Delegate("example.com/org/app") })

	publish.Signers = []keys.Signer{ci}
	res, err := repo.Update(ctx, publish, func(tx *metadata.Tx) error {
		name := "example.com/org/app:1.0"
		fmt.Println(name, "is signed by", tx.RoleFor(name))
		return tx.AddTarget(name, metadata.TargetInfo{Content: []byte("bundle bytes")})
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("published:", res.Published, "releases version:", res.Versions["releases"])
	// Output:
	// example.com/org/app:1.0 is signed by releases
	// published: true releases version: 2
}
