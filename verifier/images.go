package verifier

import (
	"context"
	"fmt"
	"sync"

	"github.com/cnabsec/cnabsec/bundle"
	"github.com/cnabsec/cnabsec/bundle/oci"
	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/internal/names"
	"github.com/cnabsec/cnabsec/metadata/client"
)

// ImageSource answers image manifest lookups without a registry (a thick
// bundle's layout, an export kit).
type ImageSource interface {
	// Manifest returns the manifest of the image stored under digest.
	Manifest(ctx context.Context, digest string) (oci.Descriptor, error)
}

// imageResult is what one image contributed.
type imageResult struct {
	checks     []Check
	provenance []Provenance
	layouts    []LayoutRead
	gate       *checkError
	signed     bool // its TUF target exists and matches
	provened   bool // its in-toto provenance verified
}

func (ir *imageResult) add(status Status, name, subject, format string, args ...any) {
	ir.checks = append(ir.checks, Check{Name: name, Subject: subject, Status: status, Detail: fmt.Sprintf(format, args...)})
}

func (ir *imageResult) addProvenance(p Provenance) { ir.provenance = append(ir.provenance, p) }

func (ir *imageResult) addLayout(l LayoutRead) { ir.layouts = append(ir.layouts, l) }

func (ir *imageResult) fail(name, subject string, err error) {
	ir.add(Fail, name, subject, "%s", err.Error())
	if ir.gate == nil {
		ir.gate = &checkError{check: name, subject: subject, err: fault.Wrap(fault.Denied, err)}
	}
}

// checkImages runs step 4 of the workflow for every image, concurrently, and
// merges the results in bundle order.
func (w *workflow) checkImages(ctx context.Context, bn *bundle.Bundle) error {
	r := w.r
	images := bn.Images()
	var mapping bundle.RelocationMapping
	if p := w.req.RelocationMappingFile; p != "" {
		raw, err := readLocal(p, bundle.MaxRelocationMappingSize, "relocation mapping")
		if err != nil {
			return err
		}
		if mapping, err = bundle.ParseRelocationMapping(raw); err != nil {
			return fault.Inputf("relocation mapping %s: %w", p, err)
		}
		if err := bundle.CheckRelocationCovers(bn, mapping); err != nil {
			r.fail(CheckRelocationMapping, p, err)
			return nil
		}
		r.verifiedMapping = raw // the bytes checked: what a runtime is handed
		r.pass(CheckRelocationMapping, p, "covers all %s, each pinned to its contentDigest", plural(len(images), "image", "images"))
	}
	results := make([]imageResult, len(images))
	limit := w.v.cfg.Concurrency
	if limit <= 0 {
		limit = 4
	}
	sem := make(chan struct{}, limit)
	var wg sync.WaitGroup
	for i := range images {
		wg.Add(1)
		sem <- struct{}{}
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			results[i] = w.checkImage(ctx, images[i], mapping)
		}(i)
	}
	wg.Wait()

	allSigned, allProvened := len(images) > 0, len(images) > 0
	for i := range results {
		ir := &results[i]
		r.Checks = append(r.Checks, ir.checks...)
		r.Provenance = append(r.Provenance, ir.provenance...)
		r.layoutsRead = append(r.layoutsRead, ir.layouts...)
		if ir.gate != nil && r.gate == nil {
			r.gate = ir.gate
		}
		allSigned = allSigned && ir.signed
		allProvened = allProvened && ir.provened
	}
	if allSigned {
		r.props |= Properties(ImagesTUF)
	}
	if allSigned && allProvened {
		r.props |= Properties(ImagesInToto)
	}
	return nil
}

// checkImage checks one image of a bundle: its digest where it will be
// pulled from, its own TUF target and its provenance.
func (w *workflow) checkImage(ctx context.Context, im bundle.Image, mapping bundle.RelocationMapping) imageResult {
	var ir imageResult
	subject := fmt.Sprintf("%s (%s)", im.Name, im.Reference)
	manifest, ok := w.imageDigest(ctx, &ir, subject, im, mapping)
	if !ok {
		return ir
	}
	if w.tuf == nil {
		ir.add(Skip, CheckImageTarget, subject, "level 0: image signatures are not checked")
		return ir
	}
	ti, name, want, ok := w.imageSigned(ctx, &ir, subject, im, manifest)
	if !ok {
		return ir
	}
	w.imageProvenance(ctx, &ir, subject, name, ti, want.sha256, manifest)
	return ir
}

// imageDigest checks the image where it will be pulled from (the archive,
// the relocated reference or its own) serves its contentDigest; it returns
// the manifest bytes read from a registry.
func (w *workflow) imageDigest(ctx context.Context, ir *imageResult, subject string, im bundle.Image, mapping bundle.RelocationMapping) ([]byte, bool) {
	if im.ContentDigest == "" {
		ir.fail(CheckImageDigest, subject, fault.Deniedf("image %s has no contentDigest: a runtime cannot validate it", im.Name))
		return nil, false
	}
	if w.thick != nil {
		if _, ok := w.thick.Blobs[im.ContentDigest]; !ok {
			ir.fail(CheckImageDigest, subject, fault.Deniedf("the thick bundle's layout has no manifest %s", im.ContentDigest))
			return nil, false
		}
		ir.add(Pass, CheckImageDigest, subject, "%s is in the archive and hashes to its digest", im.ContentDigest)
		return nil, true
	}
	src := im.Reference
	if mapping != nil {
		src = mapping[im.Reference]
	}
	desc, err := w.resolve(ctx, src, im.ContentDigest)
	switch {
	case err != nil:
		ir.fail(CheckImageDigest, subject, err)
	case desc.Digest != im.ContentDigest:
		ir.fail(CheckImageDigest, subject, fault.Deniedf("registry serves %s for %s but contentDigest is %s", desc.Digest, src, im.ContentDigest))
	case im.HasSize && uint64(desc.Size) != im.Size:
		ir.fail(CheckImageDigest, subject, fault.Deniedf("manifest is %d bytes but the bundle says %d", desc.Size, im.Size))
	default:
		ir.add(Pass, CheckImageDigest, subject, "%s serves %s = contentDigest", src, im.ContentDigest)
		return desc.RawManifest, true
	}
	return nil, false
}

// imageSigned finds the image's own TUF target and compares it with the
// manifest (or, from an archive, its digest and size).
func (w *workflow) imageSigned(ctx context.Context, ir *imageResult, subject string, im bundle.Image, manifest []byte) (*client.TargetInfo, string, digests, bool) {
	lvl := w.r.RequiredLevel
	ti, name, err := w.imageTarget(ctx, im)
	if err != nil {
		ir.fail(CheckImageTarget, subject, err)
		return nil, name, digests{}, false
	}
	if ti == nil {
		if lvl.Needs(ImagesTUF) {
			ir.fail(CheckImageTarget, subject, fault.Deniedf("no trusted TUF role signs image %s (level %s needs signed images)", name, lvl))
		} else {
			ir.add(Skip, CheckImageTarget, subject, "image %s is unsigned (level %s does not need it)", name, lvl)
		}
		return nil, name, digests{}, false
	}
	want := w.imageDigests(im, ti, manifest)
	if err := matchTarget(ti, want); err != nil {
		ir.fail(CheckImageTarget, subject, err)
		return nil, name, want, false
	}
	ir.signed = true
	ir.add(Pass, CheckImageTarget, subject, "signed target %s (role %s) matches %s", name, ti.Role, im.ContentDigest)
	return ti, name, want, true
}

// imageDigests is what the image's target must match: the manifest read, or
// the contentDigest with the best known size.
func (w *workflow) imageDigests(im bundle.Image, ti *client.TargetInfo, manifest []byte) digests {
	if manifest != nil {
		return digestOf(manifest)
	}
	want := digests{sha256: trimAlg(im.ContentDigest), length: ti.Length}
	if im.HasSize {
		want.length = int64(im.Size)
	} else if size, ok := w.thick.Blobs[im.ContentDigest]; ok {
		want.length = size
	}
	return want
}

// imageProvenance verifies the image's in-toto provenance (levels 3a and 4).
func (w *workflow) imageProvenance(ctx context.Context, ir *imageResult, subject, name string, ti *client.TargetInfo, sha256 string, manifest []byte) {
	lvl := w.r.RequiredLevel
	pr := &provenanceRun{w: w, sink: ir}
	ok, present := pr.verify(ctx, CheckImageProvenance, subject, ti, sha256, "manifest.json", manifest)
	switch {
	case ok:
		ir.provened = true
	case !present && lvl.Needs(ImagesInToto):
		ir.fail(CheckImageProvenance, subject, fault.Deniedf("level %s needs in-toto provenance for image %s, but its target lists none", lvl, name))
	case !present:
		ir.add(Skip, CheckImageProvenance, subject, "image target lists no in-toto metadata (level %s does not need it)", lvl)
	}
}

// imageTarget finds an image's TUF target: under its reference as written
// (REPO:TAG), else under REPO@contentDigest.
func (w *workflow) imageTarget(ctx context.Context, im bundle.Image) (*client.TargetInfo, string, error) {
	var tried string
	if v, err := names.ParseVersionSyntax(im.Reference); err == nil {
		tried = v.Target
		ti, err := w.lookup(ctx, v.Target)
		if err != nil || ti != nil {
			return ti, v.Target, err
		}
		if v.Target == v.Repository+"@"+im.ContentDigest {
			return nil, v.Target, nil
		}
		byDigest := v.Repository + "@" + im.ContentDigest
		ti, err = w.lookup(ctx, byDigest)
		if err != nil || ti != nil {
			return ti, byDigest, err
		}
	}
	if tried == "" {
		tried = im.Reference
	}
	return nil, tried, nil
}

// resolve reads an image manifest where a runtime would pull it from.
func (w *workflow) resolve(ctx context.Context, src, contentDigest string) (oci.Descriptor, error) {
	if s := w.v.cfg.ImageSource; s != nil {
		return s.Manifest(ctx, contentDigest)
	}
	ref, err := oci.ParseRef(src, w.registry())
	if err != nil {
		return oci.Descriptor{}, err
	}
	w.resolverOnce.Do(func() { w.resolver = oci.NewResolver(ctx, w.registry()) })
	return w.resolver.Resolve(ref)
}
