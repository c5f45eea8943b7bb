package main

import (
	"fmt"
	"runtime/debug"

	"github.com/urfave/cli/v2"
)

// version is stamped by `make release` with -ldflags "-X main.version=...".
var version = ""

func versionCommand() *cli.Command {
	return &cli.Command{
		Name:      "version",
		Usage:     "print the module version and VCS revision",
		UsageText: "cnabsec version [-o text|json]",
		Flags:     []cli.Flag{outputFlag()},
		Action: func(c *cli.Context) error {
			asJSON, err := wantJSON(c)
			if err != nil {
				return err
			}
			v, rev, dirty := buildVersion()
			if asJSON {
				return writeJSON(c.App.Writer, map[string]any{"version": v, "revision": rev, "modified": dirty != ""})
			}
			fmt.Fprintf(c.App.Writer, "cnabsec %s", v)
			if rev != "" {
				fmt.Fprintf(c.App.Writer, " (revision %s%s)", rev, dirty)
			}
			fmt.Fprintln(c.App.Writer)
			return nil
		},
	}
}

func buildVersion() (ver, rev, dirty string) {
	ver = version
	info, ok := debug.ReadBuildInfo()
	if !ok {
		if ver == "" {
			ver = "(devel)"
		}
		return ver, "", ""
	}
	if ver == "" {
		ver = info.Main.Version
	}
	if ver == "" {
		ver = "(devel)"
	}
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = ", modified"
			}
		}
	}
	return ver, rev, dirty
}
