package oci

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/internal/testing/errtest"
	"github.com/cnabsec/cnabsec/internal/testing/registrytest"
)

// pushFormat writes a bundle the way other tools do: the config blob with
// configMT in a manifestMT manifest (with the config repeated as its only
// layer when configAsLayer, as cnab-to-oci's Docker fallback does), listed
// in an indexMT index at repoTag.
func pushFormat(t *testing.T, reg *registrytest.Registry, repoTag string, raw []byte, indexMT, manifestMT, configMT string, configAsLayer bool) name.Reference {
	t.Helper()
	ref := mustRef(t, reg.Ref(repoTag))
	if err := remote.WriteLayer(ref.Context(), static.NewLayer(raw, types.MediaType(configMT))); err != nil {
		t.Fatal(err)
	}
	cfg := ociDescriptor{MediaType: configMT, Digest: sha256Digest(raw), Size: int64(len(raw))}
	m := ociManifest{SchemaVersion: 2, Config: cfg, Layers: []ociDescriptor{}}
	if configAsLayer {
		m.Layers = []ociDescriptor{cfg}
	}
	mraw, _ := json.Marshal(m)
	mref, err := name.NewDigest(ref.Context().Name() + "@" + sha256Digest(mraw))
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Put(mref, rawManifest{mraw, manifestMT}); err != nil {
		t.Fatal(err)
	}
	ix := layoutIndexFile{SchemaVersion: 2, MediaType: indexMT, Manifests: []ociDescriptor{{
		MediaType: manifestMT, Digest: mref.DigestStr(), Size: int64(len(mraw)),
		Annotations: map[string]string{AnnotationManifestType: ManifestTypeConfig},
	}}}
	iraw, _ := json.Marshal(ix)
	if err := remote.Put(ref, rawManifest{iraw, indexMT}); err != nil {
		t.Fatal(err)
	}
	return ref
}

func TestPullAcceptsEveryCNABConfigFormat(t *testing.T) {
	reg := registrytest.New(t)
	raw := []byte(`{"invocationImages":[],"name":"x","schemaVersion":"v1.0.0","version":"1.0.0"}`)
	for name, f := range map[string]struct {
		index, manifest, config string
		asLayer                 bool
	}{
		"cnab-to-oci":             {MediaTypeOCIIndex, MediaTypeOCIManifest, MediaTypeCNABConfig, false},
		"spec-201":                {MediaTypeOCIIndex, MediaTypeOCIManifest, MediaTypeCNABSpecConfig, false},
		"oci-config-fallback":     {MediaTypeOCIIndex, MediaTypeOCIManifest, MediaTypeOCIConfig, false},
		"docker-schema2-fallback": {MediaTypeDockerList, MediaTypeDockerManifest, MediaTypeDockerConfig, true},
	} {
		ref := pushFormat(t, reg, "formats/"+name+":1", raw, f.index, f.manifest, f.config, f.asLayer)
		got, _, err := PullBundle(context.Background(), ref, Options{})
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !bytes.Equal(got, raw) {
			t.Errorf("%s: pulled %q", name, got)
		}
	}
}

func TestPullOfConfigWithForeignMediaTypeIsDenied(t *testing.T) {
	reg := registrytest.New(t)
	raw := []byte(`{"name":"x"}`)
	ref := pushFormat(t, reg, "formats/layer:1", raw, MediaTypeOCIIndex, MediaTypeOCIManifest, "application/vnd.oci.image.layer.v1.tar+gzip", false)
	_, _, err := PullBundle(context.Background(), ref, Options{})
	errtest.Want(t, err, fault.Denied, "formats/layer:1", "not a CNAB bundle config")
}

func TestPullOfConfigOverSizeCapIsDenied(t *testing.T) {
	reg := registrytest.New(t)
	raw := bytes.Repeat([]byte(" "), 2048)
	ref := pushFormat(t, reg, "formats/big:1", raw, MediaTypeOCIIndex, MediaTypeOCIManifest, MediaTypeCNABConfig, false)
	_, _, err := PullBundle(context.Background(), ref, Options{MaxConfigSize: 1024})
	errtest.Want(t, err, fault.Denied, "formats/big:1", "over the 1024-byte limit")
}

func TestCopyOfBundleNamingOneImageWithTwoDigestsIsDenied(t *testing.T) {
	reg := registrytest.New(t)
	inv := reg.PushImage(t, "src/app:1", 1)
	other := reg.PushImage(t, "src/app:2", 2)
	other.Ref = inv.Ref // same "image" member, another digest
	raw := testBundle(t, inv, map[string]registrytest.Image{"twin": other})
	src := mustRef(t, reg.Ref("bundles/twin:1"))
	if _, err := PushBundle(context.Background(), raw, src, Options{}); err != nil {
		t.Fatal(err)
	}
	_, err := Copy(context.Background(), src, mustRef(t, reg.Ref("mirror/twin:1")), Options{})
	errtest.Want(t, err, fault.Denied, "two digests", inv.Ref)
}
