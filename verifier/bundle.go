package verifier

import (
	"context"
	"errors"
	"os"

	"github.com/cnabsec/cnabsec/bundle"
	"github.com/cnabsec/cnabsec/bundle/oci"
	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/internal/names"
	"github.com/cnabsec/cnabsec/metadata/client"
)

// runBundle verifies a bundle version: steps 2-5 of CNAB-Sec 303.
func (w *workflow) runBundle(ctx context.Context) error {
	ti, ok := w.bundleTarget(ctx)
	if !ok {
		return nil
	}
	b, d, source, ok := w.obtainAndCompare(ctx, ti)
	if !ok {
		return nil
	}
	bn, ok := w.bundleChecks(b, source)
	if !ok {
		return nil
	}
	if w.thick == nil {
		w.r.verified = b
	} else {
		w.r.verified = bn.Raw
	}
	if err := w.checkImages(ctx, bn); err != nil {
		return err
	}
	w.bundleProvenance(ctx, ti, d, b)
	return nil
}

// bundleTarget looks the version up (bundle-target); false stops the
// workflow: the level needs a signed bundle and none is, or the lookup failed.
func (w *workflow) bundleTarget(ctx context.Context) (*client.TargetInfo, bool) {
	r, lvl := w.r, w.r.RequiredLevel
	ti, err := w.lookup(ctx, w.ver.Target)
	if err != nil {
		r.fail(CheckBundleTarget, w.ver.Target, err)
		return nil, false
	}
	if err := w.formMismatch(ti); err != nil {
		r.fail(CheckBundleTarget, w.ver.Target, err)
		return nil, false
	}
	switch {
	case ti != nil:
		r.pass(CheckBundleTarget, w.ver.Target, "signed by role %s (length %d, sha256:%s)", ti.Role, ti.Length, ti.Hashes["sha256"])
	case w.tuf == nil:
		r.skip(CheckBundleTarget, w.ver.Target, "level 0: the bundle signature is not checked")
	case lvl.Needs(BundleTUF):
		r.fail(CheckBundleTarget, w.ver.Target, fault.Deniedf("no trusted TUF role signs %s (level %s needs a signed bundle)", w.ver.Target, lvl))
		return nil, false
	default:
		r.skip(CheckBundleTarget, w.ver.Target, "no TUF target: the bundle is unsigned (level %s does not need it)", lvl)
	}
	return ti, true
}

// obtainAndCompare obtains the bundle and compares it with the signed target
// before anything parses it (bundle-source, bundle-digest). On a mismatch the
// bundle is discarded and the workflow stops (CNAB-Sec 303).
func (w *workflow) obtainAndCompare(ctx context.Context, ti *client.TargetInfo) ([]byte, digests, string, bool) {
	r := w.r
	b, d, source, err := w.obtainBundle(ctx, ti)
	if err != nil {
		check := CheckBundleSource
		if errors.Is(err, bundle.ErrArchiveMismatch) {
			check = CheckBundleDigest // a thick archive cut at the signed length
		}
		r.fail(check, source, err)
		return nil, d, source, false
	}
	r.BundleDigest = "sha256:" + d.sha256
	r.pass(CheckBundleSource, source, "%d bytes, sha256:%s", d.length, d.sha256)
	if ti == nil {
		return b, d, source, true
	}
	if err := matchTarget(ti, d); err != nil {
		r.fail(CheckBundleDigest, w.ver.Target, fault.Deniedf("bundle %s from %s: %w", r.BundleDigest, source, err))
		return nil, d, source, false
	}
	r.pass(CheckBundleDigest, w.ver.Target, "sha256 and length match the signed target")
	r.props |= Properties(BundleTUF)
	return b, d, source, true
}

// bundleChecks checks the compared bytes: canonical form (thin bundles),
// schema, required extensions. False stops the workflow.
func (w *workflow) bundleChecks(b []byte, source string) (*bundle.Bundle, bool) {
	r := w.r
	bn := w.thickBundle()
	if bn == nil {
		if err := bundle.CheckCanonical(b); err != nil {
			r.fail(CheckCanonicalJSON, source, err)
			return nil, false
		}
		r.pass(CheckCanonicalJSON, source, "bytes are the RFC 8785 form of their JSON value")
		var err error
		if bn, err = bundle.Parse(b); err != nil {
			r.fail(CheckBundleSchema, source, err)
			return nil, false
		}
	}
	if err := bn.Validate(); err != nil {
		r.fail(CheckBundleSchema, source, err)
	} else {
		r.pass(CheckBundleSchema, source, "valid CNAB bundle; every image has a contentDigest")
	}
	w.extensions(bn, source)
	return bn, true
}

func (w *workflow) thickBundle() *bundle.Bundle {
	if w.thick == nil {
		return nil
	}
	return w.thick.Bundle
}

// extensions reports whether the runtime supports every required extension.
func (w *workflow) extensions(bn *bundle.Bundle, source string) {
	if err := bn.CheckExtensions(w.req.SupportedExtensions); err != nil {
		w.r.fail(CheckRequiredExtensions, source, err)
	} else if req := bn.RequiredExtensions(); len(req) > 0 {
		w.r.pass(CheckRequiredExtensions, source, "all supported: %v", req)
	} else {
		w.r.pass(CheckRequiredExtensions, source, "none required")
	}
}

// bundleProvenance verifies the bundle's in-toto provenance (levels 3b and
// 4), listed by the version target only.
func (w *workflow) bundleProvenance(ctx context.Context, ti *client.TargetInfo, d digests, b []byte) {
	r, lvl := w.r, w.r.RequiredLevel
	if ti == nil {
		if lvl.Needs(BundleInToto) {
			r.fail(CheckBundleProvenance, w.ver.Target, fault.Deniedf("level %s needs in-toto provenance, which needs a signed bundle target", lvl))
		}
		return
	}
	pr := &provenanceRun{w: w, sink: r}
	ok, present := pr.verify(ctx, CheckBundleProvenance, w.ver.Target, ti, d.sha256, artifactName(w.thick != nil), b)
	switch {
	case ok:
		r.props |= Properties(BundleInToto)
	case !present && lvl.Needs(BundleInToto):
		r.fail(CheckBundleProvenance, w.ver.Target, fault.Deniedf("level %s needs in-toto provenance, but the signed target lists no in-toto metadata", lvl))
	case !present:
		r.skip(CheckBundleProvenance, w.ver.Target, "the signed target lists no in-toto metadata (level %s does not need it)", lvl)
	}
}

func artifactName(thick bool) string {
	if thick {
		return "bundle.tgz"
	}
	return "bundle.json"
}

// obtainBundle reads the bundle from where the request says: a local thin or
// thick file, a source reference, or the reference's own registry. It
// returns the artifact bytes (for a thick bundle, nil: it is streamed) and
// their digests.
func (w *workflow) obtainBundle(ctx context.Context, ti *client.TargetInfo) ([]byte, digests, string, error) {
	switch {
	case w.req.ThickFile != "":
		src := w.req.ThickFile
		f, err := os.Open(src)
		if err != nil {
			return nil, digests{}, src, fault.Inputf("thick bundle %s: %w", src, err)
		}
		defer f.Close()
		opts := bundle.ThickOptions{}
		if ti != nil {
			// Endless data stops one byte past the signed length.
			opts.ExpectedSize = ti.Length
		}
		th, err := bundle.ReadThick(f, opts)
		if err != nil {
			return nil, digests{}, src, err
		}
		w.thick = th
		return nil, digests{length: th.Size, sha256: trimAlg(th.Digest)}, src, nil
	case w.req.BundleFile != "":
		src := w.req.BundleFile
		b, err := readLocal(src, bundle.MaxBundleSize, "bundle file")
		if err != nil {
			return nil, digests{}, src, err
		}
		return b, digestOf(b), src, nil
	}
	src, err := w.sourceTarget()
	if err != nil {
		return nil, digests{}, w.req.From, err
	}
	ref, err := oci.ParseRef(src, w.registry())
	if err != nil {
		return nil, digests{}, src, err
	}
	b, _, err := oci.PullBundle(ctx, ref, w.registry())
	if err != nil {
		return nil, digests{}, src, err
	}
	return b, digestOf(b), src, nil
}

// sourceTarget is the version the bundle or image is read from: the
// request's From (a mirror or relocated copy) when given, else the version
// verified.
func (w *workflow) sourceTarget() (string, error) {
	if w.req.From == "" {
		return w.ver.Target, nil
	}
	from, err := names.ParseVersion(w.req.From)
	if err != nil {
		return "", err
	}
	return from.Target, nil
}

func trimAlg(d string) string {
	if len(d) > 7 && d[:7] == "sha256:" {
		return d[7:]
	}
	return d
}
