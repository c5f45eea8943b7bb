package main

import (
	"encoding/json"
	"io"

	"github.com/urfave/cli/v2"

	"github.com/cnabsec/cnabsec/internal/fault"
)

// outputFlag is the -o, --output flag every reporting command shares.
func outputFlag() cli.Flag {
	return &cli.StringFlag{Name: "output", Aliases: []string{"o"}, Value: "text", Usage: "report format: text|json"}
}

// wantJSON reports whether -o json was given; any value but text or json is a usage error.
func wantJSON(c *cli.Context) (bool, error) {
	switch c.String("output") {
	case "", "text":
		return false, nil
	case "json":
		return true, nil
	}
	return false, fault.Inputf("--output %q: want text or json", c.String("output"))
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// onePositional returns the single positional argument or a usage error naming it.
func onePositional(c *cli.Context, what string) (string, error) {
	pos, _ := splitPassthrough(c)
	if len(pos) != 1 {
		return "", fault.Inputf("%s: want exactly one %s argument, got %d", c.Command.FullName(), what, len(pos))
	}
	return pos[0], nil
}

// jsonBytes is indented JSON with a final newline, for files users read.
func jsonBytes(v any) ([]byte, error) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
