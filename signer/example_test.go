package signer_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/cnabsec/cnabsec/keys"
	"github.com/cnabsec/cnabsec/metadata"
	"github.com/cnabsec/cnabsec/signer"
)

// A CI pipeline signs the image version it just pushed with the releases key
// (the repository owner delegated the image's name to that role once), and
// publishes it with the online snapshot/timestamp key. The image manifest is
// read from the registry: what is signed is what the registry serves.
func ExampleSign() {
	ctx := context.Background()
	reg := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer reg.Close()
	host := strings.TrimPrefix(reg.URL, "http://")
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)

	// Once, by the repository owner: the TUF repository, and the image's
	// name delegated to the releases role with the offline targets key.
	gen := func() *keys.PrivateKey { k, _ := keys.Generate(keys.GenEd25519); return k }
	root, targets, online, releases := gen(), gen(), gen(), gen()
	signs := func(k keys.Signer) metadata.RoleKeys { return metadata.RoleKeys{Signers: []keys.Signer{k}} }
	repo, err := metadata.Init(filepath.Join(dir, "repo"), metadata.InitOptions{
		Root: signs(root), Targets: signs(targets), Snapshot: signs(online), Timestamp: signs(online),
		Releases: &metadata.RoleKeys{Signers: []keys.Signer{releases}},
	})
	if err != nil {
		log.Fatal(err)
	}
	delegate := metadata.UpdateOptions{Signers: []keys.Signer{targets}, Snapshot: online, Timestamp: online}
	if _, err := repo.Update(ctx, delegate, func(tx *metadata.Tx) error { return tx.Delegate(host + "/org/web") }); err != nil {
		log.Fatal(err)
	}

	// In CI, for every build: push the image, then sign that version. (A
	// pipeline loads its keys with keys.LoadPrivate from its secret store.)
	ref := host + "/org/web:1.0"
	img, _ := random.Image(512, 2)
	tag, err := name.ParseReference(ref)
	if err != nil {
		log.Fatal(err)
	}
	if err := remote.Write(tag, img, remote.WithContext(ctx)); err != nil {
		log.Fatal(err)
	}
	res, err := signer.Sign(ctx, repo, signer.Options{Keys: []keys.Signer{releases}, Snapshot: online, Timestamp: online},
		signer.Item{Kind: "image", Ref: ref})
	if err != nil {
		log.Fatal(err)
	}
	digest, _ := img.Digest()
	for _, s := range res.Signed {
		fmt.Println("signed", strings.TrimPrefix(s.Target, host+"/"), "in role", s.Role)
		fmt.Println("the manifest the registry serves:", "sha256:"+s.SHA256 == digest.String())
	}
	fmt.Println("published:", res.Published)
	// Output:
	// signed org/web:1.0 in role releases
	// the manifest the registry serves: true
	// published: true
}
