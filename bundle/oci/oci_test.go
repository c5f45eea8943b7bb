package oci

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/internal/testing/errtest"
	"github.com/cnabsec/cnabsec/internal/testing/registrytest"
)

func TestPushThenPullReturnsIdenticalBytes(t *testing.T) {
	reg := registrytest.New(t)
	raw, ref, inv, web := pushTestBundle(t, reg, "bundles/hello:0.1.1")

	got, idx, err := PullBundle(context.Background(), ref, Options{})
	if err != nil {
		t.Fatalf("PullBundle: %v", err)
	}
	if !bytes.Equal(got, raw) {
		t.Fatalf("pulled bundle.json differs:\n got %s\nwant %s", got, raw)
	}
	if idx.MediaType != MediaTypeOCIIndex || idx.Digest != sha256Digest(idx.RawManifest) {
		t.Fatalf("index descriptor %+v", idx)
	}

	var ix ociIndex
	if err := json.Unmarshal(idx.RawManifest, &ix); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{
		AnnotationRuntimeVersion: "v1.0.0",
		AnnotationArtifactType:   "application/vnd.cnab.manifest.v1",
		AnnotationTitle:          "helloworld",
		AnnotationVersion:        "0.1.1",
		AnnotationKeywords:       `["test","cnab"]`,
		AnnotationAuthors:        `[{"name":"Jane Doe","email":"jane@example.com"}]`, // cnab-go's member order
	} {
		if ix.Annotations[k] != v {
			t.Errorf("index annotation %s = %q, want %q", k, ix.Annotations[k], v)
		}
	}
	if len(ix.Manifests) != 3 {
		t.Fatalf("index has %d manifests, want config, invocation, component", len(ix.Manifests))
	}
	want := []struct{ typ, digest, component string }{
		{ManifestTypeConfig, "", ""}, {ManifestTypeInvocation, inv.Digest, ""}, {ManifestTypeComponent, web.Digest, "web"},
	}
	for i, w := range want {
		m := ix.Manifests[i]
		if m.Annotations[AnnotationManifestType] != w.typ || w.digest != "" && m.Digest != w.digest || m.Annotations[AnnotationComponentName] != w.component {
			t.Errorf("manifest %d = %+v, want type %s digest %s component %q", i, m, w.typ, w.digest, w.component)
		}
	}
	if ix.Manifests[2].MediaType != MediaTypeOCIIndex {
		t.Errorf("multi-platform component listed as %q", ix.Manifests[2].MediaType)
	}
	// Every image now lives in the bundle's repository under its digest.
	for _, im := range []registrytest.Image{inv, web} {
		d, err := ResolveImage(context.Background(), mustRef(t, reg.Ref("bundles/hello@"+im.Digest)), Options{})
		if err != nil || d.Digest != im.Digest {
			t.Errorf("image %s in bundle repository: %v %s", im.Digest, err, d.Digest)
		}
	}
}

func TestPullReturnsRawBytesNotRemarshalled(t *testing.T) {
	reg := registrytest.New(t)
	inv := reg.PushImage(t, "src/invoc:1", 3)
	compact := testBundle(t, inv, nil)
	var v any
	if err := json.Unmarshal(compact, &v); err != nil {
		t.Fatal(err)
	}
	pretty, _ := json.MarshalIndent(v, "", "   ")
	pretty = append(pretty, '\n')
	ref := mustRef(t, reg.Ref("bundles/pretty:1"))
	if _, err := PushBundle(context.Background(), pretty, ref, Options{}); err != nil {
		t.Fatal(err)
	}
	got, _, err := PullBundle(context.Background(), ref, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, pretty) {
		t.Fatalf("bundle bytes changed in transit:\n got %q\nwant %q", got, pretty)
	}
}

func TestResolveMultiPlatformImageReturnsIndexDigest(t *testing.T) {
	reg := registrytest.New(t)
	idx := reg.PushIndex(t, "multi/app:1", 7, 3)
	d, err := ResolveImage(context.Background(), mustRef(t, idx.Ref), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if d.Digest != idx.Digest || d.Size != idx.Size || d.MediaType != MediaTypeOCIIndex {
		t.Fatalf("resolved %s %d %s, want index %s %d", d.Digest, d.Size, d.MediaType, idx.Digest, idx.Size)
	}
	if sha256Digest(d.RawManifest) != d.Digest {
		t.Fatal("RawManifest does not hash to Digest")
	}
}

func TestCopyToSecondRepositoryKeepsEveryDigestAndMapsEachImage(t *testing.T) {
	reg := registrytest.New(t)
	other := registrytest.New(t)
	raw, src, inv, web := pushTestBundle(t, reg, "bundles/hello:0.1.1")
	_, srcIdx, err := PullBundle(context.Background(), src, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, dstRepo := range []string{reg.Ref("mirror/hello"), other.Ref("relocated/hello")} {
		dst, err := ParseDestination(dstRepo, src, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if dst.Identifier() != "0.1.1" {
			t.Fatalf("destination %s did not take the source tag", dst)
		}
		mapping, err := Copy(context.Background(), src, dst, Options{})
		if err != nil {
			t.Fatalf("Copy to %s: %v", dst, err)
		}
		want := RelocationMapping{
			inv.Ref: dstRepo + "@" + inv.Digest,
			web.Ref: dstRepo + "@" + web.Digest,
		}
		if len(mapping) != len(want) {
			t.Fatalf("mapping %v, want %v", mapping, want)
		}
		for k, v := range want {
			if mapping[k] != v {
				t.Errorf("mapping[%s] = %q, want %q", k, mapping[k], v)
			}
			d, err := ResolveImage(context.Background(), mustRef(t, v), Options{})
			if err != nil {
				t.Errorf("relocated image %s: %v", v, err)
			} else if !strings.HasSuffix(v, d.Digest) {
				t.Errorf("relocated image %s has digest %s", v, d.Digest)
			}
		}
		got, idx, err := PullBundle(context.Background(), dst, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, raw) || idx.Digest != srcIdx.Digest {
			t.Fatalf("copied bundle differs: index %s vs %s", idx.Digest, srcIdx.Digest)
		}
	}
}

func TestPushWithImageAbsentFromRegistryIsDenied(t *testing.T) {
	reg := registrytest.New(t)
	inv := reg.PushImage(t, "src/invoc:1", 1)
	ghost := inv
	ghost.Ref = reg.Ref("src/ghost:1")
	ghost.Digest = "sha256:" + strings.Repeat("ab", 32)
	raw := testBundle(t, inv, map[string]registrytest.Image{"ghost": ghost})
	_, err := PushBundle(context.Background(), raw, mustRef(t, reg.Ref("bundles/b:1")), Options{})
	errtest.Want(t, err, fault.Denied, "src/ghost@"+ghost.Digest, "component")
}

func TestCopyOfBundleWhoseImageVanishedIsDenied(t *testing.T) {
	reg := registrytest.New(t)
	_, src, inv, _ := pushTestBundle(t, reg, "bundles/hello:1")
	// The registry loses the invocation image from the bundle repository.
	gone, err := name.NewDigest(reg.Ref("bundles/hello@" + inv.Digest))
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Delete(gone); err != nil {
		t.Fatal(err)
	}
	_, err = Copy(context.Background(), src, mustRef(t, reg.Ref("mirror/hello:1")), Options{})
	errtest.Want(t, err, fault.Denied, "invocation", inv.Digest, "manifest unknown")
}

func TestResolveUnknownTagIsDeniedAsTagNotFound(t *testing.T) {
	reg := registrytest.New(t)
	reg.PushImage(t, "app/web:1", 1)
	for _, ref := range []string{reg.Ref("app/web:2"), reg.Ref("nosuch/repo:1")} {
		_, err := ResolveImage(context.Background(), mustRef(t, ref), Options{})
		errtest.Want(t, err, fault.Denied, ref, "tag not found")
	}
	missing := reg.Ref("app/web@sha256:" + strings.Repeat("0", 64))
	_, err := ResolveImage(context.Background(), mustRef(t, missing), Options{})
	errtest.Want(t, err, fault.Denied, missing, "manifest unknown")
}

func TestUnreachableRegistryIsInconclusive(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there any more
	ref := mustRef(t, addr+"/app/web:1")
	_, err = ResolveImage(context.Background(), ref, Options{})
	errtest.Want(t, err, fault.Inconclusive, ref.Name())
	_, _, err = PullBundle(context.Background(), ref, Options{})
	errtest.Want(t, err, fault.Inconclusive, ref.Name())
}

func TestRegistryServerErrorIsInconclusive(t *testing.T) {
	reg := registrytest.New(t, func(http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/v2/" {
				w.WriteHeader(http.StatusOK)
				return
			}
			w.WriteHeader(http.StatusBadGateway)
		})
	})
	_, err := ResolveImage(context.Background(), mustRef(t, reg.Ref("app/web:1")), Options{})
	errtest.Want(t, err, fault.Inconclusive, "app/web:1", "502")
}

func TestSlowRegistryTimesOutInconclusive(t *testing.T) {
	reg := registrytest.New(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.Contains(r.URL.Path, "/manifests/") {
				<-r.Context().Done() // never answers
				return
			}
			next.ServeHTTP(w, r)
		})
	})
	_, err := ResolveImage(context.Background(), mustRef(t, reg.Ref("app/web:1")), Options{Timeout: 300 * time.Millisecond})
	errtest.Want(t, err, fault.Inconclusive, "app/web:1", "timed out")
}

func TestRegistryServingOtherBytesForRequestedDigestIsDenied(t *testing.T) {
	var target string
	reg := registrytest.New(t, tamper(
		func(r *http.Request) bool { return target != "" && strings.HasSuffix(r.URL.Path, "/manifests/"+target) },
		func(body []byte, h http.Header) []byte {
			h.Del("Docker-Content-Digest")
			return append(body, ' ')
		}))
	img := reg.PushImage(t, "app/web:1", 1)
	target = img.Digest
	_, err := ResolveImage(context.Background(), mustRef(t, reg.Ref("app/web@"+img.Digest)), Options{})
	errtest.Want(t, err, fault.Denied, "app/web@"+img.Digest, "not to the requested digest")
}

func TestRegistryClaimingDigestItsBytesDoNotHaveIsDenied(t *testing.T) {
	reg := registrytest.New(t, tamper(
		func(r *http.Request) bool {
			return strings.HasSuffix(r.URL.Path, "/manifests/1") && r.Method == http.MethodGet
		},
		func(body []byte, h http.Header) []byte { return append(body, '\n') }))
	img := reg.PushImage(t, "app/web:1", 1)
	_, err := ResolveImage(context.Background(), mustRef(t, img.Ref), Options{})
	errtest.Want(t, err, fault.Denied, "app/web:1", "claims digest "+img.Digest)
}

func TestManifestOverSizeCapIsDenied(t *testing.T) {
	reg := registrytest.New(t)
	img := reg.PushIndex(t, "app/multi:1", 1, 4)
	_, err := ResolveImage(context.Background(), mustRef(t, img.Ref), Options{MaxManifestSize: 100})
	errtest.Want(t, err, fault.Denied, "app/multi:1", "100-byte limit")
}

// configBlobTamper appends extra to the answer for the bundle.json blob.
func configBlobTamper(digest *string, chunked bool) func(http.Handler) http.Handler {
	return tamper(
		func(r *http.Request) bool {
			return *digest != "" && r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/blobs/"+*digest)
		},
		func(body []byte, h http.Header) []byte {
			if chunked {
				h.Set("X-Test-Chunked", "1")
			}
			return append(body, []byte(`,"evil":true}`)...)
		})
}

func TestBundleBlobLargerThanAnnouncedIsDenied(t *testing.T) {
	for _, chunked := range []bool{false, true} {
		var cfg string
		reg := registrytest.New(t, configBlobTamper(&cfg, chunked))
		raw, ref, _, _ := pushTestBundle(t, reg, "bundles/hello:1")
		cfg = sha256Digest(raw)
		_, _, err := PullBundle(context.Background(), ref, Options{})
		if chunked {
			errtest.Want(t, err, fault.Denied, "bundles/hello:1", "bundle.json blob", "larger than the")
		} else {
			errtest.Want(t, err, fault.Denied, "bundles/hello:1", "bundle.json blob", "announces")
		}
	}
}

func TestBundleBlobSwappedForOtherContentIsDenied(t *testing.T) {
	var cfg string
	reg := registrytest.New(t, tamper(
		func(r *http.Request) bool { return cfg != "" && strings.HasSuffix(r.URL.Path, "/blobs/"+cfg) },
		func(body []byte, h http.Header) []byte {
			return bytes.Replace(body, []byte("helloworld"), []byte("evilworld!"), 1)
		}))
	raw, ref, _, _ := pushTestBundle(t, reg, "bundles/hello:1")
	cfg = sha256Digest(raw)
	_, _, err := PullBundle(context.Background(), ref, Options{})
	errtest.Want(t, err, fault.Denied, "bundles/hello:1", "hash to", "not to "+cfg)
}

func TestTagMovedToOtherContentResolvesToNewDigest(t *testing.T) {
	reg := registrytest.New(t)
	first := reg.PushImage(t, "app/web:stable", 1)
	d1, err := ResolveImage(context.Background(), mustRef(t, first.Ref), Options{})
	if err != nil || d1.Digest != first.Digest {
		t.Fatalf("first resolve: %v %s", err, d1.Digest)
	}
	moved := reg.PushImage(t, "app/web:stable", 2)
	d2, err := ResolveImage(context.Background(), mustRef(t, first.Ref), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if d2.Digest != moved.Digest || d2.Digest == d1.Digest {
		t.Fatalf("after the tag moved, resolve gave %s (first %s, moved %s)", d2.Digest, d1.Digest, moved.Digest)
	}
}

func TestPullOfIndexThatIsNotABundleIsDenied(t *testing.T) {
	reg := registrytest.New(t)
	idx := reg.PushIndex(t, "app/multi:1", 1, 2)
	_, _, err := PullBundle(context.Background(), mustRef(t, idx.Ref), Options{})
	errtest.Want(t, err, fault.Denied, "app/multi:1", "not a CNAB bundle")
	img := reg.PushImage(t, "app/single:1", 1)
	_, _, err = PullBundle(context.Background(), mustRef(t, img.Ref), Options{})
	errtest.Want(t, err, fault.Denied, "app/single:1", "not a CNAB bundle")
}

func TestPushOfBundleWithoutContentDigestIsInput(t *testing.T) {
	reg := registrytest.New(t)
	inv := reg.PushImage(t, "src/invoc:1", 1)
	inv.Digest = ""
	raw := testBundle(t, inv, nil)
	_, err := PushBundle(context.Background(), raw, mustRef(t, reg.Ref("bundles/b:1")), Options{})
	errtest.Want(t, err, fault.Input, "bundles/b:1", "invocationImages[0]", "no contentDigest")
}

func TestPushOfBundleWithWrongImageSizeIsInput(t *testing.T) {
	reg := registrytest.New(t)
	inv := reg.PushImage(t, "src/invoc:1", 1)
	inv.Size++
	raw := testBundle(t, inv, nil)
	_, err := PushBundle(context.Background(), raw, mustRef(t, reg.Ref("bundles/b:1")), Options{})
	errtest.Want(t, err, fault.Input, "bundles/b:1", "bundle.json says size")
}

func TestMalformedReferenceIsInput(t *testing.T) {
	for _, s := range []string{"", "Upper/Case:1", "reg.example/app:bad tag", "reg.example/app@sha256:xyz"} {
		_, err := ParseRef(s, Options{})
		if fault.KindOf(err) != fault.Input {
			t.Errorf("ParseRef(%q): %v, want an Input error", s, err)
		}
	}
}

func TestNormalizeExpandsDockerHubShortNames(t *testing.T) {
	for in, want := range map[string]string{
		"nginx":                         "index.docker.io/library/nginx:latest",
		"cnab/helloworld:0.1.1":         "index.docker.io/cnab/helloworld:0.1.1",
		"docker.io/cnab/helloworld:0.1": "index.docker.io/cnab/helloworld:0.1",
		"example.com/org/app:1.0":       "example.com/org/app:1.0",
		"127.0.0.1:5000/a/b@sha256:" + strings.Repeat("a", 64): "127.0.0.1:5000/a/b@sha256:" + strings.Repeat("a", 64),
	} {
		if got := Normalize(in); got != want {
			t.Errorf("Normalize(%q) = %q, want %q", in, got, want)
		}
	}
}
