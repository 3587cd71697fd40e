package commands

import (
	"reflect"
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
