package oci_test

import (
	"fmt"

	"github.com/cnabsec/cnabsec/bundle/oci"
)

func ExampleNormalize() {
	fmt.Println(oci.Normalize("cnab/helloworld:0.1.1"))
	fmt.Println(oci.Normalize("nginx"))
	fmt.Println(oci.Normalize("example.com/org/app:1.0"))
	// Output:
	// index.docker.io/cnab/helloworld:0.1.1
	// index.docker.io/library/nginx:latest
	// example.com/org/app:1.0
}

func ExampleOptions_AllowsPlainHTTP() {
	opts := oci.Options{Insecure: []string{"registry.lan:5000"}}
	for _, host := range []string{"127.0.0.1:5000", "registry.lan:5000", "10.0.0.5:5000", "registry.local"} {
		fmt.Println(host, opts.AllowsPlainHTTP(host))
	}
	// Output:
	// 127.0.0.1:5000 true
	// registry.lan:5000 true
	// 10.0.0.5:5000 false
	// registry.local false
}
