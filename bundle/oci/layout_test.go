package oci

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/internal/testing/errtest"
	"github.com/cnabsec/cnabsec/internal/testing/registrytest"
)

// unpack extracts a (trusted, test) thick bundle into a new directory.
func unpack(t *testing.T, archive []byte) string {
	t.Helper()
	dir := t.TempDir()
	zr, err := gzip.NewReader(bytes.NewReader(archive))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return dir
		}
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, filepath.FromSlash(h.Name))
		if !strings.HasPrefix(p, dir) {
			t.Fatalf("entry %s escapes", h.Name)
		}
		if h.Typeflag == tar.TypeDir {
			os.MkdirAll(p, 0o755)
			continue
		}
		os.MkdirAll(filepath.Dir(p), 0o755)
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestThickBundleRoundTripsThroughLayoutPush(t *testing.T) {
	reg := registrytest.New(t)
	other := registrytest.New(t)
	raw, ref, inv, web := pushTestBundle(t, reg, "bundles/hello:1")
	var thick bytes.Buffer
	if err := PullThick(context.Background(), ref, &thick, Options{}); err != nil {
		t.Fatal(err)
	}
	dir := unpack(t, thick.Bytes())
	dst := mustRef(t, other.Ref("imported/hello:1"))
	idx, mapping, err := PushLayout(context.Background(), raw, filepath.Join(dir, "artifacts", "layout"), dst, Options{})
	if err != nil {
		t.Fatalf("PushLayout: %v", err)
	}
	_, srcIdx, _ := PullBundle(context.Background(), ref, Options{})
	if idx.Digest != srcIdx.Digest {
		t.Errorf("imported index %s differs from the original %s", idx.Digest, srcIdx.Digest)
	}
	for _, im := range []registrytest.Image{inv, web} {
		want := other.Ref("imported/hello@" + im.Digest)
		if mapping[im.Ref] != want {
			t.Errorf("mapping[%s] = %q, want %q", im.Ref, mapping[im.Ref], want)
		}
		if d, err := ResolveImage(context.Background(), mustRef(t, want), Options{}); err != nil || d.Digest != im.Digest {
			t.Errorf("imported image %s: %v", want, err)
		}
	}
	got, _, err := PullBundle(context.Background(), dst, Options{})
	if err != nil || !bytes.Equal(got, raw) {
		t.Fatalf("pull of the imported bundle: %v", err)
	}
}

// The signy thick bundle vector (a real Docker image in an OCI layout) imports.
func TestSignyThickBundleVectorImports(t *testing.T) {
	b, err := os.ReadFile("../../../shared/vectors/cnab/signy-helloworld-0.1.1.tgz")
	if err != nil {
		t.Fatalf("test vector: %v", err)
	}
	dir := unpack(t, b)
	raw, err := os.ReadFile(filepath.Join(dir, "bundle.json"))
	if err != nil {
		t.Fatal(err)
	}
	reg := registrytest.New(t)
	dst := mustRef(t, reg.Ref("cnab/helloworld:0.1.1"))
	_, mapping, err := PushLayout(context.Background(), raw, filepath.Join(dir, "artifacts", "layout"), dst, Options{})
	if err != nil {
		t.Fatalf("PushLayout: %v", err)
	}
	const digest = "sha256:a59a4e74d9cc89e4e75dfb2cc7ea5c108e4236ba6231b53081a9e2506d1197b6"
	if mapping["cnab/helloworld:0.1.1"] != reg.Ref("cnab/helloworld@"+digest) {
		t.Fatalf("mapping %v", mapping)
	}
	d, err := ResolveImage(context.Background(), mustRef(t, reg.Ref("cnab/helloworld@"+digest)), Options{})
	if err != nil || d.Size != 942 || d.MediaType != MediaTypeDockerManifest {
		t.Fatalf("imported invocation image: %+v %v", d, err)
	}
	got, _, err := PullBundle(context.Background(), dst, Options{})
	if err != nil || !bytes.Equal(got, raw) {
		t.Fatalf("pull: %v", err)
	}
}

func TestLayoutPushOfImageMissingFromLayoutIsDenied(t *testing.T) {
	reg := registrytest.New(t)
	raw, ref, _, web := pushTestBundle(t, reg, "bundles/hello:1")
	var thick bytes.Buffer
	if err := PullThick(context.Background(), ref, &thick, Options{}); err != nil {
		t.Fatal(err)
	}
	dir := unpack(t, thick.Bytes())
	layoutDir := filepath.Join(dir, "artifacts", "layout")
	// Drop the component from index.json.
	ix, _ := os.ReadFile(filepath.Join(layoutDir, "index.json"))
	var index map[string]any
	if err := json.Unmarshal(ix, &index); err != nil {
		t.Fatal(err)
	}
	index["manifests"] = slices.DeleteFunc(index["manifests"].([]any), func(m any) bool { return m.(map[string]any)["digest"] == web.Digest })
	trimmed, _ := json.Marshal(index)
	if err := os.WriteFile(filepath.Join(layoutDir, "index.json"), trimmed, 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err := PushLayout(context.Background(), raw, layoutDir, mustRef(t, reg.Ref("imported/x:1")), Options{})
	errtest.Want(t, err, fault.Denied, "component web", "not listed in the layout")
}

func TestLayoutPushOfTamperedManifestIsDenied(t *testing.T) {
	reg := registrytest.New(t)
	raw, ref, inv, _ := pushTestBundle(t, reg, "bundles/hello:1")
	var thick bytes.Buffer
	if err := PullThick(context.Background(), ref, &thick, Options{}); err != nil {
		t.Fatal(err)
	}
	dir := unpack(t, thick.Bytes())
	layoutDir := filepath.Join(dir, "artifacts", "layout")
	blob := filepath.Join(layoutDir, "blobs", "sha256", strings.TrimPrefix(inv.Digest, "sha256:"))
	m, _ := os.ReadFile(blob)
	if err := os.WriteFile(blob, append(m, ' '), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err := PushLayout(context.Background(), raw, layoutDir, mustRef(t, reg.Ref("imported/x:1")), Options{})
	errtest.Want(t, err, fault.Denied, "invocation", "hash to")
}

func TestLayoutPushOfMissingDirectoryIsInput(t *testing.T) {
	reg := registrytest.New(t)
	inv := reg.PushImage(t, "src/invoc:1", 1)
	_, _, err := PushLayout(context.Background(), testBundle(t, inv, nil), filepath.Join(t.TempDir(), "nope"), mustRef(t, reg.Ref("x/y:1")), Options{})
	errtest.Want(t, err, fault.Input, "OCI layout", "nope")
}

func TestLayoutPushOfTamperedLayerIsDenied(t *testing.T) {
	reg := registrytest.New(t)
	other := registrytest.New(t)
	raw, ref, _, _ := pushTestBundle(t, reg, "bundles/hello:1")
	var thick bytes.Buffer
	if err := PullThick(context.Background(), ref, &thick, Options{}); err != nil {
		t.Fatal(err)
	}
	dir := unpack(t, thick.Bytes())
	layoutDir := filepath.Join(dir, "artifacts", "layout")
	blobs, _ := filepath.Glob(filepath.Join(layoutDir, "blobs", "sha256", "*"))
	n := 0
	for _, b := range blobs {
		data, _ := os.ReadFile(b)
		if len(data) > 0 && data[0] == 0x1f { // gzip layers
			os.WriteFile(b, bytes.Repeat([]byte{'!'}, len(data)), 0o644)
			n++
		}
	}
	if n == 0 {
		t.Fatal("no layer to tamper with")
	}
	_, _, err := PushLayout(context.Background(), raw, layoutDir, mustRef(t, other.Ref("imported/x:1")), Options{})
	errtest.Want(t, err, fault.Denied, "invocation", "does not match its digest")
}
