package view

import (
	"errors"
	"fmt"
	"sync"

	"github.com/ipfs/go-cid"

	"github.com/arbor-atproto/arbor/diff"
	"github.com/arbor-atproto/arbor/mst"
)

// Errors about a tree that cannot be drawn (a node that is not an MST node,
// a node reached twice, or links nested deeper than any key's layer allows)
// wrap diff.ErrBadTree, the one sentinel for a malformed MST met on a walk.

// maxLayer bounds how far link chains are followed: no valid tree nests
// links deeper than its root's layer, at most mst.MaxLayer (so at most
// mst.MaxDepth levels of nodes).
const maxLayer = mst.MaxLayer

// cacheSize bounds the decoded nodes a Browser keeps; past it the cache starts
// afresh.
const cacheSize = 1 << 14

// Entry is one entry of a node with its full key.
type Entry struct {
	Key   string
	Value cid.Cid // record CID
	Right cid.Cid // subtree after this entry; cid.Undef when none
}

// Node is one MST node as it is drawn, made from mst's decoded view of it
// (mst.Node): keys as strings, links as CIDs, and the layer of an
// entry-less node found from below it.
type Node struct {
	CID     cid.Cid
	Layer   int
	Left    cid.Cid // subtree before the first entry; cid.Undef when none
	Entries []Entry

	node *mst.Node // what it is made from; searched by key
}

// child returns the subtree link at position i: 0 is Left, i>0 the Right
// of entry i-1.
func (n *Node) child(i int) cid.Cid {
	if i == 0 {
		return n.Left
	}
	return n.Entries[i-1].Right
}

// Browser reads the nodes of one MST from a block source, decoding each on
// demand and keeping a bounded cache. It is safe for concurrent use.
type Browser struct {
	src  mst.BlockSource
	root cid.Cid

	mu      sync.Mutex
	cache   map[string]*Node // keyed by the CID's binary form (KeyString)
	readers sync.Pool        // of *mst.NodeReader: each decodes into its own buffers
}

// NewBrowser returns a Browser over the MST rooted at root.
func NewBrowser(src mst.BlockSource, root cid.Cid) *Browser {
	return &Browser{src: src, root: root, cache: make(map[string]*Node)}
}

// Root is the CID of the root node.
func (t *Browser) Root() cid.Cid { return t.root }

// Node returns the decoded node c. An entry-less node's layer is found by
// following its left links down to a node with entries.
func (t *Browser) Node(c cid.Cid) (*Node, error) {
	n, err := t.decode(c)
	if err != nil {
		return nil, err
	}
	if len(n.Entries) > 0 || !n.Left.Defined() || n.Layer > 0 {
		return n, nil
	}
	cur, steps := n, 0
	for len(cur.Entries) == 0 && cur.Left.Defined() {
		steps++
		if steps > maxLayer {
			return nil, fmt.Errorf("node %s: %w: chain of entry-less nodes deeper than any layer", c, diff.ErrBadTree)
		}
		if cur, err = t.decode(cur.Left); err != nil {
			return nil, err
		}
	}
	layer := cur.Layer + steps
	t.mu.Lock()
	n = &Node{CID: n.CID, Layer: layer, Left: n.Left, Entries: n.Entries, node: n.node}
	t.cache[c.KeyString()] = n
	t.mu.Unlock()
	return n, nil
}

// decode reads and decodes one node; Layer is set from the first entry
// (0 for an entry-less node).
func (t *Browser) decode(c cid.Cid) (*Node, error) {
	t.mu.Lock()
	n, ok := t.cache[c.KeyString()]
	t.mu.Unlock()
	if ok {
		return n, nil
	}
	r, _ := t.readers.Get().(*mst.NodeReader)
	if r == nil {
		r = new(mst.NodeReader)
	}
	v, derr, err := r.Read(t.src, c)
	t.readers.Put(r)
	if err == nil {
		err = derr
	}
	if err != nil {
		return nil, fmt.Errorf("node %s: %w", c, err)
	}
	n = &Node{CID: c, Left: v.LeftCID(), Entries: make([]Entry, len(v.Entries)), node: v}
	for i := range v.Entries {
		e := &v.Entries[i]
		n.Entries[i] = Entry{Key: string(e.Key), Value: e.ValueCID(), Right: e.RightCID()}
	}
	n.Layer = max(v.Layer, 0)
	t.mu.Lock()
	if len(t.cache) >= cacheSize {
		clear(t.cache)
	}
	t.cache[c.KeyString()] = n
	t.mu.Unlock()
	return n, nil
}

// KeyRange returns the first and last key stored under node c; both are ""
// for an empty subtree.
func (t *Browser) KeyRange(c cid.Cid) (first, last string, err error) {
	first, err = t.edge(c, false)
	if err != nil {
		return "", "", err
	}
	last, err = t.edge(c, true)
	return first, last, err
}

// edge follows the leftmost (or rightmost) links down to the smallest (or
// largest) key.
func (t *Browser) edge(c cid.Cid, right bool) (string, error) {
	best := ""
	for steps := 0; c.Defined(); steps++ {
		if steps > maxLayer {
			return "", fmt.Errorf("node %s: %w: links nested deeper than any layer", c, diff.ErrBadTree)
		}
		n, err := t.decode(c)
		if err != nil {
			return "", err
		}
		if !right {
			if len(n.Entries) > 0 {
				best = n.Entries[0].Key
			}
			c = n.Left
			continue
		}
		if len(n.Entries) == 0 {
			c = n.Left
			continue
		}
		best = n.Entries[len(n.Entries)-1].Key
		c = n.Entries[len(n.Entries)-1].Right
	}
	return best, nil
}

// position returns how many entries of n sort before key, and whether the
// entry at that position is key itself.
func position(n *Node, key string) (int, bool) { return n.node.Search([]byte(key)) }

// Path returns the nodes on key's search path, from the root down to the
// node holding key (found) or to the last node where it would be
// (mst.PathToGap).
func (t *Browser) Path(key string) (nodes []*Node, found bool, err error) {
	if !t.root.Defined() {
		return nil, false, nil
	}
	ps := &pathSource{t: t, nodes: make([]*Node, 0, 8)}
	_, found, err = mst.SearchPath(ps, t.root, []byte(key), mst.PathToGap)
	var p mst.Problem
	if errors.As(err, &p) && errors.Is(err, mst.ErrWrongLayer) {
		// Only the search itself says so: Node's errors are worded here.
		return nil, false, fmt.Errorf("node %s: %w: links nested deeper than any layer", p.CID, diff.ErrBadTree)
	}
	if err != nil {
		return nil, false, err
	}
	return ps.nodes, found, nil
}

// childByLink returns the subtree link of n whose binary form is link:
// the CID the drawn node already holds, rather than a new one.
func childByLink(n *Node, link []byte) cid.Cid {
	for i := 0; i <= len(n.Entries); i++ {
		if c := n.child(i); c.Defined() && c.KeyString() == string(link) {
			return c
		}
	}
	return mst.LinkCID(link)
}

// pathSource gives a search the nodes of t, noting them as drawn.
type pathSource struct {
	t     *Browser
	nodes []*Node
}

func (s *pathSource) Node(link []byte, _ int) (*mst.Node, error) {
	if n := s.t.cached(link); n != nil {
		s.nodes = append(s.nodes, n)
		return n.node, nil
	}
	c := s.t.root
	if len(s.nodes) > 0 {
		c = childByLink(s.nodes[len(s.nodes)-1], link)
	}
	n, err := s.t.Node(c)
	if err != nil {
		return nil, err
	}
	s.nodes = append(s.nodes, n)
	return n.node, nil
}

// cached returns the node whose CID's binary form is link if it is in the
// cache as Node would return it (an entry-less node with a left link only
// once Node has found its layer), or nil. The look-up does not allocate.
func (t *Browser) cached(link []byte) *Node {
	t.mu.Lock()
	n := t.cache[string(link)]
	t.mu.Unlock()
	if n == nil || (len(n.Entries) == 0 && n.Left.Defined() && n.Layer <= 0) {
		return nil
	}
	return n
}

// Get returns the value stored under key.
func (t *Browser) Get(key string) (cid.Cid, bool, error) {
	nodes, found, err := t.Path(key)
	if err != nil || !found {
		return cid.Undef, false, err
	}
	n := nodes[len(nodes)-1]
	i, _ := position(n, key)
	return n.Entries[i].Value, true, nil
}

// Seek calls fn for every key >= from (all keys when from is ""), in key
// order, until fn returns false. It reads O(depth + keys visited) nodes,
// each once: a node reached twice (a subtree linked from two places, which
// would make the walk exponential in the depth) is an error wrapping
// diff.ErrBadTree.
func (t *Browser) Seek(from string, fn func(key string, val cid.Cid) bool) error {
	_, err := t.seek(t.root, from, fn, 0, make(map[cid.Cid]struct{}))
	return err
}

func (t *Browser) seek(c cid.Cid, from string, fn func(string, cid.Cid) bool, depth int, seen map[cid.Cid]struct{}) (bool, error) {
	if !c.Defined() {
		return true, nil
	}
	if depth > maxLayer {
		return false, fmt.Errorf("node %s: %w: links nested deeper than any layer", c, diff.ErrBadTree)
	}
	if _, dup := seen[c]; dup {
		return false, fmt.Errorf("node %s: %w: reached twice", c, diff.ErrBadTree)
	}
	seen[c] = struct{}{}
	n, err := t.decode(c)
	if err != nil {
		return false, err
	}
	start, _ := position(n, from)
	// The subtree before entry `start` may still hold keys >= from.
	more, err := t.seek(n.child(start), from, fn, depth+1, seen)
	if err != nil || !more {
		return more, err
	}
	for i := start; i < len(n.Entries); i++ {
		e := n.Entries[i]
		if !fn(e.Key, e.Value) {
			return false, nil
		}
		if more, err = t.seek(e.Right, "", fn, depth+1, seen); err != nil || !more {
			return more, err
		}
	}
	return true, nil
}

func heightOf(key string) int { return mst.Height([]byte(key)) }
