package main

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/urfave/cli/v2"
)

func repoListCommand() *cli.Command {
	return &cli.Command{
		Name:      "list",
		Usage:     "list every target with its role, length, sha256 and custom",
		UsageText: "cnabsec repo list DIR [-o text|json]",
		Description: `Lists the targets of the repository (staged changes included, marked as
such), sorted by name: the role that signs each, its length, sha256 and custom
object.

Example:
   cnabsec repo list repo -o json`,
		Flags: []cli.Flag{outputFlag()},
		Action: repoAction(func(rc *repoCmd) error {
			c := rc.c
			list, err := rc.repo.List(c.Context)
			if err != nil {
				return err
			}
			if rc.asJSON {
				if list == nil {
					return writeJSON(c.App.Writer, []any{})
				}
				return writeJSON(c.App.Writer, list)
			}
			for _, t := range list {
				staged := ""
				if t.Staged {
					staged = " (staged)"
				}
				custom := oneLineJSON(t.Custom)
				fmt.Fprintf(c.App.Writer, "%s\t%s%s\t%d\tsha256:%s\t%s\n", t.Name, t.Role, staged, t.Length, t.Hashes["sha256"], custom)
			}
			return nil
		}),
	}
}

// oneLineJSON is raw JSON on one line ("-" when there is none), so that each
// target of the text listing is one line.
func oneLineJSON(raw []byte) string {
	var b bytes.Buffer
	if len(raw) == 0 || json.Compact(&b, raw) != nil || b.String() == "null" {
		return "-"
	}
	return b.String()
}
