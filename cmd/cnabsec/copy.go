package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/urfave/cli/v2"

	"github.com/cnabsec/cnabsec/bundle/oci"
	"github.com/cnabsec/cnabsec/internal/atomicfile"
	"github.com/cnabsec/cnabsec/internal/fault"
)

func init() { register(copyCommand()) }

func copyCommand() *cli.Command {
	return &cli.Command{
		Name:      "copy",
		Usage:     "copy a thin bundle and every image it references to another repository",
		UsageText: "cnabsec copy SRC_REF DST_REF [--relocation-mapping-out FILE] [-o text|json]",
		Description: `Copies the thin bundle SRC_REF (CNAB-in-OCI, as cnab-to-oci, Porter and
'cnabsec sign bundle --push' write it) to DST_REF: the bundle index, its
bundle.json config and every invocation and component image, each under the
same digest, so bundle.json and its TUF signatures stay valid. The images are
read from SRC_REF's repository by the contentDigest bundle.json gives them.

DST_REF without a tag takes SRC_REF's tag. The relocation mapping (CNAB 103)
maps each image as bundle.json names it to DSTREPO@sha256:...; it is printed,
and written atomically to FILE with --relocation-mapping-out. Give it to
'cnabsec verify --relocation-mapping' when running the relocated bundle.

Exit codes: 1 when the bundle or an image is missing or does not match its
digest, 2 for a bad reference, 3 when a registry cannot be reached.

Examples:
   cnabsec copy registry.example.com/org/app:1.0 mirror.example.com/org/app
   cnabsec copy 127.0.0.1:5000/app:1.0 127.0.0.1:5001/app:1.0 --relocation-mapping-out relocation.json`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "relocation-mapping-out", Usage: "write the relocation mapping (JSON) to `FILE`"},
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
	mapping, err := oci.Copy(c.Context, src, dst, opts)
	if err != nil {
		return err
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
		return writeJSON(c.App.Writer, copyReport{Source: src.Name(), Destination: dst.Name(), RelocationMapping: mapping})
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
	return nil
}
