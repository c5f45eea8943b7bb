package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"io"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The identity the image runs as: distroless's nonroot user.
const (
	nonrootID   = 65532
	nonrootUser = "65532:65532"
	entrypoint  = "/cnabsec"
	caBundle    = "etc/ssl/certs/ca-certificates.crt"
	sourceURL   = "https://github.com/cnabsec/cnabsec"
)

// entry is one file or directory of the layer.
type entry struct {
	name     string
	mode     int64
	uid, gid int
	body     []byte // nil for a directory
}

// entries lists the layer in a fixed order. The binary belongs to root, so
// the nonroot process cannot replace its own executable.
func entries(bin, ca []byte) []entry {
	es := []entry{
		{name: "etc/", mode: 0o755},
		{name: "etc/group", mode: 0o644, body: []byte("root:x:0:\nnonroot:x:65532:\n")},
		{name: "etc/passwd", mode: 0o644, body: []byte("root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n")},
	}
	if ca != nil {
		es = append(es, entry{name: "etc/ssl/", mode: 0o755}, entry{name: "etc/ssl/certs/", mode: 0o755},
			entry{name: caBundle, mode: 0o644, body: ca})
	}
	return append(es,
		entry{name: "home/", mode: 0o755},
		entry{name: "home/nonroot/", mode: 0o700, uid: nonrootID, gid: nonrootID},
		entry{name: "tmp/", mode: 0o1777},
		entry{name: entrypoint[1:], mode: 0o755, body: bin},
	)
}

// layerTar writes the entries as a tar whose every header is fixed: the
// epoch as modification time, numeric owners with fixed names, USTAR format.
func layerTar(es []entry, epoch time.Time) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range es {
		h := &tar.Header{Name: e.name, Mode: e.mode, Uid: e.uid, Gid: e.gid, ModTime: epoch,
			Uname: userName(e.uid), Gname: userName(e.gid), Format: tar.FormatUSTAR, Typeflag: tar.TypeDir}
		if e.body != nil {
			h.Typeflag, h.Size = tar.TypeReg, int64(len(e.body))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(e.body); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func userName(id int) string {
	if id == nonrootID {
		return "nonroot"
	}
	return "root"
}

// assemble builds the single-layer image: OCI media types, the layer
// compressed with gzip (no name, no time in its header), the config's
// created time and history at the epoch.
func assemble(bin, ca []byte, o options) (v1.Image, error) {
	raw, err := layerTar(entries(bin, ca), o.epoch)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(raw)), nil },
		tarball.WithMediaType(types.OCILayer), tarball.WithCompressionLevel(gzip.BestCompression))
	if err != nil {
		return nil, err
	}
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err = mutate.ConfigFile(img, config(o))
	if err != nil {
		return nil, err
	}
	img, err = mutate.Append(img, mutate.Addendum{Layer: layer, MediaType: types.OCILayer, History: v1.History{
		Created: v1.Time{Time: o.epoch}, CreatedBy: "make image (tools/image): cnabsec " + o.version,
	}})
	if err != nil {
		return nil, err
	}
	return mutate.Annotations(img, annotations(o)).(v1.Image), nil
}

// config runs /cnabsec as nonroot with no shell to fall back on; Cmd is
// empty, so `docker run IMAGE version` runs `cnabsec version`.
func config(o options) *v1.ConfigFile {
	env := []string{"HOME=/home/nonroot"}
	return &v1.ConfigFile{
		Architecture: o.platform.Architecture,
		OS:           o.platform.OS,
		Variant:      o.platform.Variant,
		Created:      v1.Time{Time: o.epoch},
		RootFS:       v1.RootFS{Type: "layers"},
		Config: v1.Config{
			User:       nonrootUser,
			Entrypoint: []string{entrypoint},
			Env:        env,
			WorkingDir: "/home/nonroot",
			Labels:     annotations(o),
		},
	}
}

// annotations are the OCI pre-defined keys for what was built.
func annotations(o options) map[string]string {
	a := map[string]string{
		"org.opencontainers.image.created": o.epoch.Format(time.RFC3339),
		"org.opencontainers.image.version": o.version,
		"org.opencontainers.image.source":  sourceURL,
		"org.opencontainers.image.title":   "cnabsec",
	}
	if o.revision != "" {
		a["org.opencontainers.image.revision"] = o.revision
	}
	return a
}
