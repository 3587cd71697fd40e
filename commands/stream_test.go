package commands

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/arbor-atproto/arbor/build"
	"github.com/arbor-atproto/arbor/view"
)

// goldenRecords is the record list golden/repos/NAME.json (made by the
// reference implementation) gives, in key order.
func goldenRecords(t *testing.T, name string) (car string, recs []lsLine, colls map[string]int) {
	t.Helper()
	var g struct {
		Records     []lsLine       `json:"records"`
		Collections map[string]int `json:"collections"`
	}
	b, err := os.ReadFile(filepath.Join("..", "golden", "repos", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	return filepath.Join("..", "golden", "repos", name+".car"), g.Records, g.Collections
}

type lsLine struct {
	Path string `json:"path"`
	CID  string `json:"cid"`
}

var streamGolden = []string{"empty", "one", "ten", "p256-50", "r300", "r2000"}

// TestLsJSONIsOneObjectPerRecord: ls --json writes JSON lines, one
// {"path", "cid"} object per record and nothing else, in key order, the
// records the reference put in the repo; --collection keeps that
// collection's lines only.
func TestLsJSONIsOneObjectPerRecord(t *testing.T) {
	for _, name := range streamGolden {
		t.Run(name, func(t *testing.T) {
			car, want, colls := goldenRecords(t, name)
			r := run(t, "", "ls", car, "--json")
			if r.code != ExitOK || r.stderr != "" {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			got := parseLines(t, r.stdout)
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("ls --json gave %d records, the reference %d (first difference somewhere in %.200v)", len(got), len(want), got)
			}
			for coll, n := range colls {
				r := run(t, "", "ls", "--json", "--collection", coll, car)
				got := parseLines(t, r.stdout)
				if len(got) != n {
					t.Fatalf("--collection %s: %d lines, the reference has %d records", coll, len(got), n)
				}
				for _, l := range got {
					if !strings.HasPrefix(l.Path, coll+"/") {
						t.Fatalf("--collection %s listed %s", coll, l.Path)
					}
				}
			}
		})
	}
}

// parseLines decodes JSON lines strictly: each line one object with only
// path and cid.
func parseLines(t *testing.T, out string) []lsLine {
	t.Helper()
	got := []lsLine{}
	if out == "" {
		return got
	}
	if !strings.HasSuffix(out, "\n") {
		t.Fatalf("output does not end with a newline: %q", out)
	}
	for i, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		var m map[string]string
		if err := json.Unmarshal([]byte(line), &m); err != nil || len(m) != 2 || m["path"] == "" || m["cid"] == "" {
			t.Fatalf("line %d %q is not one {path, cid} object (%v)", i+1, line, err)
		}
		got = append(got, lsLine{m["path"], m["cid"]})
	}
	return got
}

// TestMSTJSONIsTheReferenceTree: the streamed mst --json document of every
// golden repo parses into the nested form, whose nodes, depth and records
// (read in order through left, entries and right links) are the
// reference's, and whose summary counts agree with the tree it holds.
func TestMSTJSONIsTheReferenceTree(t *testing.T) {
	for _, name := range streamGolden {
		t.Run(name, func(t *testing.T) {
			car, g := goldenFacts(t, name)
			_, want, _ := goldenRecords(t, name)
			r := run(t, "", "mst", car, "--json")
			if r.code != ExitOK || r.stderr != "" {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			var doc view.JSONTree
			if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
				t.Fatal(err)
			}
			got := []lsLine{}
			nodes, depth := 0, 0
			doc.Tree.Walk(1, func(n *view.JSONNode, d int) {
				nodes++
				depth = max(depth, d)
				if n.EntryCount != len(n.Entries) {
					t.Fatalf("node %s: entryCount %d, %d entries", n.CID, n.EntryCount, len(n.Entries))
				}
			}, func(e *view.JSONEntry) { got = append(got, lsLine{e.Key, e.Value}) })
			if doc.Root != g.DataCID || doc.Tree.CID != g.DataCID || nodes != g.MSTNodeCount || depth != g.MSTDepth {
				t.Fatalf("root %s, %d nodes, depth %d; the reference: %s, %d, %d", doc.Root, nodes, depth, g.DataCID, g.MSTNodeCount, g.MSTDepth)
			}
			if doc.Nodes != nodes || doc.Records != len(got) || doc.Depth != depth || doc.Cut {
				t.Fatalf("summary %d nodes %d records depth %d cut %v, the tree holds %d, %d, %d", doc.Nodes, doc.Records, doc.Depth, doc.Cut, nodes, len(got), depth)
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("the tree's %d entries are not the reference's %d records", len(got), len(want))
			}
		})
	}
}

// TestMSTDotWarnsOnBigTrees: --dot on a tree of more than 10,000 boxes
// (nodes and records) still writes the graph but warns once on stderr and
// suggests --depth; a small tree, or a big one cut with --depth, gets no
// warning.
func TestMSTDotWarnsOnBigTrees(t *testing.T) {
	dir := t.TempDir()
	key, err := build.GenerateKey("k256")
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(dir, "k.key")
	if err := build.WriteKeyFile(keyFile, key); err != nil {
		t.Fatal(err)
	}
	var lines strings.Builder
	for i := range 9000 {
		fmt.Fprintf(&lines, `{"collection":"app.bsky.feed.like","rkey":"r%05d","record":{"$type":"app.bsky.feed.like","createdAt":"2024-01-01T00:00:00Z"}}`+"\n", i)
	}
	big := filepath.Join(dir, "big.car")
	if r := run(t, lines.String(), "create", "--did", "did:plc:abcdefghijklmnopqrstuvwx", "--key", keyFile, big, "-"); r.code != ExitOK {
		t.Fatalf("create: exit %d: %s", r.code, r.stderr)
	}
	small, _ := goldenFacts(t, "r2000")
	cases := []struct {
		name string
		args []string
		warn bool
	}{
		{"9,000 records", []string{"mst", big, "--dot"}, true},
		{"cut with --depth", []string{"mst", big, "--dot", "--depth", "2"}, false},
		{"2,000 records", []string{"mst", small, "--dot"}, false},
		{"text is not warned about", []string{"mst", big}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := run(t, "", c.args...)
			if r.code != ExitOK {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			if c.warn {
				if strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, "warning") || !strings.Contains(r.stderr, "--depth") || !strings.Contains(r.stderr, "9,000 records") {
					t.Fatalf("want one warning suggesting --depth, got %q", r.stderr)
				}
				if !strings.HasSuffix(r.stdout, "}\n") {
					t.Fatal("the graph was not written whole")
				}
			} else if r.stderr != "" {
				t.Fatalf("unexpected stderr %q", r.stderr)
			}
		})
	}
}
