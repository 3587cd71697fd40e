package commands

import (
	"testing"

	gen "github.com/arbor-atproto/arbor/build/hostile"
	"github.com/arbor-atproto/arbor/internal/testfixtures"
)

// malformedTrees are signed repositories (correct hashes, a real
// signature) whose trees break one MST rule each.
func malformedTrees(t *testing.T) (key string, files map[string]string) {
	t.Helper()
	k := testfixtures.NewKey(t, false)
	pub, _ := k.PublicKey()
	const did = "did:plc:abcdefghijklmnopqrstuvwx"
	k0, k1 := gen.Keys(0, 2), gen.Keys(1, 1)
	leaf := &gen.Node{Entries: []gen.Entry{{Key: k0[0]}}}
	shapes := map[string]*gen.Node{
		"keys out of order":   {Entries: []gen.Entry{{Key: k0[1]}, {Key: k0[0]}}},
		"mixed layers":        {Entries: []gen.Entry{{Key: k0[0]}, {Key: k1[0]}}},
		"node reached twice":  {Left: leaf, Entries: []gen.Entry{{Key: k1[0], Right: leaf}}},
		"empty inner node":    {Left: &gen.Node{}, Entries: []gen.Entry{{Key: k1[0]}}},
		"entry-less root":     {Left: leaf},
		"chain of 1000 nodes": nil,
	}
	files = map[string]string{}
	for name, s := range shapes {
		var r *gen.Repo
		var err error
		if s == nil {
			r, err = gen.DeepChain(k, did, 1000)
		} else {
			r, err = gen.Shape(k, did, s)
		}
		if err != nil {
			t.Fatal(err)
		}
		files[name] = writeTemp(t, r.CAR)
	}
	return pub.DIDKey(), files
}

// A malformed tree is a failed verification (exit 1) in every command that
// meets the fault, never "unreadable input" (2, for files that are not
// CARs); a command that does not look where the fault is (inspect's
// summary, get's one search path, mst and view drawing a tree as it is,
// flagging misplaced keys) succeeds. A tree whose subtrees are shared is
// refused by ls and export at its first repeated key (walked along every
// path, a 64 KB one would take hours).
func TestMalformedTreeExitsOneInEveryCommand(t *testing.T) {
	key, files := malformedTrees(t)
	const path = "app.bsky.feed.post/k00000000"
	commands := []struct {
		name string
		args func(file string) []string
	}{
		{"verify", func(f string) []string { return []string{"verify", f, "--key", key} }},
		{"ls", func(f string) []string { return []string{"ls", f} }},
		{"mst", func(f string) []string { return []string{"mst", f} }},
		{"mst --json", func(f string) []string { return []string{"mst", f, "--json"} }},
		{"get", func(f string) []string { return []string{"get", f, path} }},
		{"inspect", func(f string) []string { return []string{"inspect", f} }},
		{"view", func(f string) []string { return []string{"view", f, "--addr", "127.0.0.1:0"} }},
		{"export", func(f string) []string { return []string{"export", f, t.TempDir()} }},
	}
	// want: exit code by command; a command missing from a row is one
	// that does not meet that fault (0; view is then not run, as it would
	// serve the tree until stopped).
	rows := []struct {
		fault string
		want  map[string]int
	}{
		{"chain of 1000 nodes", map[string]int{"verify": 1, "ls": 1, "export": 1, "mst": 1, "mst --json": 1, "get": 1, "inspect": 1, "view": 1}},
		{"node reached twice", map[string]int{"verify": 1, "ls": 1, "export": 1, "mst": 1, "mst --json": 1, "view": 1}},
		{"keys out of order", map[string]int{"verify": 1, "ls": 1, "export": 1, "get": 1}},
		{"mixed layers", map[string]int{"verify": 1, "ls": 1, "export": 1, "get": 1}},
		{"empty inner node", map[string]int{"verify": 1, "ls": 1, "export": 1, "get": 1}},
		{"entry-less root", map[string]int{"verify": 1, "ls": 1, "export": 1, "get": 1}},
	}
	for _, row := range rows {
		for _, cmd := range commands {
			want, meets := row.want[cmd.name]
			if !meets && cmd.name == "view" {
				continue
			}
			t.Run(row.fault+"/"+cmd.name, func(t *testing.T) {
				r := run(t, "", cmd.args(files[row.fault])...)
				if r.code != want {
					t.Fatalf("exit %d, want %d (stderr %q)", r.code, want, r.stderr)
				}
			})
		}
	}
	t.Run("a file that is not a CAR is unreadable input", func(t *testing.T) {
		junk := writeTemp(t, []byte("not a CAR"))
		for _, cmd := range commands {
			if r := run(t, "", cmd.args(junk)...); r.code != ExitUsage {
				t.Errorf("%s: exit %d, want %d (stderr %q)", cmd.name, r.code, ExitUsage, r.stderr)
			}
		}
	})
}
