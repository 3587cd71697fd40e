package commands

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestReorderArgsMovesFlagsBeforePositionals(t *testing.T) {
	app := NewApp(Env{})
	cases := []struct {
		name string
		in   []string
		want []string
	}{
		{"flag after file", []string{"arbor", "ls", "x.car", "--json"}, []string{"arbor", "ls", "--json", "--", "x.car"}},
		{"value flag after file", []string{"arbor", "ls", "x.car", "--collection", "app.bsky.feed.post"}, []string{"arbor", "ls", "--collection", "app.bsky.feed.post", "--", "x.car"}},
		{"flags already first", []string{"arbor", "ls", "--json", "x.car"}, []string{"arbor", "ls", "--json", "--", "x.car"}},
		{"equals form", []string{"arbor", "ls", "x.car", "--collection=a.b.c"}, []string{"arbor", "ls", "--collection=a.b.c", "--", "x.car"}},
		{"stdin dash stays positional", []string{"arbor", "inspect", "-", "--json"}, []string{"arbor", "inspect", "--json", "--", "-"}},
		{"double dash ends flags", []string{"arbor", "get", "x.car", "--", "--weird"}, []string{"arbor", "get", "--", "x.car", "--weird"}},
		{"no positionals", []string{"arbor", "inspect", "--json"}, []string{"arbor", "inspect", "--json"}},
		{"unknown command untouched", []string{"arbor", "nope", "a", "--json"}, []string{"arbor", "nope", "a", "--json"}},
		{"value flag last keeps no value", []string{"arbor", "verify", "x.car", "--key"}, []string{"arbor", "verify", "--key"}},
		{"value flag before -- keeps no value", []string{"arbor", "verify", "x.car", "--json", "--key", "--", "y"}, []string{"arbor", "verify", "--json", "--key"}},
		{"short value flag last", []string{"arbor", "rewrite", "x.car", "-o"}, []string{"arbor", "rewrite", "-o"}},
		{"help after file", []string{"arbor", "ls", "x.car", "-h"}, []string{"arbor", "ls", "-h"}},
		{"--help among flags", []string{"arbor", "ls", "--json", "x.car", "--help"}, []string{"arbor", "ls", "--help"}},
		{"subcommand flags", []string{"arbor", "key", "inspect", "k", "--json"}, []string{"arbor", "key", "inspect", "--json", "--", "k"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := reorderArgs(app, c.in)
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("reorderArgs(%q) = %q, want %q", c.in, got, c.want)
			}
		})
	}
}

func TestUsageErrorsExitTwo(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"unknown flag", []string{"inspect", "--bogus", "x.car"}, "bogus"},
		{"missing file argument", []string{"inspect"}, "usage"},
		{"too many arguments", []string{"inspect", "a.car", "b.car"}, "usage"},
		{"unknown command", []string{"frobnicate"}, "frobnicate"},
		{"unreadable file", []string{"inspect", "/nonexistent/x.car"}, "no such file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantOneLineError(t, run(t, "", c.args...), ExitUsage, c.want)
		})
	}
}

// TestUsageMessages pins what a mistaken command line is told: the whole
// command path in usage lines, unknown subcommands named with their group,
// suggestions for typos, a value flag given last, flags written --name,
// identifiers refused in plain words; each one line, exit 2.
func TestUsageMessages(t *testing.T) {
	car := filepath.Join("..", "golden", "repos", "ten.car")
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"nested usage names the group", []string{"plc", "did"}, "usage: arbor plc did "},
		{"nested usage names the group (key)", []string{"key", "inspect"}, "usage: arbor key inspect "},
		{"top-level usage", []string{"ls"}, "usage: arbor ls "},
		{"unknown subcommand", []string{"key", "nope"}, `unknown command "nope" for "arbor key"`},
		{"subcommand typo", []string{"key", "genrate"}, `did you mean "generate"?`},
		{"command typo", []string{"inspcet", car}, `unknown command "inspcet"; did you mean "inspect"?`},
		{"no suggestion when far", []string{"zzzzzz"}, `unknown command "zzzzzz" (see arbor help)`},
		{"help for an unknown command", []string{"help", "nope"}, `unknown command "nope"`},
		{"value flag last: verify --key", []string{"verify", car, "--key"}, "flag needs an argument: --key"},
		{"value flag last: diff --collection", []string{"diff", car, car, "--collection"}, "flag needs an argument: --collection"},
		{"short flag stays short", []string{"rewrite", car, "-o"}, "flag needs an argument: -o"},
		{"flag typo", []string{"ls", car, "--jsno"}, "flag provided but not defined: --jsno (did you mean --json?)"},
		{"bad flag value", []string{"mst", car, "--depth", "x"}, `invalid value "x" for flag --depth`},
		{"collection in plain words", []string{"ls", car, "--collection", "nope"}, `--collection: "nope" is not a valid NSID`},
		{"record path in plain words", []string{"get", car, "nope/x"}, `the collection "nope" is not a valid NSID`},
		{"record key in plain words", []string{"get", car, "app.bsky.feed.post/a b"}, `the record key "a b" is not valid`},
		{"AT URI in plain words", []string{"get", car, "at://bad/app.bsky.feed.post/x"}, `"bad" is neither a DID nor a handle`},
		{"DID in plain words", []string{"create", "--did", "did:nope", "--key", "k", "o.car", "-"}, `"did:nope" is not a valid DID`},
		// verify refuses a commit with such a DID: create and rewrite refuse
		// to sign one, before reading anything.
		{"did:plc one short: create", []string{"create", "--did", "did:plc:abcdefghijklmnopqrstuvw", "--key", "k", "o.car", "-"}, `is not a valid did:plc`},
		{"did:plc upper case: rewrite", []string{"rewrite", car, "-o", "o.car", "--did", "did:plc:AAAAAAAAAAAAAAAAAAAAAAAA", "--key", "k"}, `is not a valid did:plc`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := run(t, "", c.args...)
			wantOneLineError(t, r, ExitUsage, c.want)
			for _, internal := range []string{"regex", "No help topic", "syntax didn't validate"} {
				if strings.Contains(r.stderr, internal) {
					t.Fatalf("error quotes a library's internals: %s", r.stderr)
				}
			}
		})
	}
}

// TestHelpAfterArguments: -h or --help after a file shows the command's
// help on stdout, exit 0, as it does before the file.
func TestHelpAfterArguments(t *testing.T) {
	for _, args := range [][]string{{"ls", "x.car", "-h"}, {"ls", "-h", "x.car"}, {"verify", "x.car", "--key", "k", "--help"}, {"key", "inspect", "k", "-h"}} {
		r := run(t, "", args...)
		want := "arbor " + args[0]
		if args[0] == "key" {
			want = "arbor key inspect"
		}
		if r.code != ExitOK || r.stderr != "" || !strings.Contains(r.stdout, "USAGE:") || !strings.Contains(r.stdout, want+" ") {
			t.Fatalf("%v: exit %d, stderr %q, stdout %.120q", args, r.code, r.stderr, r.stdout)
		}
	}
}

func TestSuggestTypos(t *testing.T) {
	cands := []string{"inspect", "ls", "get", "export", "verify", "diff", "apply", "fetch", "firehose", "resolve"}
	cases := []struct{ in, want string }{
		{"inspcet", "inspect"}, // swap of neighbours
		{"insect", "inspect"},  // one letter missing
		{"verfy", "verify"},
		{"fecth", "fetch"},
		{"gte", "get"},
		{"lz", "ls"},
		{"fire", "firehose"}, // the start of one command
		{"x", ""},            // fewer letters than edits
		{"zzzzzz", ""},
		{"ls", ""}, // exact: nothing to suggest
	}
	for _, c := range cases {
		if got := suggest(c.in, cands); got != c.want {
			t.Errorf("suggest(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
