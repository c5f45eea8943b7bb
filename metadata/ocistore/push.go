package ocistore

import (
	"context"
	"path/filepath"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/static"
	tuf "github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/cnabsec/cnabsec/bundle/oci"
	"github.com/cnabsec/cnabsec/internal/fault"
)

// PushResult says what Push did.
type PushResult struct {
	// Repository is REG/REPO.
	Repository string `json:"repository"`
	// Metadata lists the metadata files uploaded, in upload order.
	Metadata []string `json:"metadataPushed"`
	// MetadataUnchanged counts metadata files the registry already had.
	MetadataUnchanged int `json:"metadataUnchanged"`
	// Targets counts target files uploaded; TargetsUnchanged those already there.
	Targets          int `json:"targetsPushed"`
	TargetsUnchanged int `json:"targetsUnchanged"`
	// SkippedSHA512 counts sha512-named target copies not stored (clients
	// fetch the sha256 name).
	SkippedSHA512 int `json:"sha512CopiesSkipped"`
	// Replaced lists metadata the registry held that did not verify against
	// the root being pushed: replaced, never compared (a warning for the user).
	Replaced []Replaced `json:"replaced,omitempty"`
	// Bytes is the size of the files uploaded (blobs the registry already
	// held are not sent again).
	Bytes int64 `json:"bytes"`
}

// Push uploads the published repository in dir (dir/metadata and
// dir/targets, as package metadata writes them; never dir/staged or keys) to
// repo: target files first, then delegated roles, targets, root, snapshot
// and timestamp last, so a client never sees a timestamp that points at
// something missing. A file whose tag already holds the same manifest is
// skipped (one HEAD request). Before anything is sent the directory is
// checked: every name must be storable, every sha256-named target must hash
// to its name, and the files the timestamp and snapshot name must exist.
func Push(ctx context.Context, dir string, repo name.Repository, opts oci.Options) (PushResult, error) {
	res := PushResult{Repository: repo.Name(), Metadata: []string{}}
	files, timestamp, err := metadataFiles(dir)
	if err != nil {
		return res, err
	}
	targets, sha512Copies, err := targetFiles(dir)
	if err != nil {
		return res, err
	}
	res.SkippedSHA512 = sha512Copies
	p, err := newPusher(ctx, repo, oci.RemoteOptions(ctx, opts))
	if err != nil {
		return res, err
	}
	if r := newestRoot(files); r != "" {
		p.root = func() ([]byte, error) { return readCapped(filepath.Join(dir, "metadata", r)) }
		p.pub = &publication{files: files, read: func(f string) ([]byte, error) { return readCapped(filepath.Join(dir, "metadata", f)) }}
	}
	var mu sync.Mutex
	var targetJobs []func() error
	for _, t := range targets {
		tag, err := TagForTarget(t.hex)
		if err != nil {
			return res, err
		}
		rel, _ := filepath.Rel(dir, t.path)
		layer, err := partial.CompressedToLayer(fileBlob(t))
		if err != nil {
			return res, fault.Inputf("target file %s: %w", t.path, err)
		}
		m := fileManifest(ArtifactTypeTarget, MediaTypeTarget, t.hex, t.size, filepath.Base(t.path))
		targetJobs = append(targetJobs, func() error {
			pushed, err := p.put(tag, layer, m, "target file "+filepath.ToSlash(rel), nil)
			mu.Lock()
			defer mu.Unlock()
			if pushed {
				res.Targets++
				res.Bytes += t.size
			} else if err == nil {
				res.TargetsUnchanged++
			}
			return err
		})
	}
	groups := [][]func() error{targetJobs}
	rank := -1
	for _, f := range files { // in push order
		if _, role := splitMetadataName(f); pushRank(role) != rank {
			rank = pushRank(role)
			groups = append(groups, nil)
		}
		groups[len(groups)-1] = append(groups[len(groups)-1], func() error {
			tag, _ := TagForMetadata(f) // checked by metadataFiles
			data := timestamp           // the one whose closure was checked
			if f != "timestamp.json" {
				var err error
				if data, err = readCapped(filepath.Join(dir, "metadata", f)); err != nil {
					return err
				}
			}
			layer := static.NewLayer(data, MediaTypeMetadata)
			m := fileManifest(ArtifactTypeMetadata, MediaTypeMetadata, sha256Hex(data), int64(len(data)), f)
			pushed, err := p.put(tag, layer, m, "metadata file metadata/"+f, func() error {
				return p.mayReplaceMetadata(f, func(*tuf.Metadata[tuf.RootType]) (int64, error) { return signedVersion(data) })
			})
			mu.Lock()
			defer mu.Unlock()
			if pushed {
				res.Metadata = append(res.Metadata, f)
				res.Bytes += int64(len(data))
			} else if err == nil {
				res.MetadataUnchanged++
			}
			return err
		})
	}
	err = runGroups(ctx, groups, pushWorkers)
	sortForPush(res.Metadata)
	res.Replaced = p.replaced
	return res, err
}
