//go:build !cnabtooci04

package main

import "github.com/distribution/reference"

// parseTarget parses the target repository with the reference package
// cnab-to-oci v0.6 uses.
func parseTarget(s string) (reference.Named, error) { return reference.ParseNormalizedNamed(s) }
