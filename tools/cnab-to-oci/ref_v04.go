//go:build cnabtooci04

package main

import "github.com/docker/distribution/reference"

// parseTarget parses the target repository with the reference package
// cnab-to-oci v0.4 uses.
func parseTarget(s string) (reference.Named, error) { return reference.ParseNormalizedNamed(s) }
