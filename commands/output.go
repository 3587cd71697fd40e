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

// forceFlag is the --force flag of every command that writes a file or a
// folder: without it an existing output is never replaced.
var forceFlag = &cli.BoolFlag{Name: "force", Usage: "replace an existing output file"}

// checkOverwrite is the one overwrite policy of every command that writes a
// file: an existing path is refused (a usage error, exit 2) unless force is
// set. "-" (standard output) and "" (no output) are always fine.
func checkOverwrite(path string, force bool) error {
	if path == "" || path == stdinName || force {
		return nil
	}
	if _, err := os.Lstat(path); err == nil {
		return usageErr("refusing to overwrite %s (use --force)", path)
	}
	return nil
}

// checkEmptyDir is checkOverwrite for a command that writes into a folder:
// a folder that exists and holds anything is refused unless force is set
// (writing into it would mix two outputs). A path that exists and is not a
// folder is refused always.
func checkEmptyDir(dir string, force bool) error {
	st, err := os.Stat(dir)
	if err != nil {
		return nil // missing: it will be created (other errors show there)
	}
	if !st.IsDir() {
		return usageErr("%s exists and is not a folder", dir)
	}
	if force {
		return nil
	}
	f, err := os.Open(dir)
	if err != nil {
		return inputErr(err)
	}
	defer f.Close()
	if names, _ := f.Readdirnames(1); len(names) > 0 {
		return usageErr("refusing to write into %s: the folder is not empty (use --force)", dir)
	}
	return nil
}
