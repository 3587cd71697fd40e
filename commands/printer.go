package commands

import (
	"io"

	"github.com/urfave/cli/v2"
)

// printResult is the one way a command prints its result: with --json the
// result itself as indented JSON (its type, declared in the core package
// that computes it and listed in jsonShapes, is the command's JSON schema),
// otherwise text renders it for people. Both go to standard output;
// diagnostics go to standard error and never through here. A nil text
// prints nothing without --json.
func printResult[R any](c *cli.Context, res R, text func(w io.Writer, res R) error) error {
	w := c.App.Writer
	if c.Bool("json") {
		return printJSON(w, res)
	}
	if text == nil {
		return nil
	}
	return text(w, res)
}
