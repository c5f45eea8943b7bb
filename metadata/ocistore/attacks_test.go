package ocistore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/static"

	"github.com/cnabsec/cnabsec/bundle/oci"
	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/internal/testing/registrytest"
	"github.com/cnabsec/cnabsec/metadata"
	"github.com/cnabsec/cnabsec/metadata/client"
)

// layerDigest returns the digest of the single layer behind tag.
func layerDigest(t *testing.T, reg *registrytest.Registry, tag string) string {
	t.Helper()
	resp, err := http.Get("http://" + reg.Host + "/v2/org/tuf/manifests/" + tag)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	buf.ReadFrom(resp.Body)
	l, err := parseFileManifest(buf.Bytes(), MediaTypeMetadata, tag)
	if err != nil {
		t.Fatal(err)
	}
	return l.Digest
}

// replaceBlob serves body instead of the blob with digest d (once set).
type replaceBlob struct {
	digest string
	body   func(w http.ResponseWriter)
}

func (rb *replaceBlob) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rb.digest != "" && r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/blobs/"+rb.digest) {
			rb.body(w)
			return
		}
		h.ServeHTTP(w, r)
	})
}

func TestTamperedMetadataBlobIsRefused(t *testing.T) {
	r := newRepo(t)
	rb := &replaceBlob{}
	reg := registrytest.New(t, rb.wrap)
	push(t, r, mustRepo(t, reg, "org/tuf"))
	orig, err := os.ReadFile(filepath.Join(r.Dir, "metadata", "timestamp.json"))
	if err != nil {
		t.Fatal(err)
	}
	rb.digest = layerDigest(t, reg, "tuf-timestamp.json")
	rb.body = func(w http.ResponseWriter) { w.Write(bytes.Replace(orig, []byte(`"version"`), []byte(`"versiom"`), 1)) }
	err = newClient(t, r, "oci://"+reg.Ref("org/tuf")).Refresh(context.Background())
	if fault.KindOf(err) != fault.Denied {
		t.Fatalf("kind %v, want Denied: %v", fault.KindOf(err), err)
	}
	wantContains(t, err, "timestamp.json", "not to the digest it was asked for")
}

func TestTamperedMetadataManifestIsRefusedBySignature(t *testing.T) {
	r := newRepo(t)
	reg := registrytest.New(t)
	repo := mustRepo(t, reg, "org/tuf")
	push(t, r, repo)
	// The registry (or someone with push rights) swaps the timestamp for
	// one whose signed part was changed: a valid manifest and blob, but
	// the signature no longer matches.
	orig, err := os.ReadFile(filepath.Join(r.Dir, "metadata", "timestamp.json"))
	if err != nil {
		t.Fatal(err)
	}
	forged := bytes.Replace(orig, []byte(`"spec_version"`), []byte(`"x":1,"spec_version"`), 1)
	if bytes.Equal(forged, orig) {
		t.Fatal("test setup: timestamp.json has no spec_version")
	}
	p, err := newPusher(context.Background(), repo, oci.RemoteOptions(context.Background(), oci.Options{}))
	if err != nil {
		t.Fatal(err)
	}
	m := fileManifest(ArtifactTypeMetadata, MediaTypeMetadata, sha256Hex(forged), int64(len(forged)), "timestamp.json")
	if _, err := p.put("tuf-timestamp.json", static.NewLayer(forged, MediaTypeMetadata), m, "forged timestamp", nil); err != nil {
		t.Fatal(err)
	}
	err = newClient(t, r, "oci://"+reg.Ref("org/tuf")).Refresh(context.Background())
	if fault.KindOf(err) != fault.Denied {
		t.Fatalf("kind %v, want Denied: %v", fault.KindOf(err), err)
	}
	wantContains(t, err, "metadata/timestamp.json", "0 of the 1 required signatures", "threshold not met")
}

func TestTamperedTargetBlobIsRefused(t *testing.T) {
	r := newRepo(t)
	rb := &replaceBlob{}
	reg := registrytest.New(t, rb.wrap)
	push(t, r, mustRepo(t, reg, "org/tuf"))
	rb.digest = "sha256:" + sha256Hex(testContent)
	rb.body = func(w http.ResponseWriter) { w.Write(bytes.ToUpper(testContent)) }
	c := newClient(t, r, "oci://"+reg.Ref("org/tuf"))
	if err := c.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	_, _, err := c.Download(context.Background(), testTarget, 0)
	if fault.KindOf(err) != fault.Denied {
		t.Fatalf("kind %v, want Denied: %v", fault.KindOf(err), err)
	}
	wantContains(t, err, "root.layout", "not to the digest it was asked for")
}

func TestEndlessMetadataBlobIsRefused(t *testing.T) {
	r := newRepo(t)
	rb := &replaceBlob{}
	reg := registrytest.New(t, rb.wrap)
	push(t, r, mustRepo(t, reg, "org/tuf"))
	rb.digest = layerDigest(t, reg, "tuf-timestamp.json")
	rb.body = func(w http.ResponseWriter) {
		chunk := bytes.Repeat([]byte(" "), 64<<10)
		for i := 0; i < 256; i++ { // 16 MiB unless the reader stops
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}
	err := newClient(t, r, "oci://"+reg.Ref("org/tuf")).Refresh(context.Background())
	if fault.KindOf(err) != fault.Denied {
		t.Fatalf("kind %v, want Denied: %v", fault.KindOf(err), err)
	}
	wantContains(t, err, "timestamp.json", "endless data")
}

func TestOversizedMetadataInManifestIsRefusedBeforeDownload(t *testing.T) {
	r := newRepo(t)
	var blobGets counter
	reg := registrytest.New(t, blobGets.wrap)
	repo := mustRepo(t, reg, "org/tuf")
	push(t, r, repo)
	big := append([]byte(`{"signed":{}, "pad":"`), bytes.Repeat([]byte("a"), 1<<20)...)
	p, err := newPusher(context.Background(), repo, oci.RemoteOptions(context.Background(), oci.Options{}))
	if err != nil {
		t.Fatal(err)
	}
	m := fileManifest(ArtifactTypeMetadata, MediaTypeMetadata, sha256Hex(big), int64(len(big)), "timestamp.json")
	if _, err := p.put("tuf-timestamp.json", static.NewLayer(big, MediaTypeMetadata), m, "big timestamp", nil); err != nil {
		t.Fatal(err)
	}
	f, err := NewFetcher("oci://"+reg.Ref("org/tuf"), oci.Options{})
	if err != nil {
		t.Fatal(err)
	}
	blobGets.reset()
	_, err = f.Fetch(context.Background(), "metadata/timestamp.json", 16<<10)
	if fault.KindOf(err) != fault.Denied {
		t.Fatalf("kind %v, want Denied: %v", fault.KindOf(err), err)
	}
	wantContains(t, err, "timestamp.json", "exceeds 16384 bytes", "endless data")
	if n := blobGets.get("GET blob"); n != 0 {
		t.Fatalf("%d blob GET requests, want none (the manifest says it is too large)", n)
	}
}

func TestMissingTimestampIsNotFound(t *testing.T) {
	r := newRepo(t)
	reg := registrytest.New(t)
	f, err := NewFetcher("oci://"+reg.Ref("org/tuf"), oci.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// Empty repository: the fetcher reports not found ...
	_, err = f.Fetch(context.Background(), "metadata/timestamp.json", 16<<10)
	if !errors.Is(err, client.ErrNotFound) {
		t.Fatalf("fetch from an empty repository: %v, want client.ErrNotFound", err)
	}
	wantContains(t, err, "metadata/timestamp.json", "tuf-timestamp.json")
	// ... and a verification cannot conclude.
	err = newClient(t, r, "oci://"+reg.Ref("org/tuf")).Refresh(context.Background())
	if k := fault.KindOf(err); k != fault.Inconclusive {
		t.Fatalf("refresh without a timestamp: kind %v, want Inconclusive: %v", k, err)
	}
	wantContains(t, err, "metadata/timestamp.json not found at oci://")
}

func TestMissingTargetBlobIsNotFound(t *testing.T) {
	reg := registrytest.New(t)
	push(t, newRepo(t), mustRepo(t, reg, "org/tuf"))
	f, err := NewFetcher("oci://"+reg.Ref("org/tuf"), oci.Options{})
	if err != nil {
		t.Fatal(err)
	}
	other := sha256Hex([]byte("never pushed"))
	_, err = f.Fetch(context.Background(), "targets/example.com/"+other+".x", 1024)
	if !errors.Is(err, client.ErrNotFound) {
		t.Fatalf("%v, want client.ErrNotFound", err)
	}
	// sha512-named copies are not stored: not found, never a guess.
	_, err = f.Fetch(context.Background(), "targets/"+strings.Repeat("ab", 64)+".x", 1024)
	if !errors.Is(err, client.ErrNotFound) {
		t.Fatalf("sha512 name: %v, want client.ErrNotFound", err)
	}
	wantContains(t, err, "sha256-named")
}

func TestRoleNameThatCannotBeATagIsRefusedAtPush(t *testing.T) {
	r := newRepo(t)
	if err := os.WriteFile(filepath.Join(r.Dir, "metadata", "1.team/a b.json"), []byte("{}"), 0o644); err == nil {
		t.Fatal("test setup: a file name with a slash was created")
	}
	if err := os.WriteFile(filepath.Join(r.Dir, "metadata", "1.team+a.json"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	var reqs counter
	reg := registrytest.New(t, reqs.wrap)
	_, err := Push(context.Background(), r.Dir, mustRepo(t, reg, "org/tuf"), oci.Options{})
	if fault.KindOf(err) != fault.Input {
		t.Fatalf("kind %v, want Input: %v", fault.KindOf(err), err)
	}
	wantContains(t, err, `"1.team+a.json"`, `character "+" cannot appear in an OCI tag`)
	if n := reqs.get(http.MethodPut) + reqs.get(http.MethodPost) + reqs.get(http.MethodHead); n != 0 {
		t.Fatalf("%d requests reached the registry before the refusal", n)
	}
}

func TestCorruptedTargetFileIsRefusedAtPush(t *testing.T) {
	r := newRepo(t)
	p := filepath.Join(r.Dir, "targets", filepath.Dir(testTarget), sha256Hex(testContent)+".root.layout")
	if err := os.WriteFile(p, []byte("swapped on disk"), 0o644); err != nil {
		t.Fatal(err)
	}
	reg := registrytest.New(t)
	_, err := Push(context.Background(), r.Dir, mustRepo(t, reg, "org/tuf"), oci.Options{})
	if fault.KindOf(err) != fault.Denied {
		t.Fatalf("kind %v, want Denied: %v", fault.KindOf(err), err)
	}
	wantContains(t, err, "root.layout", "not to the digest in its name")
}

func TestIncompletePublicationIsRefusedAtPush(t *testing.T) {
	r := newRepo(t)
	snaps, _ := filepath.Glob(filepath.Join(r.Dir, "metadata", "*.snapshot.json"))
	if len(snaps) == 0 {
		t.Fatal("no snapshot")
	}
	for _, s := range snaps {
		os.Remove(s)
	}
	reg := registrytest.New(t)
	_, err := Push(context.Background(), r.Dir, mustRepo(t, reg, "org/tuf"), oci.Options{})
	if fault.KindOf(err) != fault.Input {
		t.Fatalf("kind %v, want Input: %v", fault.KindOf(err), err)
	}
	wantContains(t, err, "timestamp.json names", "snapshot.json, which is missing")
}

func TestRePushSendsOnlyWhatChanged(t *testing.T) {
	r := newRepo(t)
	var reqs counter
	reg := registrytest.New(t, reqs.wrap)
	repo := mustRepo(t, reg, "org/tuf")
	first := push(t, r, repo)

	reqs.reset()
	again := push(t, r, repo)
	if n := reqs.get(http.MethodPut) + reqs.get(http.MethodPost); n != 0 || len(again.Metadata) != 0 || again.Targets != 0 {
		t.Fatalf("re-push of an unchanged repository: %d uploads, result %+v", n, again)
	}
	if again.MetadataUnchanged != len(first.Metadata) || again.TargetsUnchanged != first.Targets {
		t.Fatalf("re-push counted %+v unchanged, first push %+v", again, first)
	}
	// One HEAD per file and at most the registry ping besides: the
	// client authenticates once per push, not once per file.
	if heads, files := reqs.get(http.MethodHead), len(first.Metadata)+first.Targets; heads != files || reqs.get(http.MethodGet) > 1 {
		t.Fatalf("re-push of %d unchanged files: %d HEAD and %d GET requests, want %d HEAD and at most 1 GET", files, heads, reqs.get(http.MethodGet), files)
	}

	r.AddTarget(t, "example.com/org/app:2.0", metadata.TargetInfo{Content: []byte("second version")})
	reqs.reset()
	res := push(t, r, repo)
	// One new target; its hash bin, snapshot and timestamp: each one blob
	// upload (POST + PUT) and one manifest PUT.
	if res.Targets != 1 || len(res.Metadata) != 3 {
		t.Fatalf("after adding one target: pushed %d targets and %v, want 1 and a bin, snapshot, timestamp", res.Targets, res.Metadata)
	}
	if got, want := reqs.get(http.MethodPut), 2*(res.Targets+len(res.Metadata)); got != want {
		t.Fatalf("%d PUT requests, want %d", got, want)
	}
	c := newClient(t, r, "oci://"+reg.Ref("org/tuf"))
	if err := c.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if data, _, err := c.Download(context.Background(), "example.com/org/app:2.0", 0); err != nil || string(data) != "second version" {
		t.Fatalf("download after incremental push: %q, %v", data, err)
	}
}

func TestMixAndMatchOfAnOlderSnapshotUnderTheNewTagIsRefused(t *testing.T) {
	r := newRepo(t)
	old, err := filepath.Glob(filepath.Join(r.Dir, "metadata", "*.snapshot.json"))
	if err != nil || len(old) == 0 {
		t.Fatalf("no snapshot: %v", err)
	}
	oldSnap, err := os.ReadFile(old[0])
	if err != nil {
		t.Fatal(err)
	}
	res := r.AddTarget(t, "example.com/org/app:2.0", metadata.TargetInfo{Content: []byte("v2")})
	reg := registrytest.New(t)
	repo := mustRepo(t, reg, "org/tuf")
	push(t, r, repo)
	// Point the newest snapshot's tag at an older snapshot's (validly
	// signed) bytes: every blob still matches its digest.
	tag := fmt.Sprintf("tuf-%d.snapshot.json", res.Versions["snapshot"])
	p, err := newPusher(context.Background(), repo, oci.RemoteOptions(context.Background(), oci.Options{}))
	if err != nil {
		t.Fatal(err)
	}
	m := fileManifest(ArtifactTypeMetadata, MediaTypeMetadata, sha256Hex(oldSnap), int64(len(oldSnap)), "snapshot.json")
	if _, err := p.put(tag, static.NewLayer(oldSnap, MediaTypeMetadata), m, "older snapshot", nil); err != nil {
		t.Fatal(err)
	}
	err = newClient(t, r, "oci://"+reg.Ref("org/tuf")).Refresh(context.Background())
	if fault.KindOf(err) != fault.Denied {
		t.Fatalf("kind %v, want Denied: %v", fault.KindOf(err), err)
	}
	wantContains(t, err, "snapshot.json does not match the length and hashes timestamp lists", "tampered or mixed")
}

// A tag whose blob is missing is a broken registry, not an absent file: were
// it "not found", a client walking root versions would stop early and miss a
// key rotation.
func TestMetadataTagWithoutItsBlobIsInconclusiveNotAbsent(t *testing.T) {
	rb := &replaceBlob{}
	reg := registrytest.New(t, rb.wrap)
	push(t, newRepo(t), mustRepo(t, reg, "org/tuf"))
	rb.digest = layerDigest(t, reg, "tuf-1.root.json")
	rb.body = func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		w.Write([]byte(`{"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown"}]}`))
	}
	f, err := NewFetcher("oci://"+reg.Ref("org/tuf"), oci.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.Fetch(context.Background(), "metadata/1.root.json", 1<<20)
	if fault.KindOf(err) != fault.Inconclusive || errors.Is(err, client.ErrNotFound) {
		t.Fatalf("kind %v (not found: %v), want Inconclusive and not ErrNotFound: %v", fault.KindOf(err), errors.Is(err, client.ErrNotFound), err)
	}
	wantContains(t, err, "metadata/1.root.json", "its manifest is in the registry but the blob is not")
}
