package bundle_test

import (
	"errors"
	"fmt"

	"github.com/cnabsec/cnabsec/bundle"
)

func ExampleCanonicalize() {
	out, err := bundle.Canonicalize([]byte(`{"version": "1.0", "name": "app", "images": null, "size": 1E3}`))
	if err != nil {
		panic(err)
	}
	fmt.Println(string(out))
	// Output: {"images":null,"name":"app","size":1000,"version":"1.0"}
}

func ExampleCheckCanonical() {
	err := bundle.CheckCanonical([]byte(`{"b":1,"a":2}`))
	fmt.Println(errors.Is(err, bundle.ErrNotCanonical))
	fmt.Println(err)
	// Output:
	// true
	// not canonical JSON (RFC 8785): first difference at byte 2 (line 1, column 3): found "b\":1,\"a\":2}" where the canonical form has "a\":2,\"b\":1}"
}

func ExampleBundle_Validate() {
	b, err := bundle.Parse([]byte(`{"images":{"web":{"image":"docker.io/x/web:1.0"}},"invocationImages":[{"contentDigest":"sha256:a59a4e74d9cc89e4e75dfb2cc7ea5c108e4236ba6231b53081a9e2506d1197b6","image":"x/app:1.0"}],"name":"app","schemaVersion":"v1.0.0","version":"1.0.0"}`))
	if err != nil {
		panic(err)
	}
	for _, img := range b.Images() {
		fmt.Println(img.Name, img.Reference, img.ContentDigest != "")
	}
	fmt.Println(b.Validate())
	// Output:
	// invocationImages[0] x/app:1.0 true
	// images.web docker.io/x/web:1.0 false
	// invalid CNAB bundle: bundle "app" version "1.0.0": image "web" (docker.io/x/web:1.0) has no contentDigest
}
