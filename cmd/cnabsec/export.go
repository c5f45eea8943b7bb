package main

import (
	"fmt"
	"os"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/urfave/cli/v2"

	"github.com/cnabsec/cnabsec/bundle/oci"
	"github.com/cnabsec/cnabsec/internal/atomicfile"
	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/internal/names"
	"github.com/cnabsec/cnabsec/verifier"
)

func exportCommand() *cli.Command {
	return &cli.Command{
		Name:  "export",
		Usage: "verify a bundle and write everything verification needs into a directory (air-gapped use)",
		UsageText: `cnabsec export REF --trust-root ROOT --metadata LOCATION --out DIR [--level L] [--relocation-mapping FILE]

DIR receives the TUF metadata and target files the verification read (DIR/repo), the thin
bundle (DIR/bundle.json) and every image as an OCI image layout (DIR/images). Nothing is
exported that does not verify. Then, with no network:
  cnabsec verify REF --trust-root ROOT --kit DIR
and to move the content into a private registry:
  cnabsec import DIR --to registry.internal/org/app --relocation-mapping-out mapping.json

Example:
  cnabsec export example.com/org/app:1.0 --trust-root root.json --metadata https://tuf.example.com --out kit/`,
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "trust-root", Usage: "pinned root metadata `FILE`", Required: true},
			&cli.StringFlag{Name: "metadata", Usage: "TUF repository `LOCATION`", Required: true},
			&cli.StringFlag{Name: "out", Usage: "kit `DIR` (created)", Required: true},
			&cli.StringFlag{Name: "level", Value: "2", Usage: "level the bundle must verify at before it is exported"},
			&cli.StringFlag{Name: "relocation-mapping", Usage: "relocation mapping `FILE`: read images at their relocated references"},
			outputFlag(),
		}, provenanceFlags()...),
		Action: runExport,
	}
}

func importCommand() *cli.Command {
	return &cli.Command{
		Name:  "import",
		Usage: "push an export kit's bundle and images into a private registry and write the relocation mapping",
		UsageText: `cnabsec import DIR --to REG/REPO --relocation-mapping-out FILE

The images go to REG/REPO by digest and the thin bundle to REG/REPO:TAG (TAG from the
exported reference), byte for byte. Then, online:
  cnabsec verify REF --trust-root ROOT --metadata LOCATION --from REG/REPO:TAG --relocation-mapping FILE

Example:
  cnabsec import kit/ --to registry.internal/org/app --relocation-mapping-out mapping.json`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "to", Usage: "destination `REG/REPO`", Required: true},
			&cli.StringFlag{Name: "relocation-mapping-out", Usage: "write the relocation mapping to `FILE`", Required: true},
			outputFlag(),
		},
		Action: runImport,
	}
}

// runExport verifies REF and writes the kit; the report is printed also when
// the export fails after verifying.
func runExport(c *cli.Context) error {
	ref, err := onePositional(c, "REF")
	if err != nil {
		return err
	}
	asJSON, err := wantJSON(c)
	if err != nil {
		return err
	}
	lvl, err := verifier.ParseLevel(c.String("level"))
	if err != nil {
		return err
	}
	cfg, err := verifyConfig(c)
	if err != nil {
		return err
	}
	report, err := verifier.Export(c.Context, cfg, verifier.Request{Reference: ref, Level: lvl, RelocationMappingFile: c.String("relocation-mapping")}, c.String("out"))
	if report != nil && err != nil {
		_ = writeReport(c.App.Writer, report, asJSON, reportStyle{}) // the export's error is what counts
	}
	if err != nil {
		return err
	}
	if asJSON {
		return writeJSON(c.App.Writer, report)
	}
	fmt.Fprintf(c.App.Writer, "exported %s (%s, verified at level %s) to %s\n", report.Reference, report.BundleDigest, report.AchievedLevel, c.String("out"))
	return nil
}

// runImport pushes a kit's images and bundle into REG/REPO and writes the
// relocation mapping.
func runImport(c *cli.Context) error {
	dir, err := onePositional(c, "DIR")
	if err != nil {
		return err
	}
	asJSON, err := wantJSON(c)
	if err != nil {
		return err
	}
	kit, err := verifier.ReadKit(dir)
	if err != nil {
		return err
	}
	opts := registryOptions(c)
	dst, err := importDestination(kit, c.String("to"), opts)
	if err != nil {
		return err
	}
	raw, err := os.ReadFile(verifier.KitBundle(dir))
	if err != nil {
		return fault.Inputf("kit %s: %w", dir, err)
	}
	desc, mapping, err := oci.PushLayout(c.Context, raw, verifier.KitLayout(dir), dst, opts)
	if err != nil {
		return err
	}
	mb, err := jsonBytes(mapping)
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(c.String("relocation-mapping-out"), mb, 0o644); err != nil {
		return fault.Inputf("--relocation-mapping-out: %w", err)
	}
	rep := importReport{Reference: kit.Reference, Destination: dst.Name(), Digest: desc.Digest,
		Relocated: len(mapping), RelocationMapping: c.String("relocation-mapping-out")}
	if asJSON {
		return writeJSON(c.App.Writer, rep)
	}
	fmt.Fprintf(c.App.Writer, "imported %s as %s (%s); %d images relocated; mapping in %s\n",
		rep.Reference, rep.Destination, rep.Digest, rep.Relocated, rep.RelocationMapping)
	return nil
}

// importReport is the -o json output of `import`.
type importReport struct {
	Reference         string `json:"reference"`
	Destination       string `json:"destination"`
	Digest            string `json:"digest"`
	Relocated         int    `json:"relocated"`
	RelocationMapping string `json:"relocationMapping"`
}

// importDestination is REG/REPO:TAG with the tag of the exported reference
// ("latest" for a digest reference).
func importDestination(kit *verifier.Kit, to string, opts oci.Options) (name.Reference, error) {
	src, err := names.ParseVersion(kit.Reference)
	if err != nil {
		return nil, err
	}
	repo, err := names.ParseRepository(to)
	if err != nil {
		return nil, err
	}
	tag := "latest"
	if t, ok := src.Ref.(interface{ TagStr() string }); ok {
		tag = t.TagStr()
	}
	return oci.ParseRef(repo+":"+tag, opts)
}
