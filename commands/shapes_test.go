package commands

import (
	"bytes"
	"encoding/json"
	"io"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

// jsonCommands lists the path of every command that has a --json flag.
func jsonCommands(prefix string, cmds []*cli.Command) []string {
	var out []string
	for _, c := range cmds {
		path := strings.TrimSpace(prefix + " " + c.Name)
		for _, f := range c.Flags {
			if f.Names()[0] == "json" {
				out = append(out, path)
			}
		}
		out = append(out, jsonCommands(path, c.Subcommands)...)
	}
	return out
}

// hasFlag reports whether the command at path has a flag called name.
func hasFlag(path, name string) bool {
	cmds := NewApp(Env{}).Commands
	var cmd *cli.Command
	for _, w := range strings.Fields(path) {
		if cmd = findCommand(cmds, w); cmd == nil {
			return false
		}
		cmds = cmd.Subcommands
	}
	for _, f := range cmd.Flags {
		for _, n := range f.Names() {
			if n == name {
				return true
			}
		}
	}
	return false
}

// shapeKey is the jsonShapes key of the command that args (without the
// program name) run: the leading words that name commands, and a flag
// given that selects another document.
func shapeKey(args []string) string {
	path := commandPathOf(args)
	shapes := jsonShapes()
	for _, a := range args {
		name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if _, ok := shapes[path+" --"+name]; ok && strings.HasPrefix(a, "-") {
			return path + " --" + name
		}
	}
	return path
}

// commandPathOf finds the command that args (without the program name)
// run: the leading words that name commands.
func commandPathOf(args []string) string {
	cmds := NewApp(Env{}).Commands
	var path []string
	for _, a := range args {
		if strings.HasPrefix(a, "-") {
			continue
		}
		c := findCommand(cmds, a)
		if c == nil {
			break
		}
		path = append(path, c.Name)
		cmds = c.Subcommands
	}
	return strings.Join(path, " ")
}

// checkShape decodes the --json output of arbor args into the command's
// declared result type with no unknown member allowed, so that the type
// really is the shape. Commands not (yet) in jsonShapes are left alone.
func checkShape(t *testing.T, args []string, stdout string) {
	t.Helper()
	sh, ok := jsonShapes()[shapeKey(args)]
	if !ok || strings.TrimSpace(stdout) == "" {
		return
	}
	docs := []string{stdout}
	if sh.Lines {
		docs = strings.Split(strings.TrimRight(stdout, "\n"), "\n")
	}
	for _, doc := range docs {
		dec := json.NewDecoder(strings.NewReader(doc))
		dec.DisallowUnknownFields()
		v := reflect.New(sh.Result).Interface()
		if err := dec.Decode(v); err != nil {
			t.Fatalf("arbor %v: the --json output does not decode into %v: %v\n%.400s", args, sh.Result, err, doc)
		}
		if _, err := dec.Token(); err != io.EOF {
			t.Fatalf("arbor %v: more after the %v document", args, sh.Result)
		}
	}
}

// TestJSONOutputDecodesIntoItsShape runs commands with --json on real
// inputs (golden repositories, test data) and decodes what they print into
// their declared result types (checkShape). runJSON and runPLCJSON check
// every other test's --json run the same way.
func TestJSONOutputDecodesIntoItsShape(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "k.key")
	golden := func(name string) string { return filepath.Join("..", "golden", "repos", name) }
	cases := [][]string{
		{"key", "generate", "--json"},
		{"key", "generate", "--type", "p256", "-o", keyFile, "--json"},
		{"key", "inspect", keyFile, "--json"},
		{"mst", golden("r2000.car"), "--json"},
		{"inspect", golden("r2000.car"), "--json"},
		{"inspect", golden("noncanonical-flat.car"), "--json"},
		{"ls", golden("p256-50.car"), "--json"},
		{"verify", golden("r2000.car"), "--json"},
		{"verify", golden("noncanonical-flat.car"), "--json"},
		{"export", golden("p256-50.car"), filepath.Join(dir, "export"), "--json"},
		{"mst", golden("p256-50.car"), "--json", "--depth", "2"},
		{"rewrite", golden("r2000.car"), "-o", filepath.Join(dir, "copy.car"), "--json"},
		{"rewrite", golden("r2000.car"), "-o", filepath.Join(dir, "dropped.car"), "--key", keyFile, "--drop-collection", "app.bsky.feed.like", "--compact", "--json"},
	}
	for _, args := range cases {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			r := run(t, "", args...)
			if !bytes.HasPrefix([]byte(strings.TrimSpace(r.stdout)), []byte("{")) {
				t.Fatalf("arbor %v: exit %d, no JSON: stdout %q stderr %q", args, r.code, r.stdout, r.stderr)
			}
			if _, ok := jsonShapes()[shapeKey(args)]; !ok {
				t.Fatalf("arbor %v: no declared shape", args)
			}
			checkShape(t, args, r.stdout)
		})
	}
}
