package verifier_test

import (
	"context"

	"github.com/cnabsec/cnabsec/verifier"
)

// option sets a field of the configuration or the request of one test
// verification: the tests' shorthand for building a Verifier and a Request.
type option func(*verifier.Config, *verifier.Request)

func withTrustedRoot(root []byte) option {
	return func(c *verifier.Config, _ *verifier.Request) { c.TrustedRoot = root }
}
func withMetadata(loc string) option {
	return func(c *verifier.Config, _ *verifier.Request) { c.Location = loc }
}
func withCache(dir string) option {
	return func(c *verifier.Config, _ *verifier.Request) { c.CacheDir = dir }
}
func withLevel(l verifier.Level) option {
	return func(_ *verifier.Config, r *verifier.Request) { r.Level = l }
}
func withImage() option { return func(_ *verifier.Config, r *verifier.Request) { r.Image = true } }
func withSource(ref string) option {
	return func(_ *verifier.Config, r *verifier.Request) { r.From = ref }
}
func withBundleFile(p string) option {
	return func(_ *verifier.Config, r *verifier.Request) { r.BundleFile = p }
}
func withThickFile(p string) option {
	return func(_ *verifier.Config, r *verifier.Request) { r.ThickFile = p }
}
func withRelocationMapping(p string) option {
	return func(_ *verifier.Config, r *verifier.Request) { r.RelocationMappingFile = p }
}
func withSupportedExtensions(names ...string) option {
	return func(_ *verifier.Config, r *verifier.Request) {
		r.SupportedExtensions = append(r.SupportedExtensions, names...)
	}
}

// verifyOnce builds a Verifier, runs one verification of ref and closes it,
// as the CLI does.
func verifyOnce(ctx context.Context, ref string, opts ...option) (*verifier.Report, error) {
	var cfg verifier.Config
	req := verifier.Request{Reference: ref}
	for _, o := range opts {
		o(&cfg, &req)
	}
	v, err := verifier.New(cfg)
	if err != nil {
		return &verifier.Report{Reference: ref, Error: err.Error(), Checks: []verifier.Check{}}, err
	}
	defer v.Close()
	return v.Verify(ctx, req)
}
