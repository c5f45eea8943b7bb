package verifier

import (
	"context"

	"github.com/cnabsec/cnabsec/internal/fault"
)

// runImage verifies an image version (--image): its manifest against its own
// TUF target and, where listed, its in-toto provenance.
func (w *workflow) runImage(ctx context.Context) error {
	r, lvl := w.r, w.r.RequiredLevel
	ti, err := w.lookup(ctx, w.ver.Target)
	if err == nil {
		err = w.formMismatch(ti)
	}
	if err != nil {
		r.fail(CheckImageTarget, w.ver.Target, err)
		return nil
	}
	src, err := w.sourceTarget()
	if err != nil {
		// As for a bundle: the report names the source that could not be
		// read, in the check that reads it.
		r.fail(CheckImageDigest, w.req.From, err)
		return nil
	}
	want := ""
	if ti != nil {
		want = "sha256:" + ti.Hashes["sha256"]
	}
	desc, err := w.resolve(ctx, src, want)
	if err != nil {
		r.fail(CheckImageDigest, src, err)
		return nil
	}
	r.BundleDigest = desc.Digest
	d := digestOf(desc.RawManifest)
	r.pass(CheckImageDigest, src, "registry serves %s (%d bytes, %s)", desc.Digest, desc.Size, desc.MediaType)
	switch {
	case ti != nil:
		if err := matchTarget(ti, d); err != nil {
			r.fail(CheckImageTarget, w.ver.Target, fault.Deniedf("image %s from %s: %w", desc.Digest, src, err))
			return nil
		}
		r.pass(CheckImageTarget, w.ver.Target, "signed by role %s; manifest matches", ti.Role)
		r.props |= Properties(ImagesTUF)
	case w.tuf == nil:
		r.skip(CheckImageTarget, w.ver.Target, "level 0: the image signature is not checked")
		return nil
	case lvl.Needs(ImagesTUF):
		r.fail(CheckImageTarget, w.ver.Target, fault.Deniedf("no trusted TUF role signs image %s (level %s needs signed images)", w.ver.Target, lvl))
		return nil
	default:
		r.skip(CheckImageTarget, w.ver.Target, "image is unsigned (level %s does not need it)", lvl)
		return nil
	}
	pr := &provenanceRun{w: w, sink: r}
	ok, present := pr.verify(ctx, CheckImageProvenance, w.ver.Target, ti, d.sha256, "manifest.json", desc.RawManifest)
	switch {
	case ok:
		r.props |= Properties(ImagesInToto)
	case !present && lvl.Needs(ImagesInToto):
		r.fail(CheckImageProvenance, w.ver.Target, fault.Deniedf("level %s needs in-toto provenance, but the image target lists none", lvl))
	case !present:
		r.skip(CheckImageProvenance, w.ver.Target, "image target lists no in-toto metadata (level %s does not need it)", lvl)
	}
	return nil
}
