package view

import (
	"bytes"
	"errors"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/ipfs/go-cid"

	"github.com/arbor-atproto/arbor/diff"
	"github.com/arbor-atproto/arbor/mst"
)

// textLine is one parsed line of Text output.
type textLine struct {
	level   int // indentation level, 0 for the root
	node    bool
	layer   int
	cid     string
	entries int
	cut     bool
	key     string // records
}

var (
	nodeLineRE   = regexp.MustCompile(`^( *)node L(\d+) (\S+)  (\d+) (?:entry|entries)  (?:\(empty\)|\[[^\]]+\])(  \(subtree not shown\))?$`)
	recordLineRE = regexp.MustCompile(`^( *)([^ ]+/[^ ]+)  (\S+)$`)
	summaryRE    = regexp.MustCompile(`^([\d,]+) nodes?, ([\d,]+) records?, depth (\d+)`)
)

func parseText(t *testing.T, out string) (lines []textLine, summary string) {
	t.Helper()
	all := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	summary = all[len(all)-1]
	for _, l := range all[:len(all)-1] {
		if m := nodeLineRE.FindStringSubmatch(l); m != nil {
			if len(m[1])%2 != 0 {
				t.Fatalf("odd indentation: %q", l)
			}
			layer, _ := strconv.Atoi(m[2])
			n, _ := strconv.Atoi(m[4])
			lines = append(lines, textLine{level: len(m[1]) / 2, node: true, layer: layer, cid: m[3], entries: n, cut: m[5] != ""})
			continue
		}
		if m := recordLineRE.FindStringSubmatch(l); m != nil {
			lines = append(lines, textLine{level: len(m[1]) / 2, key: m[2], cid: m[3]})
			continue
		}
		t.Fatalf("line is neither a node nor a record: %q", l)
	}
	return lines, summary
}

// The text drawing of each reference repository has the reference's node
// count, depth, root and records (in key order, with their CIDs); every
// record sits directly under a node whose layer is the record key's height,
// and each node line's entry count is the number of records under it.
func TestTextAgreesWithReferenceRepos(t *testing.T) {
	for _, name := range canonicalGolden {
		t.Run(name, func(t *testing.T) {
			g, a := loadGolden(t, name)
			var buf bytes.Buffer
			s, err := Text(&buf, NewBrowser(a, a.Data), RenderOptions{FullCID: true})
			if err != nil {
				t.Fatal(err)
			}
			lines, summary := parseText(t, buf.String())
			nodes, depth := 0, 0
			var keys, cids []string
			var stack []textLine // open nodes by level
			direct := map[int]int{}
			for i, l := range lines {
				if l.node {
					nodes++
					depth = max(depth, l.level+1)
					stack = append(stack[:l.level], l)
					if l.level > 0 && stack[l.level-1].layer != l.layer+1 {
						t.Errorf("node %s on layer %d under a layer-%d node", l.cid, l.layer, stack[l.level-1].layer)
					}
					continue
				}
				keys, cids = append(keys, l.key), append(cids, l.cid)
				parent := stack[l.level-1]
				if h := mst.Height([]byte(l.key)); h != parent.layer {
					t.Errorf("record %s (height %d) drawn under a layer-%d node", l.key, h, parent.layer)
				}
				direct[indexOfNode(lines[:i], parent.cid)]++
			}
			for i, l := range lines {
				if l.node && direct[i] != l.entries {
					t.Errorf("node %s says %d entries, %d records drawn under it", l.cid, l.entries, direct[i])
				}
			}
			if nodes != g.MSTNodeCount || depth != g.MSTDepth {
				t.Errorf("drawn %d nodes, depth %d; reference: %d nodes, depth %d", nodes, depth, g.MSTNodeCount, g.MSTDepth)
			}
			if lines[0].cid != g.DataCID || lines[0].layer != g.MSTRootLayer {
				t.Errorf("root %s layer %d, reference %s layer %d", lines[0].cid, lines[0].layer, g.DataCID, g.MSTRootLayer)
			}
			if len(keys) != len(g.Records) {
				t.Fatalf("%d records drawn, reference has %d", len(keys), len(g.Records))
			}
			for i, r := range g.Records {
				if keys[i] != r.Path || cids[i] != r.CID {
					t.Fatalf("record %d: %s %s, reference %s %s", i, keys[i], cids[i], r.Path, r.CID)
				}
			}
			m := summaryRE.FindStringSubmatch(summary)
			if m == nil || m[1] != thousands(g.MSTNodeCount) || m[2] != thousands(g.RecordCount) || m[3] != strconv.Itoa(g.MSTDepth) {
				t.Errorf("summary %q disagrees with the reference", summary)
			}
			if s.Nodes != g.MSTNodeCount || s.Records != g.RecordCount || s.Depth != g.MSTDepth || s.Truncated {
				t.Errorf("Summary %+v disagrees with the reference", s)
			}
		})
	}
}

func indexOfNode(lines []textLine, c string) int {
	for i := len(lines) - 1; i >= 0; i-- {
		if lines[i].node && lines[i].cid == c {
			return i
		}
	}
	return -1
}

// --depth N draws N levels of nodes and shows each deeper subtree as one
// "not shown" line one level down; records of the drawn levels are all
// there.
func TestTextDepthCutsDeeperLevels(t *testing.T) {
	g, a := loadGolden(t, "r2000") // depth 5
	for _, depth := range []int{1, 2, 4, 5, 9} {
		t.Run(strconv.Itoa(depth), func(t *testing.T) {
			var buf bytes.Buffer
			s, err := Text(&buf, NewBrowser(a, a.Data), RenderOptions{Depth: depth})
			if err != nil {
				t.Fatal(err)
			}
			lines, summary := parseText(t, buf.String())
			cutWanted := depth < g.MSTDepth
			cuts := 0
			for _, l := range lines {
				switch {
				case l.node && l.cut:
					cuts++
					if l.level != depth {
						t.Errorf("cut subtree at level %d, want %d", l.level, depth)
					}
				case l.node && l.level >= depth:
					t.Errorf("node drawn at level %d with --depth %d", l.level, depth)
				}
			}
			if (cuts > 0) != cutWanted || s.Truncated != cutWanted || strings.Contains(summary, "cut at") != cutWanted {
				t.Errorf("depth %d: %d cut subtrees, Truncated %v, summary %q; tree depth %d", depth, cuts, s.Truncated, summary, g.MSTDepth)
			}
			if !cutWanted && s.Records != g.RecordCount {
				t.Errorf("uncut drawing has %d records, want %d", s.Records, g.RecordCount)
			}
		})
	}
}

// CIDs are shortened by default and whole with FullCID.
func TestTextShortensCIDsUnlessFull(t *testing.T) {
	g, a := loadGolden(t, "ten")
	for _, full := range []bool{false, true} {
		var buf bytes.Buffer
		if _, err := Text(&buf, NewBrowser(a, a.Data), RenderOptions{FullCID: full}); err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(buf.String(), g.Records[0].CID); got != full {
			t.Errorf("FullCID %v: whole record CID present = %v", full, got)
		}
		if got := strings.Contains(buf.String(), "…"); got == full {
			t.Errorf("FullCID %v: shortened CIDs present = %v", full, got)
		}
	}
}

// dotStmtRE matches the statements DOT writes: node statements, edges and
// attribute statements, one per line.
var (
	dotNodeRE = regexp.MustCompile(`^  ("[^"\\]*") \[shape=(box|note), (?:[a-z]+=(?:"(?:[^"\\]|\\.)*"|[a-z]+), )*label="(?:[^"\\]|\\.)*"\];$`)
	dotEdgeRE = regexp.MustCompile(`^  ("[^"\\]*") -> ("[^"\\]*")(?: \[style=dashed\])?;$`)
	dotAttrRE = regexp.MustCompile(`^  (graph|node|edge) \[(?:[a-z]+=(?:"(?:[^"\\]|\\.)*"|[A-Za-z0-9.]+)(?:, )?)+\];$`)
)

// The DOT graph of each reference repository is valid DOT (checked by
// Graphviz when installed, and always by a statement-level parser) with one
// box per reference node, one note per reference record, and a tree of
// edges: every node but the root and every record has exactly one parent.
func TestDOTAgreesWithReferenceRepos(t *testing.T) {
	dot, _ := exec.LookPath("dot")
	if dot == "" {
		t.Log("graphviz dot not installed: checking DOT syntax with the built-in statement parser only")
	}
	for _, name := range canonicalGolden {
		t.Run(name, func(t *testing.T) {
			g, a := loadGolden(t, name)
			var buf bytes.Buffer
			if _, err := DOT(&buf, NewBrowser(a, a.Data), RenderOptions{}); err != nil {
				t.Fatal(err)
			}
			out := buf.String()
			lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
			if lines[0] != "digraph mst {" || lines[len(lines)-1] != "}" {
				t.Fatalf("not a digraph block: first %q last %q", lines[0], lines[len(lines)-1])
			}
			boxes, notes := map[string]bool{}, map[string]bool{}
			parents := map[string]int{}
			for _, l := range lines[1 : len(lines)-1] {
				if m := dotNodeRE.FindStringSubmatch(l); m != nil {
					if boxes[m[1]] || notes[m[1]] {
						t.Errorf("node %s declared twice", m[1])
					}
					if m[2] == "box" {
						boxes[m[1]] = true
					} else {
						notes[m[1]] = true
					}
					continue
				}
				if m := dotEdgeRE.FindStringSubmatch(l); m != nil {
					if !boxes[m[1]] {
						t.Errorf("edge from %s, which is not a declared node", m[1])
					}
					parents[m[2]]++
					continue
				}
				if !dotAttrRE.MatchString(l) {
					t.Fatalf("not a DOT statement: %q", l)
				}
			}
			if len(boxes) != g.MSTNodeCount || len(notes) != g.RecordCount {
				t.Errorf("%d node boxes and %d record notes; reference %d nodes, %d records", len(boxes), len(notes), g.MSTNodeCount, g.RecordCount)
			}
			if !boxes[`"n_`+g.DataCID+`"`] || parents[`"n_`+g.DataCID+`"`] != 0 {
				t.Errorf("the root %s is not a parentless box", g.DataCID)
			}
			for id := range boxes {
				if id != `"n_`+g.DataCID+`"` && parents[id] != 1 {
					t.Errorf("node %s has %d parents", id, parents[id])
				}
			}
			for id := range notes {
				if parents[id] != 1 {
					t.Errorf("record %s has %d parents", id, parents[id])
				}
			}
			if dot != "" {
				cmd := exec.Command(dot, "-Tsvg", "-o", "/dev/null")
				cmd.Stdin = strings.NewReader(out)
				var stderr bytes.Buffer
				cmd.Stderr = &stderr
				if err := cmd.Run(); err != nil || stderr.Len() > 0 {
					t.Errorf("graphviz rejects the graph: %v %s", err, stderr.String())
				}
			}
		})
	}
}

// The nested JSON form holds every reference node and record, in key order.
func TestNestedAgreesWithReferenceRepos(t *testing.T) {
	for _, name := range canonicalGolden {
		t.Run(name, func(t *testing.T) {
			g, a := loadGolden(t, name)
			nt, err := Nested(NewBrowser(a, a.Data), RenderOptions{})
			if err != nil {
				t.Fatal(err)
			}
			nodes, maxDepth := 0, 0
			var keys []string
			nt.Tree.Walk(1, func(n *JSONNode, depth int) {
				nodes++
				maxDepth = max(maxDepth, depth)
				if n.EntryCount != len(n.Entries) {
					t.Errorf("node %s: entryCount %d, %d entries", n.CID, n.EntryCount, len(n.Entries))
				}
			}, func(e *JSONEntry) { keys = append(keys, e.Key) })
			if nt.Root != g.DataCID || nodes != g.MSTNodeCount || maxDepth != g.MSTDepth || len(keys) != g.RecordCount {
				t.Errorf("root %s, %d nodes, depth %d, %d records; reference %s, %d, %d, %d", nt.Root, nodes, maxDepth, len(keys), g.DataCID, g.MSTNodeCount, g.MSTDepth, g.RecordCount)
			}
			for i := range keys {
				if keys[i] != g.Records[i].Path {
					t.Fatalf("record %d is %s, reference %s", i, keys[i], g.Records[i].Path)
				}
			}
		})
	}
}

// A tree that is not a tree (a node reached twice, a link to a block that
// is not a node, a missing block) is an error, not a hang or a panic.
func TestRenderRejectsBrokenTrees(t *testing.T) {
	leaf := &mst.NodeData{Entries: []mst.EntryData{{Suffix: []byte("a/b"), Value: someCID("rec")}}}
	leafBytes := mst.EncodeNode(leaf)
	leafCID := nodeCID(leafBytes)
	record := []byte{0xa0} // an empty map: not a node
	recordCID := nodeCID(record)
	loop := &mst.NodeData{Left: leafCID, Entries: []mst.EntryData{{Suffix: []byte("zz/z"), Value: someCID("x"), Right: leafCID}}}
	loopBytes := mst.EncodeNode(loop)
	notNode := &mst.NodeData{Left: recordCID}
	notNodeBytes := mst.EncodeNode(notNode)
	missing := &mst.NodeData{Left: someCID("gone")}
	missingBytes := mst.EncodeNode(missing)
	src := mst.MapSource{leafCID: leafBytes, recordCID: record, nodeCID(loopBytes): loopBytes, nodeCID(notNodeBytes): notNodeBytes, nodeCID(missingBytes): missingBytes}
	cases := []struct {
		name string
		root cid.Cid
		want error
	}{
		{"node reached twice", nodeCID(loopBytes), diff.ErrBadTree},
		{"link to a block that is not a node", nodeCID(notNodeBytes), mst.ErrNotANode},
		{"link to a missing block", nodeCID(missingBytes), mst.ErrMissingBlock},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var buf bytes.Buffer
			_, err := Text(&buf, NewBrowser(src, c.root), RenderOptions{})
			if !errors.Is(err, c.want) {
				t.Fatalf("Text: %v, want %v", err, c.want)
			}
			if _, err := DOT(&buf, NewBrowser(src, c.root), RenderOptions{}); !errors.Is(err, c.want) {
				t.Fatalf("DOT: %v, want %v", err, c.want)
			}
		})
	}
}

// A non-canonical tree (the reference's flat 20-record node, whose keys
// have different heights) is drawn as it is, with each misplaced key
// flagged: one node, all 20 records.
func TestTextFlagsKeysOnTheWrongLayer(t *testing.T) {
	g, a := loadGolden(t, "noncanonical-flat")
	var buf bytes.Buffer
	s, err := Text(&buf, NewBrowser(a, a.Data), RenderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Nodes != g.MSTNodeCount || s.Records != g.RecordCount {
		t.Fatalf("%d nodes, %d records; reference %d, %d", s.Nodes, s.Records, g.MSTNodeCount, g.RecordCount)
	}
	root, err := NewBrowser(a, a.Data).Node(a.Data)
	if err != nil {
		t.Fatal(err)
	}
	wrong := 0
	for _, e := range root.Entries {
		if mst.Height([]byte(e.Key)) != root.Layer {
			wrong++
		}
	}
	if wrong == 0 {
		t.Fatal("fixture has no misplaced key")
	}
	if got := strings.Count(buf.String(), "not this node's layer"); got != wrong {
		t.Errorf("%d keys flagged, %d are on the wrong layer", got, wrong)
	}
}
