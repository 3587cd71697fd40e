package mst

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/arbor-atproto/arbor/dagcbor"
	"github.com/ipfs/go-cid"
)

// Tree is a persistent MST: Insert and Delete return a new Tree that shares
// every untouched node with the old one, which stays valid and unchanged.
// Node CIDs are computed on demand and cached. A Tree is safe for concurrent
// use by several goroutines.
//
// A Tree made by Load reads nodes lazily: only the root is decoded at once,
// and each subtree is fetched from the BlockSource (and then kept) the first
// time an operation walks into it. Errors of the source, or bad nodes, are
// therefore reported by the operation that first needs the node, as a
// Problem, and they stick: the node is not fetched again.
type Tree struct {
	root *node // never nil; the empty tree is a layer-0 node with no entries
}

// node is an immutable MST node in memory. A stub (lazy != nil) stands for
// a node known only by CID; resolve returns its loaded form.
type node struct {
	layer int
	left  *node
	ents  []entry
	lazy  *lazyNode
	cid   atomic.Pointer[cid.Cid]
}

type entry struct {
	key   []byte // full key
	val   cid.Cid
	right *node
}

type lazyNode struct {
	src  BlockSource
	once sync.Once
	n    *node
	err  error
}

func (n *node) empty() bool { return len(n.ents) == 0 && n.left == nil }

// resolve returns the loaded form of n (n itself unless it is a stub).
func (n *node) resolve() (*node, error) {
	if n.lazy == nil {
		return n, nil
	}
	l := n.lazy
	l.once.Do(func() {
		l.n, l.err = readTreeNode(l.src, *n.cid.Load(), n.layer, false)
		l.src = nil
	})
	return l.n, l.err
}

func stub(src BlockSource, c cid.Cid, layer int) *node {
	n := &node{layer: layer, lazy: &lazyNode{src: src}}
	n.cid.Store(&c)
	return n
}

// gap returns the subtree in gap i: left of entry i (i == 0: the node's left
// link), that is right of entry i-1.
func (n *node) gap(i int) *node {
	if i == 0 {
		return n.left
	}
	return n.ents[i-1].right
}

// setGap sets gap i of a node under construction.
func (n *node) setGap(i int, c *node) {
	if i == 0 {
		n.left = c
	} else {
		n.ents[i-1].right = c
	}
}

// search returns the index of the first entry whose key is >= key, and
// whether that entry's key equals key.
func (n *node) search(key []byte) (int, bool) {
	return searchKeys(len(n.ents), key, func(i int) []byte { return n.ents[i].key })
}

// clone returns a shallow copy of a loaded node with room for extra entries.
func (n *node) clone(extra int) *node {
	c := &node{layer: n.layer, left: n.left, ents: make([]entry, len(n.ents), len(n.ents)+extra)}
	copy(c.ents, n.ents)
	return c
}

// NewEmpty returns the empty tree.
func NewEmpty() *Tree { return &Tree{root: &node{}} }

// Load returns the tree rooted at root, reading nodes from src lazily (see
// Tree). The root node is read and checked at once.
func Load(src BlockSource, root cid.Cid) (*Tree, error) {
	n, err := readTreeNode(src, root, -1, true)
	if err != nil {
		return nil, err
	}
	return &Tree{root: n}, nil
}

// readTreeNode reads node c from src (see ReadRawNode) and decodes it with
// decodeTreeNode's checks.
func readTreeNode(src BlockSource, c cid.Cid, layer int, root bool) (*node, error) {
	var nd RawNode
	derr, err := ReadRawNode(src, c, &nd)
	if err != nil {
		if errors.Is(err, ErrMissingBlock) || errors.Is(err, ErrBadBlock) {
			return nil, Problem{CID: c, Err: err}
		}
		if root {
			return nil, fmt.Errorf("mst: reading root %s: %w", c, err)
		}
		return nil, fmt.Errorf("mst: reading node %s: %w", c, err)
	}
	return decodeTreeNode(src, c, &nd, derr, layer, root)
}

// decodeTreeNode checks one decoded node for a Tree (derr: why it did not
// decode) and builds it: strict encoding,
// valid keys sorted within the node, every key at the node's layer (layer <
// 0: taken from the first entry), no subtree below layer 0, no invalid empty
// node. Ordering across nodes is not checked here (Verify does that).
func decodeTreeNode(src BlockSource, c cid.Cid, nd *RawNode, derr error, layer int, root bool) (*node, error) {
	if c.Prefix().Codec != dagcbor.CodecDagCBOR {
		return nil, problem(c, nil, ErrNotANode, "codec 0x%x is not dag-cbor", c.Prefix().Codec)
	}
	if derr != nil {
		return nil, Problem{CID: c, Err: derr}
	}
	total := 0
	prevLen := 0
	for _, e := range nd.Entries {
		prevLen = e.Prefix + len(e.Suffix)
		if prevLen > MaxKeyLen {
			return nil, problem(c, nil, ErrBadKey, "entry key longer than %d bytes", MaxKeyLen)
		}
		total += prevLen
	}
	n := &node{layer: layer}
	n.cid.Store(&c)
	if len(nd.Entries) == 0 {
		if nd.Left != nil && root {
			return nil, problem(c, nil, ErrEmptyNode, "root has no entries, only a subtree")
		}
		if nd.Left == nil && !root {
			return nil, problem(c, nil, ErrEmptyNode, "node has no entries and no subtree")
		}
		if root {
			n.layer = 0
			return n, nil
		}
	}
	arena := make([]byte, 0, total)
	n.ents = make([]entry, len(nd.Entries))
	var prev []byte
	for i, e := range nd.Entries {
		start := len(arena)
		arena = append(arena, prev[:e.Prefix]...)
		arena = append(arena, e.Suffix...)
		key := arena[start:len(arena):len(arena)]
		if err := ValidateKey(key); err != nil {
			return nil, Problem{CID: c, Key: string(key), Err: err}
		}
		if i > 0 {
			if d := bytes.Compare(prev, key); d >= 0 {
				if d == 0 {
					return nil, problem(c, key, ErrDuplicateKey, "")
				}
				return nil, problem(c, key, ErrUnsorted, "after %q", prev)
			}
		}
		h := Height(key)
		if n.layer < 0 {
			n.layer = h
		}
		if h != n.layer {
			return nil, problem(c, key, ErrWrongLayer, "key height %d in a layer-%d node", h, n.layer)
		}
		val, err := castLink(e.Value)
		if err != nil {
			return nil, Problem{CID: c, Err: err}
		}
		n.ents[i] = entry{key: key, val: val}
		prev = key
	}
	if n.layer == 0 && (nd.Left != nil || anyRight(nd)) {
		return nil, problem(c, nil, ErrWrongLayer, "subtree link below layer 0")
	}
	link := func(l []byte) (*node, error) {
		c, err := castLink(l)
		if err != nil {
			return nil, Problem{CID: c, Err: err}
		}
		return stub(src, c, n.layer-1), nil
	}
	var err error
	if nd.Left != nil {
		if n.left, err = link(nd.Left); err != nil {
			return nil, err
		}
	}
	for i, e := range nd.Entries {
		if e.Right != nil {
			if n.ents[i].right, err = link(e.Right); err != nil {
				return nil, err
			}
		}
	}
	return n, nil
}

func anyRight(nd *RawNode) bool {
	for _, e := range nd.Entries {
		if e.Right != nil {
			return true
		}
	}
	return false
}

// Get returns the value stored under key, and whether it is present.
func (t *Tree) Get(key []byte) (cid.Cid, bool, error) {
	if err := ValidateKey(key); err != nil {
		return cid.Undef, false, err
	}
	h := Height(key)
	n := t.root
	for n != nil {
		var err error
		if n, err = n.resolve(); err != nil {
			return cid.Undef, false, err
		}
		if h > n.layer {
			break
		}
		i, found := n.search(key)
		if h == n.layer {
			if found {
				return n.ents[i].val, true, nil
			}
			break
		}
		n = n.gap(i)
	}
	return cid.Undef, false, nil
}

// Walk calls fn for every key and value, in key order. It stops at the first
// error, from fn or from loading a node, and returns it.
func (t *Tree) Walk(fn func(key []byte, val cid.Cid) error) error {
	return walk(t.root, inWalkOrder(fn))
}

// inWalkOrder wraps fn so that the walk fails unless keys strictly
// increase across the whole walk (decodeTreeNode only checks within one
// node): a subtree linked from two places repeats its keys, so a tree
// that is really a DAG is refused at its first repeat, in linear time,
// instead of being walked along every one of its (exponentially many)
// paths.
func inWalkOrder(fn func(key []byte, val cid.Cid) error) func(key []byte, val cid.Cid) error {
	var last []byte
	have := false
	return func(key []byte, val cid.Cid) error {
		if have {
			switch bytes.Compare(last, key) {
			case 0:
				return problem(cid.Undef, key, ErrDuplicateKey, "met twice in walk order (a subtree reached twice?)")
			case 1:
				return problem(cid.Undef, key, ErrUnsorted, "after %q in walk order", last)
			}
		}
		last, have = append(last[:0], key...), true
		return fn(key, val)
	}
}

// WalkSource calls fn with every leaf of the tree rooted at root, reading
// nodes from src, in key order: what Load followed by Tree.Walk does, with
// the same checks and errors, but holding only the nodes on the path from
// the root to the current one, so that one pass over a large tree does not
// build it in memory. Both fail at the first key not after the one before
// it in walk order (ErrUnsorted, ErrDuplicateKey), which also stops a tree
// whose subtrees are shared.
func WalkSource(src BlockSource, root cid.Cid, fn func(key []byte, val cid.Cid) error) error {
	return walkSource(src, root, -1, true, inWalkOrder(fn))
}

func walkSource(src BlockSource, c cid.Cid, layer int, root bool, fn func(key []byte, val cid.Cid) error) error {
	n, err := readTreeNode(src, c, layer, root)
	if err != nil {
		return err
	}
	sub := func(s *node) error {
		if s == nil {
			return nil
		}
		return walkSource(src, *s.cid.Load(), s.layer, false, fn)
	}
	if err := sub(n.left); err != nil {
		return err
	}
	for i := range n.ents {
		e := &n.ents[i]
		if err := fn(e.key, e.val); err != nil {
			return err
		}
		if err := sub(e.right); err != nil {
			return err
		}
	}
	return nil
}

func walk(n *node, fn func(key []byte, val cid.Cid) error) error {
	n, err := n.resolve()
	if err != nil {
		return err
	}
	if n.left != nil {
		if err := walk(n.left, fn); err != nil {
			return err
		}
	}
	for i := range n.ents {
		e := &n.ents[i]
		if err := fn(e.key, e.val); err != nil {
			return err
		}
		if e.right != nil {
			if err := walk(e.right, fn); err != nil {
				return err
			}
		}
	}
	return nil
}

// RootCID returns the CID of the root node, computing (and caching) the CIDs
// of changed nodes.
func (t *Tree) RootCID() (cid.Cid, error) {
	var w dagcbor.Writer
	return nodeCID(t.root, &w)
}

// nodeCID returns n's CID, computing it (and its children's) if needed. w is
// scratch space shared along the recursion.
func nodeCID(n *node, w *dagcbor.Writer) (cid.Cid, error) {
	if p := n.cid.Load(); p != nil {
		return *p, nil
	}
	// n is not a stub (stubs always know their CID).
	if n.left != nil {
		if _, err := nodeCID(n.left, w); err != nil {
			return cid.Undef, err
		}
	}
	for i := range n.ents {
		if r := n.ents[i].right; r != nil {
			if _, err := nodeCID(r, w); err != nil {
				return cid.Undef, err
			}
		}
	}
	w.Reset()
	encodeTreeNode(w, n)
	c := dagcbor.SumCID(dagcbor.CodecDagCBOR, w.Bytes())
	n.cid.Store(&c)
	return c, nil
}

// encodeTreeNode writes a loaded node whose children's CIDs are all known.
func encodeTreeNode(w *dagcbor.Writer, n *node) {
	w.WriteMapHeader(2)
	w.WriteString("e")
	w.WriteArrayHeader(len(n.ents))
	var prev []byte
	for i := range n.ents {
		e := &n.ents[i]
		p := commonPrefix(prev, e.key)
		right := cid.Undef
		if e.right != nil {
			right = *e.right.cid.Load()
		}
		writeEntry(w, e.key[p:], p, right.KeyString(), e.val.KeyString())
		prev = e.key
	}
	w.WriteString("l")
	if n.left != nil {
		w.WriteLink(*n.left.cid.Load())
	} else {
		w.WriteNull()
	}
}

// WriteBlocks calls fn with the CID and bytes of every node of the tree,
// children before parents, the root last. It loads every node of a lazily
// loaded tree. fn may keep data.
func (t *Tree) WriteBlocks(fn func(c cid.Cid, data []byte) error) error {
	var w dagcbor.Writer
	return writeBlocks(t.root, &w, fn)
}

func writeBlocks(n *node, w *dagcbor.Writer, fn func(c cid.Cid, data []byte) error) error {
	n, err := n.resolve()
	if err != nil {
		return err
	}
	if n.left != nil {
		if err := writeBlocks(n.left, w, fn); err != nil {
			return err
		}
	}
	for i := range n.ents {
		if r := n.ents[i].right; r != nil {
			if err := writeBlocks(r, w, fn); err != nil {
				return err
			}
		}
	}
	w.Reset()
	encodeTreeNode(w, n)
	data := bytes.Clone(w.Bytes())
	var c cid.Cid
	if p := n.cid.Load(); p != nil {
		c = *p
	} else {
		c = dagcbor.SumCID(dagcbor.CodecDagCBOR, data)
		n.cid.Store(&c)
	}
	return fn(c, data)
}
