package ocistore

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/cnabsec/cnabsec/bundle/oci"
	"github.com/cnabsec/cnabsec/internal/fault"
)

// CopyResult says what Copy did.
type CopyResult struct {
	Source      string `json:"source"`
	Destination string `json:"destination"`
	// Copied counts artifacts written to the destination, Unchanged those it
	// already held with the same manifest.
	Copied    int `json:"copied"`
	Unchanged int `json:"unchanged"`
	// Replaced lists metadata the destination held that did not verify
	// against the root being copied: replaced, never compared.
	Replaced []Replaced `json:"replaced,omitempty"`
}

// Copy carries the metadata repository stored in src to dst: every target
// artifact, then every metadata artifact in push order (timestamp last; each
// group with up to 8 concurrent requests), each
// manifest and its blobs unchanged (same digests), skipping tags dst already
// holds with the same manifest. Tags of src outside this package's layout
// are ignored. Nothing is verified beyond digests: the copy is verified the
// way the original is, by a TUF client pinned to the root.
func Copy(ctx context.Context, src, dst name.Repository, opts oci.Options) (CopyResult, error) {
	res := CopyResult{Source: src.Name(), Destination: dst.Name()}
	if src.Name() == dst.Name() {
		return res, fault.Inputf("copy metadata: source and destination are both %s", src.Name())
	}
	ro := oci.RemoteOptions(ctx, opts)
	p, err := newPusher(ctx, dst, ro)
	if err != nil {
		return res, err
	}
	// The source's timestamp is read before its tags are listed and copied
	// as read: a push running meanwhile (timestamp last) cannot make the
	// copy's timestamp name a file the listing lacks.
	tsTag, _ := TagForMetadata("timestamp.json")
	ts, err := p.puller.Get(ctx, src.Tag(tsTag))
	if err != nil {
		if isNotFound(err) {
			return res, fault.Inputf("%s holds no TUF metadata (no tag %s): push it with `cnabsec repo push`", src.Name(), tsTag)
		}
		return res, classify(ctx, err, "reading "+src.Tag(tsTag).Name(), false)
	}
	tags, err := p.puller.List(ctx, src)
	if err != nil {
		return res, classify(ctx, err, "listing the tags of metadata repository "+src.Name(), false)
	}
	var targets, files []string
	for _, t := range tags {
		if _, ok := TargetForTag(t); ok {
			targets = append(targets, t)
		} else if f, err := MetadataForTag(t); err == nil {
			files = append(files, f)
		}
	}
	sort.Strings(targets)
	sortForPush(files)
	var mu sync.Mutex
	job := func(tag, layerType string) func() error {
		return func() error {
			var manifest []byte
			if tag == tsTag {
				manifest = ts.Manifest
			}
			copied, err := copyTag(p, src.Tag(tag), dst.Tag(tag), layerType, manifest)
			mu.Lock()
			defer mu.Unlock()
			if copied {
				res.Copied++
			} else if err == nil {
				res.Unchanged++
			}
			return err
		}
	}
	groups := [][]func() error{nil}
	for _, tag := range targets {
		groups[0] = append(groups[0], job(tag, MediaTypeTarget))
	}
	rank := -1
	for _, f := range files { // in push order: timestamp alone, last
		if _, role := splitMetadataName(f); pushRank(role) != rank {
			rank = pushRank(role)
			groups = append(groups, nil)
		}
		tag, _ := TagForMetadata(f)
		groups[len(groups)-1] = append(groups[len(groups)-1], job(tag, MediaTypeMetadata))
	}
	if r := newestRoot(files); r != "" {
		p.root = func() ([]byte, error) {
			f := &Fetcher{repo: src, location: Scheme + "://" + src.Name(), puller: p.puller}
			return f.Fetch(ctx, "metadata/"+r, maxRootRead)
		}
	}
	err = runGroups(ctx, groups, pushWorkers)
	res.Replaced = p.replaced
	return res, err
}

// copyTag copies one artifact (its empty config, its single layer, its
// manifest: the one given, or else the one src holds now); false when dst
// already holds the same manifest.
func copyTag(p *pusher, src, dst name.Tag, layerType string, manifest []byte) (bool, error) {
	ctx := p.ctx
	what := fmt.Sprintf("copying %s to %s", src.Name(), dst.Name())
	if manifest == nil {
		desc, err := p.puller.Get(ctx, src)
		if err != nil {
			return false, classify(ctx, err, what, false)
		}
		manifest = desc.Manifest
	}
	l, err := parseFileManifest(manifest, layerType, src.Name())
	if err != nil {
		return false, fault.Wrap(fault.Denied, err)
	}
	exists, same, err := p.has(dst, manifest, what)
	if err != nil || same {
		return false, err
	}
	if file, err := MetadataForTag(dst.TagStr()); err == nil && exists {
		err := p.mayReplaceMetadata(file, func() (int64, error) {
			src := &Fetcher{repo: src.Context(), location: Scheme + "://" + src.Context().Name(), puller: p.puller}
			data, err := src.fetchBlob(ctx, strings.TrimPrefix(l.Digest, "sha256:"), l.Size, maxTimestampRead, what, false)
			if err != nil {
				return 0, err
			}
			return signedVersion(data)
		})
		if err != nil {
			return false, err
		}
	}
	for _, d := range []string{"sha256:" + sha256Hex(emptyConfig), l.Digest} {
		layer, err := p.puller.Layer(ctx, src.Context().Digest(d))
		if err != nil {
			return false, classify(ctx, err, what+": blob "+d, false)
		}
		if err := p.pusher.Upload(ctx, dst.Context(), layer); err != nil {
			return false, classify(ctx, err, what+": blob "+d, false)
		}
	}
	if err := p.pusher.Put(ctx, dst, rawManifest{manifest}); err != nil {
		return false, classify(ctx, err, what+": manifest", false)
	}
	return true, nil
}
