package commands

import (
	"encoding/json"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/gookit/color"
	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/arbor-atproto/arbor/repo"
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

// appendJSONString appends s as a JSON string. Record paths are plain ASCII
// almost always and are copied as they are; anything else goes through
// encoding/json.
func appendJSONString(b, s []byte) []byte {
	for _, c := range s {
		if c < 0x20 || c >= 0x80 || c == '"' || c == '\\' {
			js, _ := json.Marshal(string(s))
			return append(b, js...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// checkNSIDFlag checks a flag's NSID value in plain words (the syntax
// package's own message speaks of regular expressions). An empty value is
// not given and passes.
func checkNSIDFlag(flag, v string) error {
	if v == "" {
		return nil
	}
	if err := repo.CheckNSID(v); err != nil {
		return usageErr("%s: %v", flag, err)
	}
	return nil
}

// num writes a count for people: with thousands separators (1,000,000).
func num[T ~int | ~int64](n T) string {
	s := strconv.FormatInt(int64(n), 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// count writes a count and its noun for people: "1 record", "2 records",
// "1,000,000 records". The plural is the noun with an s, or with "y"
// turned into "ies" after a consonant ("1 entry", "2 entries").
func count[T ~int | ~int64](n T, noun string) string {
	if n == 1 || n == -1 {
		return num(n) + " " + noun
	}
	return num(n) + " " + pluralOf(noun)
}

func pluralOf(noun string) string {
	if strings.HasSuffix(noun, "y") && len(noun) > 1 && !strings.ContainsRune("aeiou", rune(noun[len(noun)-2])) {
		return noun[:len(noun)-1] + "ies"
	}
	if strings.HasSuffix(noun, "s") || strings.HasSuffix(noun, "x") || strings.HasSuffix(noun, "sh") || strings.HasSuffix(noun, "ch") {
		return noun + "es"
	}
	return noun + "s"
}
