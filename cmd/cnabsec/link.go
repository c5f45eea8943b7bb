package main

import (
	"fmt"
	"io"

	"github.com/in-toto/in-toto-golang/in_toto"
	"github.com/urfave/cli/v2"

	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/layouts"
)

func linkCommand() *cli.Command {
	return &cli.Command{
		Name:  "link",
		Usage: "record in-toto link metadata for a supply-chain step",
		Description: `A link records the files a step consumed (materials) and produced (products)
with their sha256, and the command it ran; it is signed by the functionary's
key and written as STEP.<keyid[:8]>.link (classic in-toto metadata, readable by
python in-toto). "run" wraps a command; "start" and "stop" bracket a step
performed by other means, as in-toto-record does.

Example:
   cnabsec link run package --key keys/ci.key -m bundle.src.json -p bundle.json -d links -- \
       cnabsec bundle canonicalize bundle.src.json --out bundle.json`,
		Subcommands: []*cli.Command{linkRunCommand(), linkStartCommand(), linkStopCommand()},
	}
}

func linkFlags(materials, products bool) []cli.Flag {
	f := []cli.Flag{
		&cli.StringFlag{Name: "key", Aliases: []string{"k"}, Usage: "functionary private key `FILE` that signs the link"},
		&cli.StringFlag{Name: "metadata-directory", Aliases: []string{"d"}, Value: ".", Usage: "write the link into `DIR` (created when missing)"},
		&cli.StringSliceFlag{Name: "exclude", Usage: "gitignore-style `PATTERN` of artifact names not to record (repeatable)"},
	}
	if materials {
		f = append(f, &cli.StringSliceFlag{Name: "materials", Aliases: []string{"m"}, Usage: "record `PATH` (file or directory, relative) before the step (repeatable)"})
	}
	if products {
		f = append(f, &cli.StringSliceFlag{Name: "products", Aliases: []string{"p"}, Usage: "record `PATH` (file or directory, relative) after the step (repeatable)"})
	}
	return append(f, outputFlag())
}

// linkReport is the -o json output of `link run|start|stop`.
type linkReport struct {
	Step  string `json:"step"`
	KeyID string `json:"keyid"`
	Link  string `json:"link"`
	// ReturnValue is the recorded exit code of the step's command (run).
	ReturnValue *int `json:"returnValue,omitempty"`
}

// writeLinkReport prints where the link went: text (to w, after the words
// text), or the report with -o json (always on stdout).
func writeLinkReport(c *cli.Context, w io.Writer, text string, o layouts.StepOptions, written string, code *int) error {
	asJSON, _ := wantJSON(c) // checked by linkOptions
	if asJSON {
		return writeJSON(c.App.Writer, linkReport{Step: o.Name, KeyID: o.Key.Public().ID(), Link: written, ReturnValue: code})
	}
	fmt.Fprintf(w, "%s%s\n", text, written)
	return nil
}

// linkOptions reads the flags shared by run, start and stop.
func linkOptions(c *cli.Context) (layouts.StepOptions, []string, error) {
	pos, cmd := splitPassthrough(c)
	asJSON, err := wantJSON(c)
	if err != nil {
		return layouts.StepOptions{}, nil, err
	}
	if len(pos) != 1 {
		return layouts.StepOptions{}, nil, fault.Inputf("%s: want exactly one STEP argument, got %d", c.Command.FullName(), len(pos))
	}
	if c.String("key") == "" {
		return layouts.StepOptions{}, nil, fault.Inputf("%s: --key FILE is required (the functionary key that signs the link)", c.Command.FullName())
	}
	signers, err := intotoSigners(c, []string{c.String("key")})
	if err != nil {
		return layouts.StepOptions{}, nil, err
	}
	o := layouts.StepOptions{
		Name:      pos[0],
		Key:       signers[0],
		Materials: c.StringSlice("materials"),
		Products:  c.StringSlice("products"),
		Exclude:   c.StringSlice("exclude"),
		OutDir:    c.String("metadata-directory"),
		Stdout:    c.App.Writer,
		Stderr:    c.App.ErrWriter,
	}
	if asJSON {
		o.Stdout = c.App.ErrWriter // stdout holds the one JSON document
	}
	return o, cmd, nil
}

func linkRunCommand() *cli.Command {
	return &cli.Command{
		Name:      "run",
		Usage:     "run a step's command and write its signed link",
		UsageText: "cnabsec link run STEP --key KEY [-m PATH]... [-p PATH]... [-d OUTDIR] [--exclude PATTERN]... -- CMD ARGS...",
		Description: `Records the materials, runs CMD in the current directory (its output goes to
this command's stdout and stderr, and into the link), records the products and
writes STEP.<keyid[:8]>.link into OUTDIR. Artifact paths must be relative and
must not contain "..". A command that exits non-zero is recorded in the link
("return-value") and cnabsec exits with its code.

Example:
   cnabsec link run package --key keys/ci.key -m bundle.src.json -p bundle.json -d links -- \
       cp bundle.src.json bundle.json`,
		Flags: linkFlags(true, true),
		Action: func(c *cli.Context) error {
			o, cmd, err := linkOptions(c)
			if err != nil {
				return err
			}
			if len(cmd) == 0 {
				return fault.WithHint(fault.Inputf("link run: no command after --"),
					"give the step's command after --, or use `cnabsec link start` and `link stop` around a step run by other means")
			}
			o.Command = cmd
			mb, written, err := layouts.RunStep(c.Context, o)
			if err != nil {
				return err
			}
			code := linkReturnValue(mb.Signed)
			if err := writeLinkReport(c, c.App.ErrWriter, "cnabsec: wrote ", o, written, &code); err != nil {
				return err
			}
			if code != 0 {
				fmt.Fprintf(c.App.ErrWriter, "cnabsec: the command exited with %d; the link records it\n", code)
				return &handoffExit{code: code}
			}
			return nil
		},
	}
}

func linkStartCommand() *cli.Command {
	return &cli.Command{
		Name:      "start",
		Usage:     "record a step's materials before it runs (writes an unfinished link)",
		UsageText: "cnabsec link start STEP --key KEY [-m PATH]... [-d DIR] [--exclude PATTERN]...",
		Description: `Records the materials and writes the signed .STEP.<keyid[:8]>.link-unfinished
into DIR; "cnabsec link stop" with the same step, key and DIR completes it.

Example:
   cnabsec link start write-bundle --key keys/dev.key -m . -d links
   $EDITOR bundle.src.json
   cnabsec link stop write-bundle --key keys/dev.key -p bundle.src.json -d links`,
		Flags: linkFlags(true, false),
		Action: func(c *cli.Context) error {
			o, cmd, err := linkOptions(c)
			if err != nil {
				return err
			}
			if len(cmd) > 0 {
				return fault.Inputf("link start: takes no command (use `cnabsec link run` to run one)")
			}
			_, written, err := layouts.StartStep(c.Context, o)
			if err != nil {
				return err
			}
			return writeLinkReport(c, c.App.Writer, "wrote ", o, written, nil)
		},
	}
}

func linkStopCommand() *cli.Command {
	return &cli.Command{
		Name:      "stop",
		Usage:     "record a step's products and write its signed link",
		UsageText: "cnabsec link stop STEP --key KEY [-p PATH]... [-d DIR] [--exclude PATTERN]...",
		Description: `Reads the unfinished link "cnabsec link start" wrote into DIR (it must be signed
by the same key), records the products, writes STEP.<keyid[:8]>.link into DIR
and removes the unfinished link.

Example:
   cnabsec link stop write-bundle --key keys/dev.key -p bundle.src.json -d links`,
		Flags: linkFlags(false, true),
		Action: func(c *cli.Context) error {
			o, cmd, err := linkOptions(c)
			if err != nil {
				return err
			}
			if len(cmd) > 0 {
				return fault.Inputf("link stop: takes no command")
			}
			_, written, err := layouts.StopStep(c.Context, o)
			if err != nil {
				return err
			}
			return writeLinkReport(c, c.App.Writer, "wrote ", o, written, nil)
		},
	}
}

// linkReturnValue is the recorded exit code of a link's command.
func linkReturnValue(signed any) int {
	l, _ := signed.(in_toto.Link)
	code, _ := l.ByProducts["return-value"].(int)
	return code
}
