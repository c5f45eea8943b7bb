package main

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/cnabsec/cnabsec/internal/fault"
)

const testVersion = "v9.9.9-test"

var testEpoch = time.Unix(1700000000, 0).UTC()

// testOptions builds the checkout in moduleDir for the machine running the
// test, so that the binary in the layer can be executed here.
func testOptions(moduleDir, out string) options {
	return options{moduleDir: moduleDir, pkg: "./cmd/cnabsec", version: testVersion, epoch: testEpoch,
		platform: v1.Platform{OS: "linux", Architecture: runtime.GOARCH}, out: out, timeout: 10 * time.Minute}
}

// cloneCommit checks commit rev of this checkout out into dir: each build
// of the reproducibility test starts from its own copy of the same commit
// (in another directory, which -trimpath must hide), whatever is being
// edited in this working tree meanwhile.
func cloneCommit(dir, rev string) error {
	if _, err := git("../..", "clone", "-q", "--shared", "--no-checkout", ".", dir); err != nil {
		return err
	}
	_, err := git(dir, "checkout", "-q", "--detach", rev)
	return err
}

// buildCommit builds the image of commit rev from a fresh clone in dir.
func buildCommit(dir, rev string) (string, result, error) {
	if err := cloneCommit(filepath.Join(dir, "src"), rev); err != nil {
		return "", result{}, err
	}
	out := filepath.Join(dir, "image")
	res, err := run(context.Background(), testOptions(filepath.Join(dir, "src"), out))
	return out, res, err
}

// fakeOptions is for tests that need no real binary.
func fakeOptions(t *testing.T) options {
	o := testOptions("../..", filepath.Join(t.TempDir(), "image"))
	o.platform.Architecture = "amd64"
	return o
}

var built struct {
	once   sync.Once
	rev    string // the commit built: both builds use it, whatever is committed meanwhile
	dir    string
	layout string
	res    result
	err    error
}

// buildOnce runs the whole `make image` path once for the tests that need a
// real cnabsec in the image (go build is the slow part).
func buildOnce(t *testing.T) (string, result) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds cnabsec (-short)")
	}
	rev, err := git("../..", "rev-parse", "HEAD")
	if err != nil && os.Getenv("CI") != "true" {
		t.Skipf("not a git checkout, so no commit to build (with CI=true this fails): %v", err)
	}
	built.once.Do(func() {
		built.rev, built.err = rev, err
		if built.err == nil {
			built.dir, built.err = os.MkdirTemp("", "image-test-")
		}
		if built.err == nil {
			built.layout, built.res, built.err = buildCommit(built.dir, built.rev)
		}
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.layout, built.res
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// layoutImage reads the one image of an OCI layout.
func layoutImage(t *testing.T, dir string) (v1.Image, v1.Descriptor) {
	t.Helper()
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	m, err := idx.IndexManifest()
	if err != nil || len(m.Manifests) != 1 {
		t.Fatalf("%s: %v manifests (%v), want one", dir, len(m.Manifests), err)
	}
	img, err := idx.Image(m.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	return img, m.Manifests[0]
}

// files reads the single layer's tar into name → header and body.
func files(t *testing.T, img v1.Image) (map[string]*tar.Header, map[string][]byte) {
	t.Helper()
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("%d layers (%v), want one", len(layers), err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	hdrs, bodies := map[string]*tar.Header{}, map[string][]byte{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return hdrs, bodies
		}
		if err != nil {
			t.Fatal(err)
		}
		hdrs[h.Name] = h
		if bodies[h.Name], err = io.ReadAll(tr); err != nil {
			t.Fatal(err)
		}
	}
}

func TestSameCommitBuildsTheSameDigestTwice(t *testing.T) {
	first, res := buildOnce(t)
	second, again, err := buildCommit(t.TempDir(), built.rev)
	if err != nil {
		t.Fatal(err)
	}
	if again.digest != res.digest {
		t.Fatalf("two builds of the same commit from two clones differ: %s and %s", res.digest, again.digest)
	}
	_, d1 := layoutImage(t, first)
	_, d2 := layoutImage(t, second)
	if d1.Digest != res.digest || d2.Digest != res.digest {
		t.Fatalf("layouts hold %s and %s, the build reported %s", d1.Digest, d2.Digest, res.digest)
	}
}

func TestImageRunsCnabsecVersionAsNonRootWithNoShell(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the image's binary is for linux")
	}
	dir, _ := buildOnce(t)
	img, desc := layoutImage(t, dir)
	if desc.Annotations["org.opencontainers.image.ref.name"] != testVersion {
		t.Errorf("layout ref.name %q, want %q", desc.Annotations["org.opencontainers.image.ref.name"], testVersion)
	}
	checkConfig(t, img)
	hdrs, bodies := files(t, img)
	bin := filepath.Join(t.TempDir(), "cnabsec")
	if err := os.WriteFile(bin, bodies["cnabsec"], 0o755); err != nil {
		t.Fatal(err)
	}
	if h := hdrs["cnabsec"]; h == nil || h.Mode != 0o755 || h.Uid != 0 {
		t.Fatalf("/cnabsec header %+v, want mode 0755 owned by root", h)
	}
	out, err := exec.Command(bin, "version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "cnabsec "+testVersion) {
		t.Fatalf("cnabsec version: %v: %q, want it to start with %q", err, out, "cnabsec "+testVersion)
	}
	out, err = exec.Command(bin, "version", "-o", "json").Output()
	var v struct{ Version, Revision string }
	if err != nil || json.Unmarshal(out, &v) != nil || v.Version != testVersion || v.Revision == "" {
		t.Fatalf("cnabsec version -o json: %v: %s: want version %s and the commit as revision", err, out, testVersion)
	}
}

// checkConfig asserts what a runtime reads from the config and manifest.
func checkConfig(t *testing.T, img v1.Image) {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	c := cf.Config
	if c.User != "65532:65532" || !slices.Equal(c.Entrypoint, []string{"/cnabsec"}) || len(c.Cmd) != 0 {
		t.Fatalf("config runs %v %v as %q, want [/cnabsec] as 65532:65532", c.Entrypoint, c.Cmd, c.User)
	}
	if !cf.Created.Time.Equal(testEpoch) || len(cf.History) != 1 || !cf.History[0].Created.Time.Equal(testEpoch) {
		t.Fatalf("created %v, history %+v: want the source date epoch %v", cf.Created, cf.History, testEpoch)
	}
	mt, _ := img.MediaType()
	m, err := img.Manifest()
	if err != nil || mt != types.OCIManifestSchema1 || m.Config.MediaType != types.OCIConfigJSON || m.Layers[0].MediaType != types.OCILayer {
		t.Fatalf("media types %s, %+v (%v): want OCI", mt, m, err)
	}
}

func TestLayerHasNoShellAndFixedOwnersAndTimes(t *testing.T) {
	o := fakeOptions(t)
	img, err := assemble([]byte("not a real binary"), nil, o)
	if err != nil {
		t.Fatal(err)
	}
	// As a consumer reads it: from the written layout.
	if err := writeLayout(o.out, img, o.version); err != nil {
		t.Fatal(err)
	}
	if read, _ := layoutImage(t, o.out); validate.Image(read) != nil {
		t.Fatalf("the layout's image is not self-consistent (digests, sizes, diff IDs): %v", validate.Image(read))
	}
	hdrs, bodies := files(t, img)
	for n, h := range hdrs {
		if strings.HasPrefix(n, "bin/") || strings.HasPrefix(n, "usr/") || strings.HasSuffix(n, "/sh") {
			t.Errorf("the image holds %s: it must have no shell or userland", n)
		}
		if !h.ModTime.Equal(testEpoch) || !h.AccessTime.IsZero() || !h.ChangeTime.IsZero() {
			t.Errorf("%s: times %v/%v/%v, want only the epoch %v", n, h.ModTime, h.AccessTime, h.ChangeTime, testEpoch)
		}
		if h.Uid != 0 && n != "home/nonroot/" {
			t.Errorf("%s is owned by %d: only the nonroot home belongs to nonroot", n, h.Uid)
		}
	}
	if !strings.Contains(string(bodies["etc/passwd"]), "nonroot:x:65532:65532:") || !strings.Contains(string(bodies["etc/group"]), "nonroot:x:65532:") {
		t.Fatalf("no nonroot entries: %q %q", bodies["etc/passwd"], bodies["etc/group"])
	}
	if _, ok := hdrs[caBundle]; ok {
		t.Fatal("a CA bundle was included without -ca-certs")
	}
}

func TestAssemblyDependsOnlyOnItsInputs(t *testing.T) {
	o := fakeOptions(t)
	a, err := assemble([]byte("binary"), []byte("-----BEGIN CERTIFICATE-----\n"), o)
	if err != nil {
		t.Fatal(err)
	}
	b, err := assemble([]byte("binary"), []byte("-----BEGIN CERTIFICATE-----\n"), o)
	if err != nil {
		t.Fatal(err)
	}
	da, _ := a.Digest()
	db, _ := b.Digest()
	if da != db {
		t.Fatalf("the same inputs assembled twice: %s and %s", da, db)
	}
	o.version = "v9.9.10"
	c, _ := assemble([]byte("binary"), nil, o)
	if dc, _ := c.Digest(); dc == da {
		t.Fatal("another version gives the same digest")
	}
}

func TestRefusesToReplaceADirectoryThatIsNotALayout(t *testing.T) {
	o := fakeOptions(t)
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		t.Fatal(err)
	}
	keep := filepath.Join(o.out, "precious")
	if err := os.WriteFile(keep, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	img, _ := assemble([]byte("binary"), nil, o)
	err := writeLayout(o.out, img, o.version)
	if !fault.Is(err, fault.Input) || !strings.Contains(err.Error(), "not an OCI image layout") {
		t.Fatalf("got %v, want an input error naming the directory", err)
	}
	if _, err := os.Stat(keep); err != nil {
		t.Fatalf("the directory was touched: %v", err)
	}
}

func TestReplacesAPreviousLayoutWhole(t *testing.T) {
	o := fakeOptions(t)
	for _, body := range []string{"first", "second"} {
		img, _ := assemble([]byte(body), nil, o)
		if err := writeLayout(o.out, img, o.version); err != nil {
			t.Fatal(err)
		}
	}
	img, _ := layoutImage(t, o.out)
	if _, bodies := files(t, img); string(bodies["cnabsec"]) != "second" {
		t.Fatalf("the layout holds %q, want the second build only", bodies["cnabsec"])
	}
	left, _ := filepath.Glob(filepath.Join(filepath.Dir(o.out), ".image-*"))
	if len(left) != 0 {
		t.Fatalf("temporary directories left behind: %v", left)
	}
}

func TestPushWritesTheLayoutDigestToTheRegistry(t *testing.T) {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	o := fakeOptions(t)
	img, _ := assemble([]byte("binary"), nil, o)
	ref := strings.TrimPrefix(srv.URL, "http://") + "/cnabsec/cnabsec:" + o.version
	pushed, err := push(context.Background(), ref, img)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := img.Digest()
	r, _ := name.ParseReference(ref)
	got, err := remote.Head(r)
	if err != nil || got.Digest != want || !strings.HasSuffix(pushed, "@"+want.String()) {
		t.Fatalf("registry holds %v (%v), reported %s; want %s", got, err, pushed, want)
	}
}

func TestPushRefusesPlainHTTPToANonLoopbackRegistry(t *testing.T) {
	img, _ := assemble([]byte("binary"), nil, fakeOptions(t))
	_, err := push(context.Background(), "10.0.0.5:5000/cnabsec:v1", img)
	if !fault.Is(err, fault.Input) || !strings.Contains(err.Error(), "plain HTTP") {
		t.Fatalf("got %v, want a refusal to push over plain HTTP", err)
	}
}

func TestFlagsRejectWhatWouldMakeTheBuildUnreproducibleOrUnsafe(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-version", "v1 -X main.x=y", "-source-date-epoch", "1"}, "-version"},
		{[]string{"-version", "v1", "-source-date-epoch", "yesterday"}, "source date epoch"},
		{[]string{"-version", "v1", "-source-date-epoch", "1", "-platform", "windows/amd64"}, "linux/ARCH"},
		{[]string{"-version", "v1", "-source-date-epoch", "1", "extra"}, "unexpected arguments"},
	} {
		_, err := parseFlags(tc.args, io.Discard)
		if !fault.Is(err, fault.Input) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want an input error about %s", tc.args, err, tc.want)
		}
	}
	var buf bytes.Buffer
	if _, err := parseFlags([]string{"-C", t.TempDir(), "-source-date-epoch", "1"}, &buf); !fault.Is(err, fault.Input) || !strings.Contains(err.Error(), "git describe") {
		t.Errorf("outside a checkout with no -version: got %v, want an input error naming git describe", err)
	}
}

func TestCACertsMustBePEM(t *testing.T) {
	f := filepath.Join(t.TempDir(), "ca.crt")
	if err := os.WriteFile(f, []byte("not pem"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := readCACerts(f); !fault.Is(err, fault.Input) || !strings.Contains(err.Error(), f) {
		t.Fatalf("got %v, want an input error naming %s", err, f)
	}
}

// cnabsec runs the binary taken from the image, as a release pipeline would.
func cnabsec(t *testing.T, bin, dir string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HOME="+dir)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return string(out), exit.ExitCode()
	}
	if err != nil {
		t.Fatalf("cnabsec %v: %v", args, err)
	}
	return string(out), 0
}

// TestImageIsSignedByItsOwnCnabsecAndVerifiesAtLevel2 follows
// docs/admission.md: push the image, sign it with the cnabsec it holds,
// verify it at level 2 before deploying; a different image pushed under
// the same tag afterwards is denied.
func TestImageIsSignedByItsOwnCnabsecAndVerifiesAtLevel2(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the image's binary is for linux")
	}
	dir, _ := buildOnce(t)
	img, _ := layoutImage(t, dir)
	_, bodies := files(t, img)
	work := t.TempDir()
	bin := filepath.Join(work, "cnabsec")
	if err := os.WriteFile(bin, bodies["cnabsec"], 0o755); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	ref := strings.TrimPrefix(srv.URL, "http://") + "/cnabsec/cnabsec:" + testVersion
	if _, err := push(context.Background(), ref, img); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"root", "targets", "snapshot", "timestamp"} {
		mustRun(t, bin, work, "key", "generate", "--unencrypted", "keys/"+k)
	}
	online := []string{"--snapshot-key", "keys/snapshot.key", "--timestamp-key", "keys/timestamp.key"}
	mustRun(t, bin, work, append([]string{"repo", "init", "repo", "--root-key", "keys/root.key", "--targets-key", "keys/targets.key"}, online...)...)
	mustRun(t, bin, work, append([]string{"sign", "image", ref, "--repo", "repo", "--key", "keys/targets.key"}, online...)...)
	verify := []string{"verify", ref, "--image", "--level", "2", "--trust-root", "repo/metadata/1.root.json", "--metadata", "repo"}
	if out, code := cnabsec(t, bin, work, verify...); code != 0 || !strings.HasPrefix(out, "VERIFIED") {
		t.Fatalf("verify exit %d: %s", code, out)
	}
	other, _ := assemble([]byte("another binary"), nil, testOptions("../..", ""))
	if _, err := push(context.Background(), ref, other); err != nil {
		t.Fatal(err)
	}
	if out, code := cnabsec(t, bin, work, verify...); code != 1 || !strings.HasPrefix(out, "DENIED") || !strings.Contains(out, "does not match signed target") {
		t.Fatalf("another image under the signed tag: exit %d: %s, want DENIED (exit 1) for not matching the signed target", code, out)
	}
}

func mustRun(t *testing.T, bin, dir string, args ...string) {
	t.Helper()
	if out, code := cnabsec(t, bin, dir, args...); code != 0 {
		t.Fatalf("cnabsec %v: exit %d: %s", args, code, out)
	}
}
