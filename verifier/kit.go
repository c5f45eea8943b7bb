package verifier

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/cnabsec/cnabsec/bundle"
	"github.com/cnabsec/cnabsec/bundle/oci"
	"github.com/cnabsec/cnabsec/internal/atomicfile"
	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/metadata/client"
)

// An export kit is everything one verification needs, for air-gapped use:
//
//	DIR/repo/metadata/...  DIR/repo/targets/...  the TUF files the verification read
//	DIR/bundle.json                              the thin bundle
//	DIR/images/                                  an OCI image layout with every image, by digest
//	DIR/kit.json                                 the reference and the image digests
const (
	kitRepo   = "repo"
	kitBundle = "bundle.json"
	kitImages = "images"
	kitIndex  = "kit.json"
)

// Kit describes an export kit.
type Kit struct {
	Reference    string            `json:"reference"`
	BundleDigest string            `json:"bundleDigest"`
	Images       map[string]string `json:"images"` // image reference as bundle.json names it → contentDigest
}

// recorder is a Fetcher that keeps a copy of every file it served.
type recorder struct {
	inner client.Fetcher
	mu    sync.Mutex
	files map[string][]byte
}

func (r *recorder) Fetch(ctx context.Context, name string, maxLen int64) ([]byte, error) {
	b, err := r.inner.Fetch(ctx, name, maxLen)
	if err == nil {
		r.mu.Lock()
		r.files[name] = b
		r.mu.Unlock()
	}
	return b, err
}

// Export verifies req (which must pass) and writes the kit to out: nothing
// is exported that does not verify. The steps: verify while recording every
// TUF file served, then write those files, the verified bundle, each image by
// its signed digest, and last the kit index.
func Export(ctx context.Context, cfg Config, req Request, out string) (*Report, error) {
	if req.Image || req.ThickFile != "" {
		return nil, fault.Inputf("export takes a thin bundle reference, not an image or a thick archive")
	}
	report, rec, err := verifyRecording(ctx, cfg, req)
	if err != nil {
		return report, err
	}
	b := report.VerifiedBundle()
	parsed, err := bundle.Parse(b)
	if err != nil {
		return report, err
	}
	if err := writeKitFiles(out, rec.files, b); err != nil {
		return report, err
	}
	mapping, err := readExportMapping(req.RelocationMappingFile)
	if err != nil {
		return report, err
	}
	kit := Kit{Reference: report.Reference, BundleDigest: report.BundleDigest, Images: map[string]string{}}
	if err := exportImages(ctx, kitRegistry(cfg), out, parsed.Images(), mapping, kit.Images); err != nil {
		return report, err
	}
	kb, _ := json.MarshalIndent(kit, "", "  ")
	if err := atomicfile.WriteFile(filepath.Join(out, kitIndex), append(kb, '\n'), 0o644); err != nil {
		return report, kitDirError(out, err)
	}
	return report, nil
}

// verifyRecording runs the verification through a fetcher that keeps a copy
// of every TUF file it served: exactly what the kit's verifier will need.
func verifyRecording(ctx context.Context, cfg Config, req Request) (*Report, *recorder, error) {
	inner, err := ociFetcher(nil, cfg.Location, cfg.Registry)
	if err == nil && inner == nil {
		inner, err = client.FetcherFor(cfg.Location, cfg.Timeout)
	}
	if err != nil {
		return nil, nil, err
	}
	rec := &recorder{inner: inner, files: map[string][]byte{}}
	cfg.Fetcher = rec
	v, err := newVerifier(cfg, false)
	if err != nil {
		return nil, nil, err
	}
	defer v.Close()
	report, err := v.Verify(ctx, req)
	return report, rec, err
}

func kitDirError(out string, err error) error {
	return fault.Inputf("kit directory %s: %w", out, err)
}

// writeKitFiles writes the recorded TUF files under out/repo and the
// verified bundle.
func writeKitFiles(out string, files map[string][]byte, bundleJSON []byte) error {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return kitDirError(out, err)
	}
	for n, data := range files {
		p := filepath.Join(out, kitRepo, filepath.FromSlash(n))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return kitDirError(out, err)
		}
		if err := atomicfile.WriteFile(p, data, 0o644); err != nil {
			return kitDirError(out, err)
		}
	}
	if err := atomicfile.WriteFile(filepath.Join(out, kitBundle), bundleJSON, 0o644); err != nil {
		return kitDirError(out, err)
	}
	return nil
}

// readExportMapping reads the relocation mapping images are read through;
// images are still fetched by the digest the verified bundle signs.
func readExportMapping(path string) (map[string]string, error) {
	if path == "" {
		return map[string]string{}, nil
	}
	raw, err := readLocal(path, bundle.MaxRelocationMappingSize, "relocation mapping")
	if err != nil {
		return nil, err
	}
	mapping, err := bundle.ParseRelocationMapping(raw)
	if err != nil {
		return nil, fault.Inputf("relocation mapping: %w", err)
	}
	return mapping, nil
}

func kitRegistry(cfg Config) oci.Options {
	opts := cfg.Registry
	if opts.Timeout == 0 {
		opts.Timeout = cfg.Timeout
	}
	return opts
}

// exportImages appends each image, by its signed digest, to the kit's OCI
// layout and records it in images.
func exportImages(ctx context.Context, opts oci.Options, out string, imgs []bundle.Image, mapping, images map[string]string) error {
	lp, err := layout.Write(filepath.Join(out, kitImages), empty.Index)
	if err != nil {
		return kitDirError(out, err)
	}
	for _, im := range imgs {
		if err := exportImage(ctx, opts, lp, im, mapping); err != nil {
			return err
		}
		images[im.Reference] = im.ContentDigest
	}
	return nil
}

// exportImage fetches one image (or index) by digest from where the mapping
// relocated it and appends it to the layout, named by its bundle reference.
func exportImage(ctx context.Context, opts oci.Options, lp layout.Path, im bundle.Image, mapping map[string]string) error {
	src := im.Reference
	if m, ok := mapping[src]; ok {
		src = m
	}
	ref, err := oci.ParseRef(src, opts)
	if err != nil {
		return err
	}
	d, err := name.NewDigest(ref.Context().Name()+"@"+im.ContentDigest, name.WeakValidation)
	if err != nil {
		return fault.Inputf("image %s: %w", im.Name, err)
	}
	desc, err := remote.Get(d, oci.RemoteOptions(ctx, opts)...)
	if err != nil {
		return fault.Inconclusivef("export image %s: %w", d, err)
	}
	ann := layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": im.Reference})
	if desc.MediaType.IsIndex() {
		idx, err := desc.ImageIndex()
		if err == nil {
			err = lp.AppendIndex(idx, ann)
		}
		if err != nil {
			return fault.Inconclusivef("export image %s: %w", d, err)
		}
		return nil
	}
	img, err := desc.Image()
	if err == nil {
		err = lp.AppendImage(img, ann)
	}
	if err != nil {
		return fault.Inconclusivef("export image %s: %w", d, err)
	}
	return nil
}

// ReadKit reads DIR/kit.json.
func ReadKit(dir string) (*Kit, error) {
	b, err := readLocal(filepath.Join(dir, kitIndex), 1<<20, "kit")
	if err != nil {
		return nil, err
	}
	var k Kit
	if err := json.Unmarshal(b, &k); err != nil {
		return nil, fault.Inputf("kit %s: %w", dir, err)
	}
	return &k, nil
}

// KitRequest points a verification at an export kit: the TUF files, the
// bundle and the images all come from dir; nothing touches the network.
func KitRequest(dir string, cfg *Config, req *Request) {
	cfg.Location = filepath.Join(dir, kitRepo)
	cfg.Fetcher = nil
	cfg.ImageSource = LayoutImageSource(filepath.Join(dir, kitImages))
	req.BundleFile = filepath.Join(dir, kitBundle)
	req.From = ""
	req.RelocationMappingFile = ""
}

// KitLayout is the OCI image layout directory of a kit.
func KitLayout(dir string) string { return filepath.Join(dir, kitImages) }

// KitBundle is the bundle.json of a kit.
func KitBundle(dir string) string { return filepath.Join(dir, kitBundle) }

// LayoutImageSource serves image manifests from an OCI image layout, by
// digest, checking that the bytes hash to it.
func LayoutImageSource(dir string) ImageSource { return layoutSource(dir) }

type layoutSource string

func (l layoutSource) Manifest(_ context.Context, digest string) (oci.Descriptor, error) {
	hexd, ok := strings.CutPrefix(digest, "sha256:")
	if !ok || len(hexd) != 64 || strings.ContainsAny(hexd, "/.") {
		return oci.Descriptor{}, fault.Deniedf("image digest %q is not sha256:<64 hex>", digest)
	}
	p := filepath.Join(string(l), "blobs", "sha256", hexd)
	b, err := readLocal(p, 4<<20, "image manifest")
	if err != nil {
		return oci.Descriptor{}, fault.Deniedf("image %s is not in the kit's layout: %w", digest, err)
	}
	sum := sha256.Sum256(b)
	if hex.EncodeToString(sum[:]) != hexd {
		return oci.Descriptor{}, fault.Deniedf("kit blob %s does not hash to its name", p)
	}
	var m struct {
		MediaType string `json:"mediaType"`
	}
	_ = json.Unmarshal(b, &m)
	return oci.Descriptor{Digest: digest, Size: int64(len(b)), MediaType: m.MediaType, RawManifest: b}, nil
}
