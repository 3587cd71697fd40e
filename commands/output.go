package commands

import (
	"encoding/json"
	"io"
	"os"

	"github.com/gookit/color"
	"github.com/urfave/cli/v2"
	"golang.org/x/term"
)

// jsonFlag is the --json flag every command has.
var jsonFlag = &cli.BoolFlag{Name: "json", Usage: "print the result as JSON"}

// printJSON writes v as indented JSON with a trailing newline.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// colorOn reports whether colour may be used on w: only on a terminal, and
// never when NO_COLOR is set (https://no-color.org).
func colorOn(w io.Writer) bool {
	if _, set := os.LookupEnv("NO_COLOR"); set {
		return false
	}
	return isTerminal(w)
}

// painter colours strings when its output is a terminal.
type painter struct{ on bool }

func newPainter(w io.Writer) painter { return painter{on: colorOn(w)} }

func (p painter) paint(c color.Color, s string) string {
	if !p.on {
		return s
	}
	return c.Render(s)
}

func (p painter) green(s string) string  { return p.paint(color.FgGreen, s) }
func (p painter) red(s string) string    { return p.paint(color.FgRed, s) }
func (p painter) yellow(s string) string { return p.paint(color.FgYellow, s) }
func (p painter) bold(s string) string   { return p.paint(color.OpBold, s) }
