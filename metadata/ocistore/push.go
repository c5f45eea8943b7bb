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
	run := &pushRun{p: p, dir: dir, res: &res}
	targetJobs, err := run.targetJobs(targets)
	if err != nil {
		return res, err
	}
	groups := append([][]func() error{targetJobs}, run.metadataGroups(files, timestamp)...)
	err = runGroups(ctx, groups, pushWorkers)
	sortForPush(res.Metadata)
	res.Replaced = p.replaced
	return res, err
}

// pushRun is one Push: the pusher, the directory, and the result the jobs
// add to (under mu).
type pushRun struct {
	p   *pusher
	dir string
	mu  sync.Mutex
	res *PushResult
}

// targetJobs prepares a job pushing each target file.
func (run *pushRun) targetJobs(targets []targetFile) ([]func() error, error) {
	var jobs []func() error
	for _, t := range targets {
		tag, err := TagForTarget(t.hex)
		if err != nil {
			return nil, err
		}
		rel, _ := filepath.Rel(run.dir, t.path)
		layer, err := partial.CompressedToLayer(fileBlob(t))
		if err != nil {
			return nil, fault.Inputf("target file %s: %w", t.path, err)
		}
		m := fileManifest(ArtifactTypeTarget, MediaTypeTarget, t.hex, t.size, filepath.Base(t.path))
		jobs = append(jobs, func() error {
			pushed, err := run.p.put(tag, layer, m, "target file "+filepath.ToSlash(rel), nil)
			run.countTarget(pushed, err, t.size)
			return err
		})
	}
	return jobs, nil
}

// countTarget records the outcome of pushing a target file of size bytes.
func (run *pushRun) countTarget(pushed bool, err error, size int64) {
	run.mu.Lock()
	defer run.mu.Unlock()
	if pushed {
		run.res.Targets++
		run.res.Bytes += size
	} else if err == nil {
		run.res.TargetsUnchanged++
	}
}

// metadataGroups groups the jobs pushing the metadata files (in push order)
// by push rank: a group starts once the previous one is done.
func (run *pushRun) metadataGroups(files []string, timestamp []byte) [][]func() error {
	var groups [][]func() error
	rank := -1
	for _, f := range files { // in push order
		if _, role := splitMetadataName(f); pushRank(role) != rank {
			rank = pushRank(role)
			groups = append(groups, nil)
		}
		groups[len(groups)-1] = append(groups[len(groups)-1], func() error {
			return run.pushMetadata(f, timestamp)
		})
	}
	return groups
}

// pushMetadata pushes the metadata file f (timestamp.json from the bytes
// whose closure was checked) unless its tag holds it already.
func (run *pushRun) pushMetadata(f string, timestamp []byte) error {
	tag, _ := TagForMetadata(f) // checked by metadataFiles
	data := timestamp           // the one whose closure was checked
	if f != "timestamp.json" {
		var err error
		if data, err = readCapped(filepath.Join(run.dir, "metadata", f)); err != nil {
			return err
		}
	}
	layer := static.NewLayer(data, MediaTypeMetadata)
	m := fileManifest(ArtifactTypeMetadata, MediaTypeMetadata, sha256Hex(data), int64(len(data)), f)
	pushed, err := run.p.put(tag, layer, m, "metadata file metadata/"+f, func() error {
		return run.p.mayReplaceMetadata(f, func(*tuf.Metadata[tuf.RootType]) (int64, error) { return signedVersion(data) })
	})
	run.countMetadata(pushed, err, f, len(data))
	return err
}

// countMetadata records the outcome of pushing metadata file f of size bytes.
func (run *pushRun) countMetadata(pushed bool, err error, f string, size int) {
	run.mu.Lock()
	defer run.mu.Unlock()
	if pushed {
		run.res.Metadata = append(run.res.Metadata, f)
		run.res.Bytes += int64(size)
	} else if err == nil {
		run.res.MetadataUnchanged++
	}
}
