package view

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/ipfs/go-cid"

	"github.com/arbor-atproto/arbor/diff"
)

// RenderOptions says how much of the tree to draw and how.
type RenderOptions struct {
	// Depth is the number of node levels drawn (the root is level 1); 0
	// draws all. The subtrees of the deepest drawn level are shown as one
	// line each, unread beyond their own node.
	Depth int
	// FullCID prints CIDs whole instead of shortened.
	FullCID bool
}

// Summary counts what a rendering drew.
type Summary struct {
	Nodes     int  // nodes drawn in full (not the tops of cut subtrees)
	Records   int  // entries drawn
	Depth     int  // node levels drawn
	Truncated bool // some subtree was cut by Depth
}

// ShortCID shortens a CID for display: the first 8 and last 6 characters.
func ShortCID(c cid.Cid) string {
	s := c.String()
	if len(s) <= 20 {
		return s
	}
	return s[:8] + "…" + s[len(s)-6:]
}

func (o RenderOptions) cid(c cid.Cid) string {
	if o.FullCID {
		return c.String()
	}
	return ShortCID(c)
}

// visitor receives the tree in order: a node opens (with its depth, 1 for
// the root), its left subtree, then each entry followed by its right
// subtree, then the node closes. A truncated node opens and closes with no
// children.
type visitor interface {
	open(n *Node, first, last string, depth int, truncated bool) error
	entry(n *Node, i int, depth int) error
	close(n *Node, depth int) error
}

// walk visits the tree under root depth first, stopping after opts.Depth
// levels. A node reached twice is an error wrapping diff.ErrBadTree.
func walk(t *Browser, opts RenderOptions, v visitor) (Summary, error) {
	var s Summary
	seen := make(map[cid.Cid]struct{})
	var rec func(c cid.Cid, depth int) error
	rec = func(c cid.Cid, depth int) error {
		if _, dup := seen[c]; dup {
			return fmt.Errorf("node %s: %w: reached twice", c, diff.ErrBadTree)
		}
		if depth > maxLayer+1 {
			return fmt.Errorf("node %s: %w: links nested deeper than any layer", c, diff.ErrBadTree)
		}
		seen[c] = struct{}{}
		n, err := t.Node(c)
		if err != nil {
			return err
		}
		first, last, err := t.KeyRange(c)
		if err != nil {
			return err
		}
		if opts.Depth > 0 && depth > opts.Depth {
			s.Truncated = true
			if err := v.open(n, first, last, depth, true); err != nil {
				return err
			}
			return v.close(n, depth)
		}
		s.Nodes++
		s.Depth = max(s.Depth, depth)
		if err := v.open(n, first, last, depth, false); err != nil {
			return err
		}
		if n.Left.Defined() {
			if err := rec(n.Left, depth+1); err != nil {
				return err
			}
		}
		for i, e := range n.Entries {
			s.Records++
			if err := v.entry(n, i, depth); err != nil {
				return err
			}
			if e.Right.Defined() {
				if err := rec(e.Right, depth+1); err != nil {
					return err
				}
			}
		}
		return v.close(n, depth)
	}
	err := rec(t.Root(), 1)
	return s, err
}

// Text writes the tree as indented text: one line per node (layer, CID,
// entry count, key range) and one per record (key and CID), records under
// the node that holds them, in key order. It ends with a summary line.
func Text(w io.Writer, t *Browser, opts RenderOptions) (Summary, error) {
	bw := bufio.NewWriter(w)
	tv := &textVisitor{w: bw, opts: opts}
	s, err := walk(t, opts, tv)
	if err != nil {
		return s, err
	}
	fmt.Fprintf(bw, "%s %s, %s %s, depth %d", thousands(s.Nodes), plural(s.Nodes, "node", "nodes"), thousands(s.Records), plural(s.Records, "record", "records"), s.Depth)
	if s.Truncated {
		fmt.Fprintf(bw, " (cut at --depth %d: deeper nodes not counted)", opts.Depth)
	}
	bw.WriteString("\n")
	return s, bw.Flush()
}

type textVisitor struct {
	w    *bufio.Writer
	opts RenderOptions
}

func (v *textVisitor) indent(depth int) {
	for i := 1; i < depth; i++ {
		v.w.WriteString("  ")
	}
}

func (v *textVisitor) open(n *Node, first, last string, depth int, truncated bool) error {
	v.indent(depth)
	fmt.Fprintf(v.w, "node L%d %s  %d %s", n.Layer, v.opts.cid(n.CID), len(n.Entries), plural(len(n.Entries), "entry", "entries"))
	switch {
	case first == "":
		v.w.WriteString("  (empty)")
	case first == last:
		fmt.Fprintf(v.w, "  [%s]", first)
	default:
		fmt.Fprintf(v.w, "  [%s .. %s]", first, last)
	}
	if truncated {
		v.w.WriteString("  (subtree not shown)")
	}
	_, err := v.w.WriteString("\n")
	return err
}

func (v *textVisitor) entry(n *Node, i int, depth int) error {
	v.indent(depth + 1)
	e := n.Entries[i]
	fmt.Fprintf(v.w, "%s  %s", e.Key, v.opts.cid(e.Value))
	if h := heightOf(e.Key); h != n.Layer {
		// Only in a non-canonical tree: say so rather than hide it.
		fmt.Fprintf(v.w, "  (key height %d, not this node's layer)", h)
	}
	_, err := v.w.WriteString("\n")
	return err
}

func (v *textVisitor) close(*Node, int) error { return nil }

// thousands writes n with thousands separators (1,000,000).
func thousands(n int) string {
	s := strconv.Itoa(n)
	start := 0
	if n < 0 {
		start = 1
	}
	var b []byte
	for i := range len(s) {
		if i > start && (len(s)-i)%3 == 0 {
			b = append(b, ',')
		}
		b = append(b, s[i])
	}
	return string(b)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// DOT writes the tree as a Graphviz digraph: a box per node (layer, entry
// count, CID, key range), a note per record, edges from each node to its
// subtrees and records in key order.
func DOT(w io.Writer, t *Browser, opts RenderOptions) (Summary, error) {
	bw := bufio.NewWriter(w)
	bw.WriteString("digraph mst {\n")
	bw.WriteString("  graph [rankdir=TB, ordering=out, fontname=\"Helvetica\", label=\"MST " + dotEscape(t.Root().String()) + "\", labelloc=t];\n")
	bw.WriteString("  node [fontname=\"Helvetica\", fontsize=10];\n")
	bw.WriteString("  edge [arrowsize=0.6];\n")
	dv := &dotVisitor{w: bw, opts: opts}
	s, err := walk(t, opts, dv)
	if err != nil {
		return s, err
	}
	bw.WriteString("}\n")
	return s, bw.Flush()
}

type dotVisitor struct {
	w       *bufio.Writer
	opts    RenderOptions
	parents []string // ids of the open nodes
	records int
}

func nodeID(c cid.Cid) string { return `"n_` + c.String() + `"` }

func (v *dotVisitor) open(n *Node, first, last string, depth int, truncated bool) error {
	id := nodeID(n.CID)
	label := fmt.Sprintf("L%d · %d %s\\n%s", n.Layer, len(n.Entries), plural(len(n.Entries), "entry", "entries"), dotEscape(v.opts.cid(n.CID)))
	switch {
	case first == "":
		label += "\\n(empty)"
	case first == last:
		label += "\\n" + dotEscape(first)
	default:
		label += "\\n" + dotEscape(first) + " ..\\n" + dotEscape(last)
	}
	style := `style="rounded,filled", fillcolor="#e8f0fe"`
	if truncated {
		label += "\\n(subtree not shown)"
		style = `style="rounded,dashed"`
	}
	fmt.Fprintf(v.w, "  %s [shape=box, %s, label=\"%s\"];\n", id, style, label)
	if len(v.parents) > 0 {
		fmt.Fprintf(v.w, "  %s -> %s;\n", v.parents[len(v.parents)-1], id)
	}
	v.parents = append(v.parents, id)
	return nil
}

func (v *dotVisitor) entry(n *Node, i int, depth int) error {
	e := n.Entries[i]
	id := fmt.Sprintf(`"r_%d"`, v.records)
	v.records++
	fmt.Fprintf(v.w, "  %s [shape=note, style=filled, fillcolor=\"#fff8e1\", label=\"%s\\n%s\"];\n", id, dotEscape(e.Key), dotEscape(v.opts.cid(e.Value)))
	_, err := fmt.Fprintf(v.w, "  %s -> %s [style=dashed];\n", v.parents[len(v.parents)-1], id)
	return err
}

func (v *dotVisitor) close(*Node, int) error {
	v.parents = v.parents[:len(v.parents)-1]
	return nil
}

// dotEscape escapes a string for a double-quoted DOT label.
func dotEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s)
}

// JSONNode is a node in the nested JSON form.
type JSONNode struct {
	CID        string      `json:"cid"`
	Layer      int         `json:"layer"`
	EntryCount int         `json:"entryCount"`
	FirstKey   string      `json:"firstKey,omitempty"`
	LastKey    string      `json:"lastKey,omitempty"`
	Truncated  bool        `json:"truncated,omitempty"` // below Depth: children not read
	Left       *JSONNode   `json:"left"`
	Entries    []JSONEntry `json:"entries"`
}

// Walk visits n and every node below it, depth first: node is called with
// each node and its depth (depth for n), entry with each entry in key order.
func (n *JSONNode) Walk(depth int, node func(n *JSONNode, depth int), entry func(e *JSONEntry)) {
	if n == nil {
		return
	}
	node(n, depth)
	n.Left.Walk(depth+1, node, entry)
	for i := range n.Entries {
		entry(&n.Entries[i])
		n.Entries[i].Right.Walk(depth+1, node, entry)
	}
}

// JSONEntry is one entry in the nested JSON form.
type JSONEntry struct {
	Key   string    `json:"key"`
	Value string    `json:"value"`
	Right *JSONNode `json:"right"`
}

// JSONTree is the whole nested JSON form: the document that JSON writes
// (and arbor mst --json), declared here as its schema.
type JSONTree struct {
	Root    string    `json:"root"`
	Nodes   int       `json:"nodes"`
	Records int       `json:"records"`
	Depth   int       `json:"depth"`
	Cut     bool      `json:"truncated"`
	Tree    *JSONNode `json:"tree"`
}
