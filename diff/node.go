package diff

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/ipfs/go-cid"

	"github.com/arbor-atproto/arbor/dagcbor"
	"github.com/arbor-atproto/arbor/mst"
)

// node is one decoded MST node with full keys.
type node struct {
	cid   cid.Cid
	layer int
	left  cid.Cid   // cid.Undef when null
	keys  [][]byte  // full keys, strictly increasing
	vals  []cid.Cid // record CIDs
	right []cid.Cid // subtree right of each entry; cid.Undef when null
}

// gap returns the subtree link in gap i (0: left of every entry).
func (n *node) gap(i int) cid.Cid {
	if i == 0 {
		return n.left
	}
	return n.right[i-1]
}

// search returns the index of the first key >= key and whether it equals key.
func (n *node) search(key []byte) (int, bool) {
	lo, hi := 0, len(n.keys)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if bytes.Compare(n.keys[m], key) < 0 {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo, lo < len(n.keys) && bytes.Equal(n.keys[lo], key)
}

// loader reads and decodes nodes of one tree, once each.
type loader struct {
	side  string
	src   mst.BlockSource
	cache map[cid.Cid]*node
	reads int // nodes fetched from src
}

func newLoader(side string, src mst.BlockSource) *loader {
	return &loader{side: side, src: src, cache: make(map[cid.Cid]*node)}
}

func (l *loader) fail(c cid.Cid, key []byte, err error) error {
	return &TreeError{Side: l.side, CID: c, Key: string(key), Err: err}
}

// load returns node c, which must be on layer (layer < 0: a root, whose
// layer comes from its entries).
func (l *loader) load(c cid.Cid, layer int) (*node, error) {
	if n, ok := l.cache[c]; ok {
		if layer >= 0 && n.layer != layer {
			return nil, l.fail(c, nil, fmt.Errorf("%w: node on layer %d linked from layer %d", ErrBadTree, n.layer, layer+1))
		}
		return n, nil
	}
	if c.Type() != dagcbor.CodecDagCBOR {
		return nil, l.fail(c, nil, fmt.Errorf("%w: link codec 0x%x is not dag-cbor", mst.ErrNotANode, c.Type()))
	}
	b, err := l.src.Get(c)
	if err != nil {
		if errors.Is(err, mst.ErrMissingBlock) {
			return nil, l.fail(c, nil, err)
		}
		return nil, fmt.Errorf("%s tree: reading node %s: %w", l.side, c, err)
	}
	l.reads++
	nd, err := mst.DecodeNode(b)
	if err != nil {
		return nil, l.fail(c, nil, err)
	}
	n := &node{cid: c, layer: layer, left: nd.Left}
	n.keys = make([][]byte, len(nd.Entries))
	n.vals = make([]cid.Cid, len(nd.Entries))
	n.right = make([]cid.Cid, len(nd.Entries))
	var prev []byte
	for i, e := range nd.Entries {
		if e.Prefix > len(prev) {
			return nil, l.fail(c, nil, fmt.Errorf("%w: prefix %d longer than the previous key", ErrBadTree, e.Prefix))
		}
		key := make([]byte, 0, e.Prefix+len(e.Suffix))
		key = append(append(key, prev[:e.Prefix]...), e.Suffix...)
		if i > 0 && bytes.Compare(prev, key) >= 0 {
			return nil, l.fail(c, key, fmt.Errorf("%w: %w after %q", ErrBadTree, mst.ErrUnsorted, prev))
		}
		h := mst.Height(key)
		if n.layer < 0 {
			n.layer = h
		}
		if h != n.layer {
			return nil, l.fail(c, key, fmt.Errorf("%w: %w: key height %d on layer %d", ErrBadTree, mst.ErrWrongLayer, h, n.layer))
		}
		n.keys[i], n.vals[i], n.right[i] = key, e.Value, e.Right
		prev = key
	}
	if len(nd.Entries) == 0 {
		switch {
		case layer < 0 && nd.Left.Defined():
			return nil, l.fail(c, nil, fmt.Errorf("%w: %w: root has no entries, only a subtree", ErrBadTree, mst.ErrEmptyNode))
		case layer >= 0 && !nd.Left.Defined():
			return nil, l.fail(c, nil, fmt.Errorf("%w: %w: node has no entries and no subtree", ErrBadTree, mst.ErrEmptyNode))
		case layer < 0:
			n.layer = 0
		}
	}
	if n.layer == 0 {
		for i := 0; i <= len(n.keys); i++ {
			if n.gap(i).Defined() {
				return nil, l.fail(c, nil, fmt.Errorf("%w: %w: subtree link below layer 0", ErrBadTree, mst.ErrWrongLayer))
			}
		}
	}
	l.cache[c] = n
	return n, nil
}
