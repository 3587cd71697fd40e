package diff

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/ipfs/go-cid"

	"github.com/arbor-atproto/arbor/dagcbor"
	"github.com/arbor-atproto/arbor/mst"
)

// node is one decoded MST node with full keys. Links are CIDs in binary
// form (nil when null) held in the loader's arena, so that decoding a node
// makes no cid.Cid: the walk compares links as bytes and makes a cid.Cid
// only of what it reports.
type node struct {
	cid   cid.Cid
	layer int
	left  []byte
	ents  []entry
}

type entry struct {
	key   []byte // full key; keys strictly increase
	val   []byte // record CID
	right []byte // subtree right of the entry; nil when null
}

// gap returns the subtree link in gap i (0: left of every entry).
func (n *node) gap(i int) []byte {
	if i == 0 {
		return n.left
	}
	return n.ents[i-1].right
}

// search returns the index of the first key >= key and whether it equals key.
func (n *node) search(key []byte) (int, bool) {
	lo, hi := 0, len(n.ents)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if bytes.Compare(n.ents[m].key, key) < 0 {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo, lo < len(n.ents) && bytes.Equal(n.ents[lo].key, key)
}

// mustCID makes a cid.Cid of a link the node decoder checked.
func mustCID(b []byte) cid.Cid {
	c, err := cid.Cast(b)
	if err != nil { // not reached: mst.DecodeNodeRaw checks links as Cast does
		return cid.Undef
	}
	return c
}

// loader reads and decodes nodes of one tree, once each.
type loader struct {
	side  string
	src   mst.BlockSource
	cache map[string]*node // by the CID's binary form
	reads int              // nodes fetched from src
	raw   mst.RawNode      // reused by every decode
	arena []byte           // where node bytes and full keys are copied
}

func newLoader(side string, src mst.BlockSource) *loader {
	return &loader{side: side, src: src, cache: make(map[string]*node)}
}

func (l *loader) fail(c cid.Cid, key []byte, err error) error {
	return &TreeError{Side: l.side, CID: c, Key: string(key), Err: err}
}

// keep copies b into the arena: the walk keeps slices of node blocks (and
// builds keys) without relying on how long the source's bytes live, and
// without an allocation per node.
func (l *loader) keep(b []byte) []byte {
	if len(b) > cap(l.arena)-len(l.arena) {
		l.arena = make([]byte, 0, max(64<<10, len(b)))
	}
	start := len(l.arena)
	l.arena = append(l.arena, b...)
	return l.arena[start:len(l.arena):len(l.arena)]
}

// loadCID is load for a cid.Cid.
func (l *loader) loadCID(c cid.Cid, layer int) (*node, error) {
	if n, ok := l.cache[c.KeyString()]; ok {
		return l.checkLayer(n, layer)
	}
	return l.read(c, layer)
}

// load returns the node whose CID is link (binary form), which must be on
// layer (layer < 0: a root, whose layer comes from its entries).
func (l *loader) load(link []byte, layer int) (*node, error) {
	if n, ok := l.cache[string(link)]; ok {
		return l.checkLayer(n, layer)
	}
	c, err := cid.Cast(link)
	if err != nil {
		return nil, fmt.Errorf("%s tree: %w: link %x: %w", l.side, ErrBadTree, link, err)
	}
	return l.read(c, layer)
}

func (l *loader) checkLayer(n *node, layer int) (*node, error) {
	if layer >= 0 && n.layer != layer {
		return nil, l.fail(n.cid, nil, fmt.Errorf("%w: node on layer %d linked from layer %d", ErrBadTree, n.layer, layer+1))
	}
	return n, nil
}

// read fetches, checks and decodes node c.
func (l *loader) read(c cid.Cid, layer int) (*node, error) {
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
	b = l.keep(b)
	if err := mst.DecodeNodeRaw(b, &l.raw); err != nil {
		return nil, l.fail(c, nil, err)
	}
	ents := l.raw.Entries
	n := &node{cid: c, layer: layer, left: l.raw.Left, ents: make([]entry, len(ents))}
	size := 0
	for _, e := range ents {
		size += e.Prefix + len(e.Suffix)
	}
	if size > cap(l.arena)-len(l.arena) {
		l.arena = make([]byte, 0, max(64<<10, size))
	}
	var prev []byte
	for i, e := range ents {
		if e.Prefix > len(prev) {
			return nil, l.fail(c, nil, fmt.Errorf("%w: prefix %d longer than the previous key", ErrBadTree, e.Prefix))
		}
		start := len(l.arena)
		l.arena = append(append(l.arena, prev[:e.Prefix]...), e.Suffix...)
		key := l.arena[start:len(l.arena):len(l.arena)]
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
		n.ents[i] = entry{key: key, val: e.Value, right: e.Right}
		prev = key
	}
	if len(ents) == 0 {
		switch {
		case layer < 0 && n.left != nil:
			return nil, l.fail(c, nil, fmt.Errorf("%w: %w: root has no entries, only a subtree", ErrBadTree, mst.ErrEmptyNode))
		case layer >= 0 && n.left == nil:
			return nil, l.fail(c, nil, fmt.Errorf("%w: %w: node has no entries and no subtree", ErrBadTree, mst.ErrEmptyNode))
		case layer < 0:
			n.layer = 0
		}
	}
	if n.layer == 0 {
		for i := 0; i <= len(n.ents); i++ {
			if n.gap(i) != nil {
				return nil, l.fail(c, nil, fmt.Errorf("%w: %w: subtree link below layer 0", ErrBadTree, mst.ErrWrongLayer))
			}
		}
	}
	l.cache[c.KeyString()] = n
	return n, nil
}
