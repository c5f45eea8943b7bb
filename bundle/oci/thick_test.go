package oci

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/cnabsec/cnabsec/bundle"
	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/internal/testing/errtest"
	"github.com/cnabsec/cnabsec/internal/testing/registrytest"
)

// readArchive returns the files of a .tgz by name (directories as nil).
func readArchive(t *testing.T, b []byte) (map[string][]byte, []string) {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if zr.Name != "" || !zr.ModTime.IsZero() {
		t.Errorf("gzip header carries name %q / time %v", zr.Name, zr.ModTime)
	}
	tr := tar.NewReader(zr)
	files := map[string][]byte{}
	var order []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.ModTime.Unix() != 0 || h.Uid != 0 || h.Gid != 0 || h.Uname != "" || h.Gname != "" {
			t.Errorf("%s: header not normalized: %v %d %d %q %q", h.Name, h.ModTime, h.Uid, h.Gid, h.Uname, h.Gname)
		}
		order = append(order, h.Name)
		if h.Typeflag == tar.TypeDir {
			files[h.Name] = nil
			continue
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		files[h.Name] = data
	}
	return files, order
}

func TestPullThickIsReproducibleAndHoldsEveryBlob(t *testing.T) {
	reg := registrytest.New(t)
	raw, ref, inv, web := pushTestBundle(t, reg, "bundles/hello:0.1.1")
	var a, b bytes.Buffer
	if err := PullThick(context.Background(), ref, &a, Options{}); err != nil {
		t.Fatalf("PullThick: %v", err)
	}
	if err := PullThick(context.Background(), ref, &b, Options{}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("two pulls of the same bundle gave different archives")
	}
	th, err := bundle.ReadThick(bytes.NewReader(a.Bytes()), bundle.ThickOptions{})
	if err != nil {
		t.Fatalf("bundle.ReadThick refuses the pulled archive: %v", err)
	}
	if th.Digest != sha256Digest(a.Bytes()) || len(th.Blobs) != 11 || len(th.Other) != 0 {
		t.Fatalf("ReadThick: digest %s, %d blobs, other %v", th.Digest, len(th.Blobs), th.Other)
	}
	files, order := readArchive(t, a.Bytes())
	if order[0] != bundle.ThickBundlePath || !bytes.Equal(files[bundle.ThickBundlePath], raw) {
		t.Fatalf("bundle.json is not the first entry holding the raw bundle: %v", order)
	}
	if string(files[bundle.ThickLayoutDir+"/oci-layout"]) != `{"imageLayoutVersion":"1.0.0"}` {
		t.Errorf("oci-layout = %q", files[bundle.ThickLayoutDir+"/oci-layout"])
	}
	var ix ociIndex
	if err := json.Unmarshal(files[bundle.ThickLayoutDir+"/index.json"], &ix); err != nil {
		t.Fatal(err)
	}
	// Porter's layout: each image relocated to the bundle's repository, and
	// its index entry named by that relocated reference.
	repo := ref.Context().Name()
	named := map[string]string{}
	for _, m := range ix.Manifests {
		named[m.Digest] = m.Annotations[AnnotationRefName]
	}
	if len(ix.Manifests) != 2 || named[inv.Digest] != repo+"@"+inv.Digest || named[web.Digest] != repo+"@"+web.Digest {
		t.Fatalf("layout index %+v", ix.Manifests)
	}
	want := bundle.RelocationMapping{inv.Ref: repo + "@" + inv.Digest, web.Ref: repo + "@" + web.Digest}
	if !maps.Equal(th.RelocationMapping, want) {
		t.Fatalf("relocation mapping %v, want %v", th.RelocationMapping, want)
	}
	blob := func(d string) []byte {
		t.Helper()
		data, ok := files[bundle.ThickLayoutDir+"/blobs/sha256/"+strings.TrimPrefix(d, "sha256:")]
		if !ok {
			t.Fatalf("blob %s missing from the layout", d)
		}
		if sha256Digest(data) != d {
			t.Fatalf("blob %s holds content hashing to %s", d, sha256Digest(data))
		}
		return data
	}
	// Walk from the layout index: every referenced blob is there and intact.
	var walk func(d string, depth int) int
	walk = func(d string, depth int) int {
		var m struct {
			Manifests []ociDescriptor `json:"manifests"`
			Config    *ociDescriptor  `json:"config"`
			Layers    []ociDescriptor `json:"layers"`
		}
		if err := json.Unmarshal(blob(d), &m); err != nil {
			t.Fatal(err)
		}
		n := 1
		for _, c := range m.Manifests {
			n += walk(c.Digest, depth+1)
		}
		if m.Config != nil {
			blob(m.Config.Digest)
			n++
		}
		for _, l := range m.Layers {
			blob(l.Digest)
			n++
		}
		return n
	}
	// invocation image: manifest + config + 2 layers; web: index + 2 × (manifest + config + 1 layer).
	if got := walk(inv.Digest, 0) + walk(web.Digest, 0); got != 4+7 {
		t.Fatalf("walked %d blobs, want 11", got)
	}
}

func TestPullThickWithLayerSwappedByRegistryIsDenied(t *testing.T) {
	reg := registrytest.New(t, tamper(
		func(r *http.Request) bool {
			return r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/bundles/hello/blobs/")
		},
		func(body []byte, h http.Header) []byte {
			if len(body) > 0 && body[0] != '{' { // the layers; leave JSON configs alone
				body = bytes.Repeat([]byte{'!'}, len(body))
			}
			return body
		}))
	_, ref, _, _ := pushTestBundle(t, reg, "bundles/hello:1")
	err := PullThick(context.Background(), ref, io.Discard, Options{})
	errtest.Want(t, err, fault.Denied, "bundles/hello:1", "hash to")
}

func TestPullThickOfImageWithEndlessBlobListIsDenied(t *testing.T) {
	reg := registrytest.New(t)
	m := ociManifest{SchemaVersion: 2,
		Config: ociDescriptor{MediaType: MediaTypeOCIConfig, Digest: "sha256:" + strings.Repeat("c", 64), Size: 2}}
	for i := 0; i <= MaxThickBlobs; i++ {
		m.Layers = append(m.Layers, ociDescriptor{MediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
			Digest: fmt.Sprintf("sha256:%064x", i), Size: 1})
	}
	mraw, _ := json.Marshal(m)
	d := sha256Digest(mraw)
	mref, _ := name.NewDigest(reg.Ref("bundles/endless@" + d))
	if err := remote.Put(mref, rawManifest{mraw, MediaTypeOCIManifest}); err != nil {
		t.Fatal(err)
	}
	img := registrytest.Image{Ref: reg.Ref("bundles/endless:img"), Digest: d, Size: int64(len(mraw)), MediaType: MediaTypeOCIManifest}
	ref := mustRef(t, reg.Ref("bundles/endless:1"))
	if _, err := PushBundle(context.Background(), testBundle(t, img, nil), ref, Options{}); err != nil {
		t.Fatal(err)
	}
	err := PullThick(context.Background(), ref, io.Discard, Options{})
	errtest.Want(t, err, fault.Denied, "bundles/endless:1", "more than 10000 blobs")
}

func TestPullThickOfBundleListingOneImageTwiceWritesItOnce(t *testing.T) {
	reg := registrytest.New(t)
	inv := reg.PushImage(t, "src/invoc:1", 5)
	raw := testBundle(t, inv, map[string]registrytest.Image{"again": inv})
	ref := mustRef(t, reg.Ref("bundles/twice:1"))
	if _, err := PushBundle(context.Background(), raw, ref, Options{}); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := PullThick(context.Background(), ref, &buf, Options{}); err != nil {
		t.Fatal(err)
	}
	th, err := bundle.ReadThick(bytes.NewReader(buf.Bytes()), bundle.ThickOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var ix ociIndex
	if err := json.Unmarshal(th.Index, &ix); err != nil {
		t.Fatal(err)
	}
	// Both images relocate to the same REPOSITORY@DIGEST: one index entry.
	if len(th.Blobs) != 4 || len(ix.Manifests) != 1 || ix.Manifests[0].MediaType != inv.MediaType || ix.Manifests[0].Digest != inv.Digest {
		t.Fatalf("%d blobs, index %+v", len(th.Blobs), ix.Manifests)
	}
}
