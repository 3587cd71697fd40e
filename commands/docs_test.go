package commands

import (
	"flag"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

var updateDocs = flag.Bool("update-docs", false, "rewrite docs/commands.md from the commands' --help and docs/json.md from their result types")

// commandReference renders docs/commands.md: for every command, exactly what
// its --help prints, so the reference cannot drift from the binary.
func commandReference(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("# Command reference\n\n")
	b.WriteString("Generated from each command's `--help` by `go test ./commands -run TestCommandReference -update-docs`;\n")
	b.WriteString("a test fails when this file and `--help` disagree.\n\n")
	b.WriteString("Exit codes, for every command: 0 success (for `diff`: no difference), 1 a difference was found or\n")
	b.WriteString("verification failed, 2 bad usage or unreadable input. The same fault gives the same code in every\n")
	b.WriteString("command that meets it: a file that reads as a CAR but whose content is wrong (a block whose bytes are\n")
	b.WriteString("not its CID's, a root that is no commit or tree, a malformed MST) is 1; a file that is\n")
	b.WriteString("not a CAR, or is cut short, is 2. `diff`, whose 1 means \"they differ\", answers 2 for a snapshot it\n")
	b.WriteString("cannot compare. Errors are one line on standard error;\n")
	b.WriteString("results go to standard output. Flags may come before or after file arguments; `--` ends the flags.\n\n")
	help := func(path []string) {
		r := run(t, "", append(path, "--help")...)
		if r.code != 0 {
			t.Fatalf("arbor %v --help: exit %d: %s", path, r.code, r.stderr)
		}
		title := "arbor"
		if len(path) > 0 {
			title += " " + strings.Join(path, " ")
		}
		b.WriteString("## " + title + "\n\n```\n" + strings.TrimRight(r.stdout, "\n") + "\n```\n\n")
	}
	help(nil)
	var walk func(prefix []string, cmds []*cli.Command)
	walk = func(prefix []string, cmds []*cli.Command) {
		for _, c := range cmds {
			p := append(append([]string{}, prefix...), c.Name)
			help(p)
			walk(p, c.Subcommands)
		}
	}
	walk(nil, Commands())
	return b.String()
}

func TestCommandReferenceMatchesHelp(t *testing.T) {
	checkGeneratedDoc(t, "commands.md", commandReference(t), "--help", "TestCommandReference")
}
