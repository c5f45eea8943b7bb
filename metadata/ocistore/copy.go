package ocistore

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	tuf "github.com/theupdateframework/go-tuf/v2/metadata"
	"github.com/theupdateframework/go-tuf/v2/metadata/trustedmetadata"

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
// are ignored. The source's roots must verify as a chain (each version by
// the one before) or nothing is copied; the destination's timestamp.json is
// replaced only by a newer one when the newest root's timestamp keys signed
// it, by an unverifiable source timestamp never, and unverifiable bytes the
// destination holds are replaced and listed in CopyResult.Replaced. Beyond
// that, nothing is verified but digests: the copy is verified the way the
// original is, by a TUF client pinned to the root.
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
	ts, err := sourceTimestamp(ctx, p, src, tsTag)
	if err != nil {
		return res, err
	}
	tags, err := p.puller.List(ctx, src)
	if err != nil {
		return res, classify(ctx, err, "listing the tags of metadata repository "+src.Name(), false)
	}
	targets, files := splitTags(tags)
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
	groups := copyGroups(targets, files, job)
	// The source's roots must chain before anything is copied: the newest
	// decides what the destination's timestamp is worth, and a root that
	// does not verify would break every client of the destination.
	if err := p.judgeBySourceRoot(src, files); err != nil {
		return res, err
	}
	err = runGroups(ctx, groups, pushWorkers)
	res.Replaced = p.replaced
	return res, err
}

// sourceTimestamp reads the manifest of the source's timestamp tag; a source
// without one holds no TUF metadata.
func sourceTimestamp(ctx context.Context, p *pusher, src name.Repository, tsTag string) (*remote.Descriptor, error) {
	ts, err := p.puller.Get(ctx, src.Tag(tsTag))
	if err == nil {
		return ts, nil
	}
	if isNotFound(err) {
		return nil, fault.WithRemedy(fault.Inputf("%s holds no TUF metadata (no tag %s)", src.Name(), tsTag), fault.RemedyPushMetadata, src.Name())
	}
	return nil, classify(ctx, err, "reading "+src.Tag(tsTag).Name(), false)
}

// copyGroups groups the copy jobs: every target first, then the metadata
// files by push rank (timestamp alone, last).
func copyGroups(targets, files []string, job func(tag, layerType string) func() error) [][]func() error {
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
	return groups
}

// splitTags sorts tags of this package's layout into target tags (sorted)
// and metadata file names (in push order); other tags are ignored.
func splitTags(tags []string) (targets, files []string) {
	for _, t := range tags {
		if _, ok := TargetForTag(t); ok {
			targets = append(targets, t)
		} else if f, err := MetadataForTag(t); err == nil {
			files = append(files, f)
		}
	}
	sort.Strings(targets)
	sortForPush(files)
	return targets, files
}

// judgeBySourceRoot makes the newest root of src whose chain verifies the
// root the destination's timestamp is judged by.
func (p *pusher) judgeBySourceRoot(src name.Repository, files []string) error {
	from := &Fetcher{repo: src, location: Scheme + "://" + src.Name(), puller: p.puller}
	p.pub = &publication{files: files, read: memoRead(func(name string) ([]byte, error) {
		if _, role := splitMetadataName(name); role == "root" {
			return from.Fetch(p.ctx, "metadata/"+name, maxRootRead)
		}
		return from.Fetch(p.ctx, "metadata/"+name, maxJudgedRead)
	})}
	root, err := newestVerifiedRoot(p.pub.read, files, src.Name())
	if err != nil {
		return err
	}
	p.root = func() ([]byte, error) { return root, nil }
	return nil
}

// newestVerifiedRoot walks the roots of files (read with fetch) from the
// lowest version up, each verified by the one before as a TUF client's root
// update does, and returns the newest: a root planted in the source without
// the root keys is refused, never copied, and cannot decide what the
// destination's timestamp is worth.
// The lowest root anchors the chain; a destination that already holds it
// holds the same bytes (a different versioned file is never replaced).
func newestVerifiedRoot(fetch func(string) ([]byte, error), files []string, repo string) (_ []byte, err error) {
	var roots []string
	for _, f := range files {
		if _, role := splitMetadataName(f); role == "root" {
			roots = append(roots, f)
		}
	}
	sortForPush(roots)
	if len(roots) == 0 || len(roots) > maxRootChain {
		return nil, fault.Deniedf("%s holds %d root versions: want 1 to %d", repo, len(roots), maxRootChain)
	}
	defer func() {
		if recover() != nil {
			err = fault.Deniedf("%s: its roots are not valid root metadata", repo)
		}
	}()
	latest, err := fetch(roots[0])
	if err != nil {
		return nil, err
	}
	tm, err := trustedmetadata.New(latest)
	if err != nil {
		return nil, fault.Deniedf("%s of %s is not valid root metadata: %v", roots[0], repo, err)
	}
	for _, r := range roots[1:] {
		data, err := fetch(r)
		if err != nil {
			return nil, err
		}
		if _, err := tm.UpdateRoot(data); err != nil {
			return nil, fault.Deniedf("%s of %s does not verify against root version %d: %v", r, repo, tm.Root.Signed.Version, err)
		}
		latest = data
	}
	return latest, nil
}

// copyTag copies one artifact (its empty config, its single layer, its
// manifest: the one given, or else the one src holds now); false when dst
// already holds the same manifest.
func copyTag(p *pusher, src, dst name.Tag, layerType string, manifest []byte) (bool, error) {
	ctx := p.ctx
	what := fmt.Sprintf("copying %s to %s", src.Name(), dst.Name())
	manifest, err := p.sourceManifest(src, manifest, what)
	if err != nil {
		return false, err
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
		if err := p.mayReplaceCopied(src, dst, file, l, what); err != nil {
			return false, err
		}
	}
	if err := p.copyBlobs(src, dst, l.Digest, what); err != nil {
		return false, err
	}
	if err := p.pusher.Put(ctx, dst, rawManifest{manifest}); err != nil {
		return false, classify(ctx, err, what+": manifest", false)
	}
	return true, nil
}

// sourceManifest is the manifest to copy: the one given, or else the one src
// holds now.
func (p *pusher) sourceManifest(src name.Tag, manifest []byte, what string) ([]byte, error) {
	if manifest != nil {
		return manifest, nil
	}
	desc, err := p.puller.Get(p.ctx, src)
	if err != nil {
		return nil, classify(p.ctx, err, what, false)
	}
	return desc.Manifest, nil
}

// mayReplaceCopied decides whether the metadata file the destination holds
// may be replaced by the source's, whose layer is l.
func (p *pusher) mayReplaceCopied(src, dst name.Tag, file string, l descriptor, what string) error {
	return p.mayReplaceMetadata(file, func(root *tuf.Metadata[tuf.RootType]) (int64, error) {
		from := &Fetcher{repo: src.Context(), location: Scheme + "://" + src.Context().Name(), puller: p.puller}
		data, err := from.fetchBlob(p.ctx, strings.TrimPrefix(l.Digest, "sha256:"), l.Size, maxTimestampRead, what, false)
		if err != nil {
			return 0, err
		}
		return verifiedVersion(root, data, "the "+file+" of "+src.Context().Name(), "the one "+dst.Context().Name()+" holds, which does")
	})
}

// copyBlobs copies an artifact's empty config and its layer from src's
// repository to dst's.
func (p *pusher) copyBlobs(src, dst name.Tag, layerDigest, what string) error {
	for _, d := range []string{"sha256:" + sha256Hex(emptyConfig), layerDigest} {
		layer, err := p.puller.Layer(p.ctx, src.Context().Digest(d))
		if err != nil {
			return classify(p.ctx, err, what+": blob "+d, false)
		}
		if err := p.pusher.Upload(p.ctx, dst.Context(), layer); err != nil {
			return classify(p.ctx, err, what+": blob "+d, false)
		}
	}
	return nil
}
