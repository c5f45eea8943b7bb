package verifier

import (
	"context"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/cnabsec/cnabsec/bundle/oci"
)

// ResolveDigest returns the digest ("sha256:HEX") of the manifest the
// registry serves for ref now: what a runtime pulling ref at this moment gets.
// A digest reference is returned without a request. With an ImageSource
// (thick bundles, export kits) there is no registry to ask and the digest is
// "". Errors carry the registry's fault kind: a missing tag is denied, an
// unreachable registry inconclusive.
func (v *Verifier) ResolveDigest(ctx context.Context, ref string) (string, error) {
	if v.cfg.ImageSource != nil {
		return "", nil
	}
	opts := v.registryOptions()
	r, err := oci.ParseRef(ref, opts)
	if err != nil {
		return "", err
	}
	if d, ok := r.(name.Digest); ok {
		return d.DigestStr(), nil
	}
	desc, err := oci.ResolveImage(ctx, r, opts)
	if err != nil {
		return "", err
	}
	return desc.Digest, nil
}

// registryOptions says how this verifier reaches registries.
func (v *Verifier) registryOptions() oci.Options {
	o := v.cfg.Registry
	if o.Timeout == 0 {
		o.Timeout = v.cfg.Timeout
	}
	return o
}
