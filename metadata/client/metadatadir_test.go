package client

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/internal/testing/errtest"
)

func dirVersion(t *testing.T, dir, role string) int64 {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, role+".json"))
	if err != nil {
		t.Fatalf("%s.json: %v", role, err)
	}
	var probe struct {
		Signed struct {
			Type    string `json:"_type"`
			Version int64  `json:"version"`
		} `json:"signed"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		t.Fatalf("%s.json: %v", role, err)
	}
	return probe.Signed.Version
}

func TestMetadataDirKeepsTrustedMetadataUnderUnversionedNames(t *testing.T) {
	r := newTestRepo(t)
	// Rotate root to version 2 (same keys) and publish new metadata.
	r.root.Signed.Version = 2
	r.writeRoot(r.rootKeys...)
	r.bumpAll()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "root.json"), r.rootBytes[1], 0o600); err != nil {
		t.Fatal(err)
	}
	c := r.client(t, func(o *Options) { o.MetadataDir = dir })
	if _, err := c.Target(ctxT(t), versionName); err != nil {
		t.Fatalf("Target: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	want := []string{"releases.json", "root.json", "snapshot.json", "targets.json", "timestamp.json"}
	if len(names) != len(want) {
		t.Fatalf("metadata dir holds %v, want %v", names, want)
	}
	for i := range want {
		if names[i] != want[i] {
			t.Fatalf("metadata dir holds %v, want %v", names, want)
		}
	}
	root, _ := os.ReadFile(filepath.Join(dir, "root.json"))
	if !bytes.Equal(root, r.rootBytes[2]) {
		t.Errorf("root.json is not the newest trusted root (version 2)")
	}
	for role, v := range map[string]int64{"timestamp": 2, "snapshot": 2, "targets": 2, "releases": 2} {
		if got := dirVersion(t, dir, role); got != v {
			t.Errorf("%s.json version %d, want %d", role, got, v)
		}
	}
}

func TestMetadataDirIsTheRollbackFloor(t *testing.T) {
	r := newTestRepo(t)
	old := r.copyTo(t) // version 1 of everything
	r.bumpAll()
	dir := t.TempDir()
	c := r.client(t, func(o *Options) { o.MetadataDir = dir })
	if err := c.Refresh(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	_, err := r.client(t, func(o *Options) { o.MetadataDir = dir; o.Location = old }).Target(ctxT(t), versionName)
	errtest.Want(t, err, fault.Denied, "timestamp version 1 is older than trusted version 2: rollback")
	if got := dirVersion(t, dir, "timestamp"); got != 2 {
		t.Errorf("a rollback attempt changed timestamp.json to version %d", got)
	}
}

func TestMetadataDirAndCacheDirExcludeEachOther(t *testing.T) {
	r := newTestRepo(t)
	o := r.options()
	o.MetadataDir, o.CacheDir = t.TempDir(), t.TempDir()
	_, err := New(o)
	errtest.Want(t, err, fault.Input, "a metadata directory and a metadata cache exclude each other")
}

func TestDownloadToFileKeepsAMatchingFileAndReplacesATamperedOne(t *testing.T) {
	r := newTestRepo(t)
	c := r.client(t)
	path := filepath.Join(t.TempDir(), "version")
	want := []byte(`{"schemaVersion":"v1.0.0","name":"app"}`)
	if _, fetched, err := c.DownloadToFile(ctxT(t), versionName, path, 0); err != nil || !fetched {
		t.Fatalf("first download: fetched=%v %v", fetched, err)
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, want) {
		t.Fatalf("stored %q", got)
	}
	if _, fetched, err := c.DownloadToFile(ctxT(t), versionName, path, 0); err != nil || fetched {
		t.Fatalf("second download of an unchanged target: fetched=%v %v", fetched, err)
	}
	// Same length, other bytes: not trusted, fetched again.
	if err := os.WriteFile(path, bytes.Repeat([]byte("x"), len(want)), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, fetched, err := c.DownloadToFile(ctxT(t), versionName, path, 0); err != nil || !fetched {
		t.Fatalf("download over a tampered local file: fetched=%v %v", fetched, err)
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, want) {
		t.Fatalf("tampered local file not replaced: %q", got)
	}
}

func TestDownloadToFileWritesNothingForATamperedTarget(t *testing.T) {
	r := newTestRepo(t)
	matches, _ := filepath.Glob(filepath.Join(r.dir, "targets", "example.com", "org", "*.app:1.0"))
	if len(matches) == 0 {
		t.Fatal("no served target files")
	}
	for _, m := range matches {
		data, _ := os.ReadFile(m)
		data[0] ^= 1
		if err := os.WriteFile(m, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(t.TempDir(), "version")
	_, _, err := r.client(t).DownloadToFile(ctxT(t), versionName, path, 0)
	errtest.Want(t, err, fault.Denied, "hash mismatch")
	if _, err := os.Stat(path); err == nil {
		t.Fatal("a target that failed verification was written")
	}
}
