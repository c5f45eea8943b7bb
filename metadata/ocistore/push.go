package ocistore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/cnabsec/cnabsec/bundle/oci"
	"github.com/cnabsec/cnabsec/internal/fault"
)

// maxMetadataFile bounds a metadata file read from the repository directory.
const maxMetadataFile = 512 << 20

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
	// Bytes is the size of the files uploaded (blobs the registry already
	// held are not sent again).
	Bytes int64 `json:"bytes"`
}

// targetFile is one sha256-named target file of the directory.
type targetFile struct {
	path string
	hex  string
	size int64
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
				return p.mayReplaceMetadata(f, func() (int64, error) { return signedVersion(data) })
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
	return res, err
}

// pushWorkers bounds concurrent requests of a push or copy.
var pushWorkers = 8

// runGroups runs the groups one after the other, the jobs of a group
// concurrently (at most workers at a time); it stops at the first error and
// starts no later group after one.
func runGroups(ctx context.Context, groups [][]func() error, workers int) error {
	for _, g := range groups {
		if err := runJobs(ctx, g, workers); err != nil {
			return err
		}
	}
	return nil
}

func runJobs(parent context.Context, jobs []func() error, workers int) error {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
		next  = make(chan func() error)
	)
	for w := 0; w < workers && w < len(jobs); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for job := range next {
				if err := job(); err != nil {
					once.Do(func() { first = err; cancel() })
				}
			}
		}()
	}
feed:
	for _, job := range jobs {
		select {
		case next <- job:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if first != nil {
		return first
	}
	if parent.Err() != nil {
		return fault.Inconclusivef("stopped before every file was sent: %v", context.Cause(parent))
	}
	return nil
}

// pusher uploads files to one repository, authenticating once.
type pusher struct {
	ctx         context.Context
	repo        name.Repository
	puller      *remote.Puller
	pusher      *remote.Pusher
	configMu    sync.Mutex
	configReady bool
}

func newPusher(ctx context.Context, repo name.Repository, ro []remote.Option) (*pusher, error) {
	pl, err := remote.NewPuller(ro...)
	if err != nil {
		return nil, fault.Inputf("registry options for %s: %v", repo.Name(), err)
	}
	ps, err := remote.NewPusher(ro...)
	if err != nil {
		return nil, fault.Inputf("registry options for %s: %v", repo.Name(), err)
	}
	return &pusher{ctx: ctx, repo: repo, puller: pl, pusher: ps}, nil
}

// put makes tag hold manifest m whose single layer is layer; it returns
// false when the tag already held exactly m.
//
// A tag already holding a different manifest is replaced only when
// mayReplace (nil: always) allows it.
func (p *pusher) put(tag string, layer v1.Layer, m []byte, what string, mayReplace func() error) (bool, error) {
	what = fmt.Sprintf("%s → %s:%s", what, p.repo.Name(), tag)
	ref := p.repo.Tag(tag)
	exists, same, err := p.has(ref, m, what)
	if err != nil || same {
		return false, err
	}
	if exists && mayReplace != nil {
		if err := mayReplace(); err != nil {
			return false, err
		}
	}
	if err := p.ensureConfig(); err != nil {
		return false, err
	}
	if err := p.pusher.Upload(p.ctx, p.repo, layer); err != nil {
		return false, classify(p.ctx, err, what+": uploading the blob", false)
	}
	if err := p.pusher.Put(p.ctx, ref, rawManifest{m}); err != nil {
		return false, classify(p.ctx, err, what+": uploading the manifest", false)
	}
	return true, nil
}

// ensureConfig uploads the empty config blob once.
func (p *pusher) ensureConfig() error {
	p.configMu.Lock()
	defer p.configMu.Unlock()
	if p.configReady {
		return nil
	}
	if err := p.pusher.Upload(p.ctx, p.repo, static.NewLayer(emptyConfig, mediaTypeEmpty)); err != nil {
		return classify(p.ctx, err, "empty config blob → "+p.repo.Name(), false)
	}
	p.configReady = true
	return nil
}

// has reports whether ref exists and whether it holds manifest m.
func (p *pusher) has(ref name.Tag, m []byte, what string) (exists, same bool, err error) {
	desc, err := p.puller.Head(p.ctx, ref)
	if err != nil {
		if isNotFound(err) {
			return false, false, nil
		}
		return false, false, classify(p.ctx, err, what+": checking the tag", false)
	}
	return true, desc.Digest.Hex == sha256Hex(m), nil
}

// metadataFiles lists dir/metadata/*.json in push order after checking that
// each name can be a tag and that the timestamp's snapshot and the
// snapshot's roles are all there. It returns the timestamp.json it checked:
// read before the listing, so a publication running meanwhile (which writes
// the timestamp last) cannot make it name a file the listing lacks; Push
// sends these bytes, not a newer file.
func metadataFiles(dir string) ([]string, []byte, error) {
	mdir := filepath.Join(dir, "metadata")
	timestamp, err := readCapped(filepath.Join(mdir, "timestamp.json"))
	if err != nil {
		return nil, nil, fault.Inputf("repository %s: metadata/timestamp.json: %w (nothing published yet, or not a repository made by `cnabsec repo init`)", dir, err)
	}
	entries, err := os.ReadDir(mdir)
	if err != nil {
		return nil, nil, fault.Inputf("repository %s: %w (is it a repository made by `cnabsec repo init`?)", dir, err)
	}
	have := map[string]bool{}
	var files []string
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		if !e.Type().IsRegular() {
			return nil, nil, fault.Inputf("repository %s: metadata/%s is not a regular file", dir, e.Name())
		}
		if _, err := TagForMetadata(e.Name()); err != nil {
			return nil, nil, fault.Inputf("repository %s: %w", dir, err)
		}
		files = append(files, e.Name())
		have[e.Name()] = true
	}
	if !have["timestamp.json"] || !have["1.root.json"] {
		return nil, nil, fault.Inputf("repository %s: metadata/timestamp.json or metadata/1.root.json is missing: nothing is published yet", dir)
	}
	// The closure the current timestamp names must be complete.
	need := func(from, role string) (string, error) {
		data := timestamp
		if from != "timestamp.json" {
			if data, err = readCapped(filepath.Join(mdir, from)); err != nil {
				return "", err
			}
		}
		meta, err := metaVersions(data, filepath.Join(mdir, from))
		if err != nil {
			return "", err
		}
		var out []string
		for file, v := range meta {
			n := fmt.Sprintf("%d.%s", v, file)
			if role != "" && file != role+".json" {
				continue
			}
			if !have[n] {
				return "", fault.Inputf("repository %s: metadata/%s names %s, which is missing (an unfinished publication? run `cnabsec repo status`)", dir, from, n)
			}
			out = append(out, n)
		}
		if role != "" && len(out) != 1 {
			return "", fault.Inputf("repository %s: metadata/%s does not name %s.json", dir, from, role)
		}
		if len(out) == 0 {
			return "", nil
		}
		return out[0], nil
	}
	snap, err := need("timestamp.json", "snapshot")
	if err != nil {
		return nil, nil, err
	}
	if _, err := need(snap, ""); err != nil {
		return nil, nil, err
	}
	sortForPush(files)
	return files, timestamp, nil
}

// metaVersions reads signed.meta (file → version) of a timestamp or
// snapshot file. The file is not verified here: the check only guards
// against pushing an incomplete repository.
func metaVersions(data []byte, path string) (map[string]int64, error) {
	var md struct {
		Signed struct {
			Meta map[string]struct {
				Version int64 `json:"version"`
			} `json:"meta"`
		} `json:"signed"`
	}
	if err := json.Unmarshal(data, &md); err != nil {
		return nil, fault.Inputf("%s: not TUF metadata: %v", path, err)
	}
	out := map[string]int64{}
	for f, m := range md.Signed.Meta {
		if _, err := TagForMetadata(f); err != nil {
			return nil, fault.Inputf("%s: %w", path, err)
		}
		out[f] = m.Version
	}
	return out, nil
}

func readCapped(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fault.Inputf("reading %s: %w", path, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxMetadataFile+1))
	if err != nil {
		return nil, fault.Inputf("reading %s: %w", path, err)
	}
	if len(data) > maxMetadataFile {
		return nil, fault.Inputf("%s is larger than %d bytes", path, maxMetadataFile)
	}
	return data, nil
}

// targetFiles walks dir/targets: sha256-named files (checked against their
// name) are returned once per content, sha512-named ones counted.
func targetFiles(dir string) ([]targetFile, int, error) {
	root := filepath.Join(dir, "targets")
	seen := map[string]bool{}
	var out []targetFile
	sha512Copies := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && path == root {
				return fs.SkipDir // no targets yet
			}
			return fault.Inputf("repository %s: %w", dir, err)
		}
		if d.IsDir() {
			return nil
		}
		if !d.Type().IsRegular() {
			return fault.Inputf("repository %s: %s is not a regular file", dir, path)
		}
		h, _, _ := strings.Cut(d.Name(), ".")
		switch {
		case isHex(h, 128):
			sha512Copies++
			return nil
		case !isHex(h, 64) || !strings.Contains(d.Name(), "."):
			return fault.Inputf("repository %s: target file %s is not named <sha256>.<name> or <sha512>.<name> (consistent snapshots)", dir, path)
		}
		if seen[h] {
			return nil
		}
		size, err := checkSHA256(path, h)
		if err != nil {
			return err
		}
		seen[h] = true
		out = append(out, targetFile{path: path, hex: h, size: size})
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].path < out[j].path })
	return out, sha512Copies, nil
}

// checkSHA256 hashes the file and refuses it unless it matches its name.
func checkSHA256(path, want string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fault.Inputf("reading %s: %w", path, err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return 0, fault.Inputf("reading %s: %w", path, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		return 0, fault.Deniedf("target file %s hashes to sha256:%s, not to the digest in its name: the repository directory is corrupted", path, got)
	}
	return n, nil
}

// fileBlob is a target file uploaded straight from disk.
type fileBlob struct {
	path string
	hex  string
	size int64
}

func (b fileBlob) Digest() (v1.Hash, error)           { return v1.Hash{Algorithm: "sha256", Hex: b.hex}, nil }
func (b fileBlob) Compressed() (io.ReadCloser, error) { return os.Open(b.path) }
func (b fileBlob) Size() (int64, error)               { return b.size, nil }
func (b fileBlob) MediaType() (types.MediaType, error) {
	return MediaTypeTarget, nil
}
