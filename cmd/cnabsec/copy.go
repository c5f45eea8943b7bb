package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/urfave/cli/v2"

	"github.com/cnabsec/cnabsec/bundle/oci"
	"github.com/cnabsec/cnabsec/internal/atomicfile"
	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/metadata/ocistore"
)

func copyCommand() *cli.Command {
	return &cli.Command{
		Name:      "copy",
		Usage:     "copy a thin bundle and every image it references to another repository",
		UsageText: "cnabsec copy SRC_REF DST_REF [--relocation-mapping-out FILE] [--with-metadata oci://REG/REPO[=oci://DSTREG/DSTREPO]] [-o text|json]",
		Description: `Copies the thin bundle SRC_REF (CNAB-in-OCI, as cnab-to-oci, Porter and
'cnabsec sign bundle --push' write it) to DST_REF: the bundle index, its
bundle.json config and every invocation and component image, each under the
same digest, so bundle.json and its TUF signatures stay valid. The images are
read from SRC_REF's repository by the contentDigest bundle.json gives them.

DST_REF without a tag takes SRC_REF's tag. The relocation mapping (CNAB 103)
maps each image as bundle.json names it to DSTREPO@sha256:...; it is printed,
and written atomically to FILE with --relocation-mapping-out. Give it to
'cnabsec verify --relocation-mapping' when running the relocated bundle.

--with-metadata carries the TUF metadata repository stored in a registry
('cnabsec repo push') along: every metadata and target artifact of
oci://REG/REPO is copied, unchanged and timestamp last, to
oci://DSTREG/DSTREPO, or, without "=...", to the same repository path on
DST_REF's registry. Verify the mirror with --metadata oci://DSTREG/DSTREPO
and the same pinned root: nothing needs the original registry any more.

Exit codes: 1 when the bundle or an image is missing or does not match its
digest, 2 for a bad reference, 3 when a registry cannot be reached.

Examples:
   cnabsec copy registry.example.com/org/app:1.0 mirror.example.com/org/app
   cnabsec copy 127.0.0.1:5000/app:1.0 127.0.0.1:5001/app:1.0 --relocation-mapping-out relocation.json
   cnabsec copy registry.example.com/org/app:1.0 private.example.com/org/app \
       --with-metadata oci://registry.example.com/org/tuf
   cnabsec copy registry.example.com/org/app:1.0 private.example.com/mirror/app \
       --with-metadata oci://registry.example.com/org/tuf=oci://private.example.com/mirror/tuf`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "relocation-mapping-out", Usage: "write the relocation mapping (JSON) to `FILE`"},
			&cli.StringFlag{Name: "with-metadata", Usage: "also copy the TUF metadata stored at `oci://REG/REPO[=oci://DSTREG/DSTREPO]` (default destination: the same path on DST_REF's registry)"},
			outputFlag(),
		},
		Action: runCopy,
	}
}

// copyReport is the -o json output of cnabsec copy.
type copyReport struct {
	Source            string            `json:"source"`
	Destination       string            `json:"destination"`
	RelocationMapping map[string]string `json:"relocationMapping"`
	// Metadata is what --with-metadata copied.
	Metadata *ocistore.CopyResult `json:"metadata,omitempty"`
}

func runCopy(c *cli.Context) error {
	pos, _ := splitPassthrough(c)
	if len(pos) != 2 {
		return fault.Inputf("copy: want SRC_REF and DST_REF, got %d arguments", len(pos))
	}
	asJSON, err := wantJSON(c)
	if err != nil {
		return err
	}
	opts := registryOptions(c)
	src, err := oci.ParseRef(pos[0], opts)
	if err != nil {
		return err
	}
	dst, err := oci.ParseDestination(pos[1], src, opts)
	if err != nil {
		return err
	}
	var metaSrc, metaDst name.Repository
	withMeta := c.String("with-metadata") != ""
	if withMeta {
		if metaSrc, metaDst, err = metadataCopyLocations(c.String("with-metadata"), dst, opts); err != nil {
			return err
		}
	}
	mapping, err := oci.Copy(c.Context, src, dst, opts)
	if err != nil {
		return err
	}
	var meta *ocistore.CopyResult
	if withMeta {
		res, err := ocistore.Copy(c.Context, metaSrc, metaDst, opts)
		if err != nil {
			return fault.WithHint(err, "the bundle and its images were copied; rerun the same command to finish copying the metadata (what is already there is skipped)")
		}
		meta = &res
		warnReplaced(c, res.Replaced)
	}
	if p := c.String("relocation-mapping-out"); p != "" {
		b, err := json.MarshalIndent(mapping, "", "  ")
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fault.Inputf("--relocation-mapping-out %s: %w", p, err)
		}
		if err := atomicfile.WriteFile(p, append(b, '\n'), 0o644); err != nil {
			return fault.Inputf("--relocation-mapping-out %s: %w", p, err)
		}
	}
	if asJSON {
		return writeJSON(c.App.Writer, copyReport{Source: src.Name(), Destination: dst.Name(), RelocationMapping: mapping, Metadata: meta})
	}
	fmt.Fprintf(c.App.Writer, "copied %s to %s\n", src.Name(), dst.Name())
	keys := make([]string, 0, len(mapping))
	for k := range mapping {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(c.App.Writer, "  %s -> %s\n", k, mapping[k])
	}
	if meta != nil {
		fmt.Fprintf(c.App.Writer, "copied TUF metadata oci://%s to oci://%s (%d artifacts, %d already there)\n", meta.Source, meta.Destination, meta.Copied, meta.Unchanged)
		fmt.Fprintf(c.App.Writer, "verify the copy with: --metadata oci://%s\n", meta.Destination)
	}
	return nil
}

// metadataCopyLocations parses --with-metadata SRC[=DST]; without DST the
// metadata goes to SRC's repository path on the bundle destination's registry.
func metadataCopyLocations(v string, bundleDst name.Reference, opts oci.Options) (name.Repository, name.Repository, error) {
	srcLoc, dstLoc, explicit := strings.Cut(v, "=")
	src, err := ocistore.ParseLocation(srcLoc, opts)
	if err != nil {
		return name.Repository{}, name.Repository{}, fault.WithHint(err, "--with-metadata oci://REG/REPO[=oci://DSTREG/DSTREPO]")
	}
	if !explicit {
		dstLoc = ocistore.Scheme + "://" + bundleDst.Context().RegistryStr() + "/" + src.RepositoryStr()
	}
	dst, err := ocistore.ParseLocation(dstLoc, opts)
	if err != nil {
		return name.Repository{}, name.Repository{}, fault.WithHint(err, "--with-metadata oci://REG/REPO[=oci://DSTREG/DSTREPO]")
	}
	if src.Name() == dst.Name() {
		return name.Repository{}, name.Repository{}, fault.Inputf("--with-metadata %s: the metadata would be copied onto itself (give =oci://DSTREG/DSTREPO)", v)
	}
	return src, dst, nil
}
