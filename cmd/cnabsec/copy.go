package main

import (
	"encoding/json"
	"fmt"
	"io"
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

// runCopy copies a bundle (and, with --with-metadata, its TUF metadata) and
// reports the relocation mapping.
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
	src, dst, err := copyRefs(pos, opts)
	if err != nil {
		return err
	}
	metaCopy, err := metadataCopyFor(c.String("with-metadata"), dst, opts)
	if err != nil {
		return err
	}
	mapping, err := oci.Copy(c.Context, src, dst, opts)
	if err != nil {
		return err
	}
	meta, err := metaCopy.run(c, opts)
	if err != nil {
		return err
	}
	if err := writeRelocationMapping(c.String("relocation-mapping-out"), mapping); err != nil {
		return err
	}
	if asJSON {
		return writeJSON(c.App.Writer, copyReport{Source: src.Name(), Destination: dst.Name(), RelocationMapping: mapping, Metadata: meta})
	}
	printCopy(c.App.Writer, src, dst, mapping, meta)
	return nil
}

// copyRefs parses the source and destination references of copy.
func copyRefs(pos []string, opts oci.Options) (src, dst name.Reference, err error) {
	if src, err = oci.ParseRef(pos[0], opts); err != nil {
		return nil, nil, err
	}
	if dst, err = oci.ParseDestination(pos[1], src, opts); err != nil {
		return nil, nil, err
	}
	return src, dst, nil
}

// metadataCopy is the metadata copy --with-metadata asks for.
type metadataCopy struct{ src, dst name.Repository }

// metadataCopyFor parses --with-metadata (flag) before anything is copied;
// nil without the flag.
func metadataCopyFor(flag string, dst name.Reference, opts oci.Options) (*metadataCopy, error) {
	if flag == "" {
		return nil, nil
	}
	src, mdst, err := metadataCopyLocations(flag, dst, opts)
	if err != nil {
		return nil, err
	}
	return &metadataCopy{src: src, dst: mdst}, nil
}

// run copies the metadata once the bundle is copied (nothing for a nil
// metadataCopy) and warns about replaced metadata.
func (m *metadataCopy) run(c *cli.Context, opts oci.Options) (*ocistore.CopyResult, error) {
	if m == nil {
		return nil, nil
	}
	res, err := ocistore.Copy(c.Context, m.src, m.dst, opts)
	if err != nil {
		return nil, fault.WithHint(err, "the bundle and its images were copied; rerun the same command to finish copying the metadata (what is already there is skipped)")
	}
	warnReplaced(c, res.Replaced)
	return &res, nil
}

// writeRelocationMapping writes the mapping as JSON to p
// (--relocation-mapping-out), when given.
func writeRelocationMapping(p string, mapping oci.RelocationMapping) error {
	if p == "" {
		return nil
	}
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
	return nil
}

// printCopy prints what copy did: the mapping by image, then the metadata
// copied and how to verify the copy.
func printCopy(w io.Writer, src, dst name.Reference, mapping oci.RelocationMapping, meta *ocistore.CopyResult) {
	fmt.Fprintf(w, "copied %s to %s\n", src.Name(), dst.Name())
	keys := make([]string, 0, len(mapping))
	for k := range mapping {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(w, "  %s -> %s\n", k, mapping[k])
	}
	if meta != nil {
		fmt.Fprintf(w, "copied TUF metadata oci://%s to oci://%s (%d artifacts, %d already there)\n", meta.Source, meta.Destination, meta.Copied, meta.Unchanged)
		fmt.Fprintf(w, "verify the copy with: --metadata oci://%s\n", meta.Destination)
	}
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
