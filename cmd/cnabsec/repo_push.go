package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/metadata"
	"github.com/cnabsec/cnabsec/metadata/ocistore"
)

func repoPushCommand() *cli.Command {
	return &cli.Command{
		Name:      "push",
		Usage:     "publish the repository's metadata and target files to an OCI registry",
		UsageText: "cnabsec repo push DIR oci://REGISTRY/REPOSITORY [-o text|json]",
		Description: `Uploads what DIR serves (DIR/metadata and DIR/targets; never DIR/staged or
keys) to REGISTRY/REPOSITORY as small OCI artifacts: each metadata file under
the tag tuf-FILE (tuf-3.root.json, tuf-timestamp.json, ...), each target file
as a blob addressed by its sha256 and kept by the tag tuf-target-SHA256.
Verifiers then read it with --metadata oci://REGISTRY/REPOSITORY and need
nothing but the registry (docs/oci-metadata.md).

Target files go first and timestamp.json last, so a client never sees a
timestamp that points at something missing. Files the registry already holds
are skipped: re-pushing after a release sends only what changed. Nothing is
sent unless the directory is complete and every role name can be a tag
(letters, digits, '_', '.', '-').

Exit codes: 2 for a bad directory or location, 1 for a corrupted target file,
3 when the registry cannot be reached.

Example:
   cnabsec repo push repo oci://registry.example.com/org/tuf
   cnabsec repo push repo oci://127.0.0.1:5000/org/tuf -o json
   cnabsec verify registry.example.com/org/app:1.0 --trust-root root.json \
       --metadata oci://registry.example.com/org/tuf`,
		Flags:  []cli.Flag{outputFlag()},
		Action: runRepoPush,
	}
}

func runRepoPush(c *cli.Context) error {
	pos, _ := splitPassthrough(c)
	if len(pos) != 2 {
		return fault.Inputf("repo push: want DIR and oci://REGISTRY/REPOSITORY, got %d arguments", len(pos))
	}
	asJSON, err := wantJSON(c)
	if err != nil {
		return err
	}
	opts := registryOptions(c)
	dst, err := ocistore.ParseLocation(pos[1], opts)
	if err != nil {
		return err
	}
	repo, err := metadata.Open(pos[0])
	if err != nil {
		return err
	}
	res, err := ocistore.Push(c.Context, repo.Dir(), dst, opts)
	if err != nil {
		return err
	}
	warnReplaced(c, res.Replaced)
	if asJSON {
		return writeJSON(c.App.Writer, res)
	}
	w := c.App.Writer
	fmt.Fprintf(w, "pushed %s to oci://%s\n", repo.Dir(), res.Repository)
	fmt.Fprintf(w, "  metadata files: %d uploaded, %d already there\n", len(res.Metadata), res.MetadataUnchanged)
	fmt.Fprintf(w, "  target files:   %d uploaded, %d already there\n", res.Targets, res.TargetsUnchanged)
	for _, f := range res.Metadata {
		fmt.Fprintf(w, "  + %s\n", f)
	}
	fmt.Fprintf(w, "verify with: --metadata oci://%s\n", res.Repository)
	return nil
}

// warnReplaced tells the user about registry metadata that did not verify
// and was replaced (stderr: stdout may be JSON).
func warnReplaced(c *cli.Context, replaced []ocistore.Replaced) {
	for _, r := range replaced {
		claim := ""
		if r.Version > 0 {
			claim = fmt.Sprintf(" (claiming version %d)", r.Version)
		}
		fmt.Fprintf(c.App.ErrWriter, "cnabsec: warning: the registry's %s%s was replaced: %s; someone without the keys wrote to the registry, or another repository was pushed there\n", r.File, claim, r.Reason)
	}
}
