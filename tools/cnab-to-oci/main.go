// Command cnab-to-oci-golden writes (or, with -check, compares) the OCI
// encoding that cnab-to-oci itself gives each bundle: for every directory
// named on the command line, it reads bundle.json and writes
//
//	config-manifest.json  the image manifest whose config blob is the bundle
//	index.json            the bundle's OCI image index
//
// using cnab-to-oci's converter, which its push uses (the config blob is
// cnab-go's encoding of the bundle, which must equal bundle.json byte for
// byte: a bundle in any other form is reported, since cnab-to-oci would push
// other bytes). Every image is relocated to the target repository
// registry.example/org/app under its contentDigest, as cnab-to-oci's fixup
// does before a push.
//
// It lives in its own module because cnab-to-oci's dependencies (containerd,
// docker) do not build beside cnabsec's; the Makefile builds it against
// cnab-to-oci v0.6.1 (go.mod) and v0.4.1 (go.v0.4.1.mod, build tag
// cnabtooci04).
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/cnabio/cnab-go/bundle"
	"github.com/cnabio/cnab-to-oci/converter"
	"github.com/cnabio/cnab-to-oci/relocation"
)

// target is the repository every golden bundle is pushed to.
const target = "registry.example/org/app"

func main() {
	check := flag.Bool("check", false, "compare with the files in each directory instead of writing them")
	flag.Parse()
	failed := false
	for _, dir := range flag.Args() {
		if err := golden(dir, *check); err != nil {
			fmt.Fprintf(os.Stderr, "cnab-to-oci-golden: %s: %v\n", dir, err)
			failed = true
		}
	}
	if failed {
		os.Exit(1)
	}
}

func golden(dir string, check bool) error {
	raw, err := os.ReadFile(filepath.Join(dir, "bundle.json"))
	if err != nil {
		return err
	}
	b, err := bundle.Unmarshal(raw)
	if err != nil {
		return err
	}
	cfg, err := converter.PrepareForPush(b)
	if err != nil {
		return err
	}
	if !bytes.Equal(cfg.ConfigBlob, raw) {
		return fmt.Errorf("bundle.json is not in the form cnab-to-oci pushes; it would push:\n%s", cfg.ConfigBlob)
	}
	ref, err := parseTarget(target)
	if err != nil {
		return err
	}
	ix, err := converter.ConvertBundleToOCIIndex(b, ref, cfg.ManifestDescriptor, relocations(b))
	if err != nil {
		return err
	}
	index, err := json.Marshal(ix) // as cnab-to-oci's push encodes it
	if err != nil {
		return err
	}
	files := map[string][]byte{"config-manifest.json": cfg.Manifest, "index.json": index}
	for name, want := range files {
		if err := put(filepath.Join(dir, name), want, check); err != nil {
			return err
		}
	}
	return nil
}

// relocations maps every image of b to target@contentDigest.
func relocations(b *bundle.Bundle) relocation.ImageRelocationMap {
	m := relocation.ImageRelocationMap{}
	for _, ii := range b.InvocationImages {
		m[ii.Image] = target + "@" + ii.Digest
	}
	for _, im := range b.Images {
		m[im.Image] = target + "@" + im.Digest
	}
	return m
}

func put(path string, want []byte, check bool) error {
	if !check {
		return os.WriteFile(path, want, 0o644)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if !bytes.Equal(got, want) {
		return fmt.Errorf("%s differs from what cnab-to-oci writes:\n got %s\nwant %s", path, got, want)
	}
	return nil
}
