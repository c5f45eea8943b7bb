package ocistore

import (
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

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/cnabsec/cnabsec/internal/fault"
)

// maxMetadataFile bounds a metadata file read from the repository directory.
const maxMetadataFile = 512 << 20

// targetFile is one sha256-named target file of the directory.
type targetFile struct {
	path string
	hex  string
	size int64
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
		return nil, nil, fault.WithRemedy(fault.Inputf("repository %s: metadata/timestamp.json: %w (nothing published yet, or not a metadata repository)", dir, err), fault.RemedyCheckRepositoryDir, dir)
	}
	files, have, err := listMetadata(dir, mdir)
	if err != nil {
		return nil, nil, err
	}
	// The closure the current timestamp names must be complete.
	cl := closure{dir: dir, mdir: mdir, have: have, timestamp: timestamp}
	snap, err := cl.need("timestamp.json", "snapshot")
	if err != nil {
		return nil, nil, err
	}
	if _, err := cl.need(snap, ""); err != nil {
		return nil, nil, err
	}
	sortForPush(files)
	return files, timestamp, nil
}

// listMetadata lists the metadata files of mdir, each a regular file whose
// name can be a tag; timestamp.json and 1.root.json must be there.
func listMetadata(dir, mdir string) ([]string, map[string]bool, error) {
	entries, err := os.ReadDir(mdir)
	if err != nil {
		return nil, nil, fault.WithRemedy(fault.Inputf("repository %s: %w", dir, err), fault.RemedyCheckRepositoryDir, dir)
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
	return files, have, nil
}

// closure checks that the files a timestamp or snapshot names are there.
type closure struct {
	dir, mdir string
	have      map[string]bool
	timestamp []byte
}

// need returns the versioned file name of role listed by from (role ""
// checks every listed file and returns one of them, or ""), refusing a
// listed file that is missing (reported in name order).
func (cl closure) need(from, role string) (string, error) {
	meta, err := cl.meta(from)
	if err != nil {
		return "", err
	}
	var out []string
	for _, file := range sortedFiles(meta) {
		if role != "" && file != role+".json" {
			continue
		}
		n := fmt.Sprintf("%d.%s", meta[file], file)
		if !cl.have[n] {
			return "", fault.WithRemedy(fault.Inputf("repository %s: metadata/%s names %s, which is missing (an unfinished publication?)", cl.dir, from, n), fault.RemedyShowStaged, cl.dir)
		}
		out = append(out, n)
	}
	if role != "" && len(out) != 1 {
		return "", fault.Inputf("repository %s: metadata/%s does not name %s.json", cl.dir, from, role)
	}
	if len(out) == 0 {
		return "", nil
	}
	return out[0], nil
}

// meta reads the file → version map of from: the timestamp checked at the
// start, or a snapshot read from the directory.
func (cl closure) meta(from string) (map[string]int64, error) {
	data := cl.timestamp
	if from != "timestamp.json" {
		var err error
		if data, err = readCapped(filepath.Join(cl.mdir, from)); err != nil {
			return nil, err
		}
	}
	return metaVersions(data, filepath.Join(cl.mdir, from))
}

// sortedFiles lists the file names of meta in name order.
func sortedFiles(meta map[string]int64) []string {
	listed := make([]string, 0, len(meta))
	for file := range meta {
		listed = append(listed, file)
	}
	sort.Strings(listed)
	return listed
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
		h, isSHA512, err := targetFileName(dir, path, d)
		if err != nil {
			return err
		}
		if isSHA512 {
			sha512Copies++
			return nil
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

// targetFileName reads the hex digest a target file is named by: a regular
// file named <sha256>.<name>, or a <sha512>.<name> copy (isSHA512).
func targetFileName(dir, path string, d fs.DirEntry) (h string, isSHA512 bool, err error) {
	if !d.Type().IsRegular() {
		return "", false, fault.Inputf("repository %s: %s is not a regular file", dir, path)
	}
	h, _, _ = strings.Cut(d.Name(), ".")
	switch {
	case isHex(h, 128):
		return h, true, nil
	case !isHex(h, 64) || !strings.Contains(d.Name(), "."):
		return "", false, fault.Inputf("repository %s: target file %s is not named <sha256>.<name> or <sha512>.<name> (consistent snapshots)", dir, path)
	}
	return h, false, nil
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
