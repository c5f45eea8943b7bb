package ocistore

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/v1/types"
)

// emptyConfig is the OCI empty descriptor's content.
var emptyConfig = []byte("{}")

// descriptor is an OCI content descriptor.
type descriptor struct {
	MediaType   string            `json:"mediaType"`
	Digest      string            `json:"digest"`
	Size        int64             `json:"size"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// manifest is the OCI image manifest of one stored file.
type manifest struct {
	SchemaVersion int          `json:"schemaVersion"`
	MediaType     string       `json:"mediaType"`
	ArtifactType  string       `json:"artifactType"`
	Config        descriptor   `json:"config"`
	Layers        []descriptor `json:"layers"`
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// fileManifest is the manifest storing one file (digest sha256:<hex>, size
// bytes) as its single layer; title names it for people browsing the registry.
func fileManifest(artifactType, layerType, hexDigest string, size int64, title string) []byte {
	m := manifest{
		SchemaVersion: 2,
		MediaType:     string(types.OCIManifestSchema1),
		ArtifactType:  artifactType,
		Config:        descriptor{MediaType: mediaTypeEmpty, Digest: "sha256:" + sha256Hex(emptyConfig), Size: int64(len(emptyConfig))},
		Layers: []descriptor{{MediaType: layerType, Digest: "sha256:" + hexDigest, Size: size,
			Annotations: map[string]string{"org.opencontainers.image.title": title}}},
	}
	b, err := json.Marshal(m)
	if err != nil {
		panic(err) // plain structs of strings and numbers
	}
	return b
}

// parseFileManifest checks that raw is a manifest written by this package
// for layerType and returns its single layer.
func parseFileManifest(raw []byte, layerType, what string) (descriptor, error) {
	var m manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return descriptor{}, fmt.Errorf("%s: manifest is not JSON: %v", what, err)
	}
	if m.MediaType != string(types.OCIManifestSchema1) {
		return descriptor{}, fmt.Errorf("%s: manifest media type %q, want %s", what, m.MediaType, types.OCIManifestSchema1)
	}
	if m.Config.MediaType != mediaTypeEmpty || m.Config.Digest != "sha256:"+sha256Hex(emptyConfig) || m.Config.Size != int64(len(emptyConfig)) {
		return descriptor{}, fmt.Errorf("%s: manifest config is not the OCI empty descriptor", what)
	}
	if len(m.Layers) != 1 {
		return descriptor{}, fmt.Errorf("%s: manifest has %d layers, want exactly 1", what, len(m.Layers))
	}
	l := m.Layers[0]
	if l.MediaType != layerType {
		return descriptor{}, fmt.Errorf("%s: layer media type %q, want %s", what, l.MediaType, layerType)
	}
	h, ok := strings.CutPrefix(l.Digest, "sha256:")
	if !ok || !isHex(h, 64) {
		return descriptor{}, fmt.Errorf("%s: layer digest %q is not sha256:<64 hex>", what, l.Digest)
	}
	if l.Size < 0 {
		return descriptor{}, fmt.Errorf("%s: layer size %d is negative", what, l.Size)
	}
	return l, nil
}

// rawManifest is a manifest to PUT with remote.Put.
type rawManifest struct{ raw []byte }

func (r rawManifest) RawManifest() ([]byte, error) { return r.raw, nil }
func (r rawManifest) MediaType() (types.MediaType, error) {
	return types.OCIManifestSchema1, nil
}
