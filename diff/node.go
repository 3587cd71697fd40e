package diff

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/ipfs/go-cid"

	"github.com/arbor-atproto/arbor/dagcbor"
	"github.com/arbor-atproto/arbor/mst"
)

// Nodes are mst.Node views: full keys, links in binary form (nil when
// null), held in the loader's mst.NodeReader, so that decoding a node makes
// no cid.Cid: the walk compares links as bytes and makes a cid.Cid only of
// what it reports. The loader sets the layer of every node it hands out,
// entry-less ones included.

// loader reads and decodes nodes of one tree, once each. It is the
// mst.NodeSource of the proof searches.
type loader struct {
	side  string
	src   mst.BlockSource
	cache map[string]*mst.Node // by the CID's binary form
	reads int                  // nodes fetched from src
	r     mst.NodeReader
}

func newLoader(side string, src mst.BlockSource) *loader {
	return &loader{side: side, src: src, cache: make(map[string]*mst.Node)}
}

func (l *loader) fail(c cid.Cid, key []byte, err error) error {
	return &TreeError{Side: l.side, CID: c, Key: string(key), Err: err}
}

// loadCID is load for a cid.Cid.
func (l *loader) loadCID(c cid.Cid, layer int) (*mst.Node, error) {
	if n, ok := l.cache[c.KeyString()]; ok {
		return l.checkLayer(n, layer)
	}
	return l.read(c, layer)
}

// Node is load (mst.NodeSource).
func (l *loader) Node(link []byte, layer int) (*mst.Node, error) { return l.load(link, layer) }

// load returns the node whose CID is link (binary form), which must be on
// layer (layer < 0: a root, whose layer comes from its entries).
func (l *loader) load(link []byte, layer int) (*mst.Node, error) {
	if n, ok := l.cache[string(link)]; ok {
		return l.checkLayer(n, layer)
	}
	c, err := cid.Cast(link)
	if err != nil {
		return nil, fmt.Errorf("%s tree: %w: link %x: %w", l.side, ErrBadTree, link, err)
	}
	return l.read(c, layer)
}

func (l *loader) checkLayer(n *mst.Node, layer int) (*mst.Node, error) {
	if layer >= 0 && n.Layer != layer {
		return nil, l.fail(n.CID, nil, fmt.Errorf("%w: node on layer %d linked from layer %d", ErrBadTree, n.Layer, layer+1))
	}
	return n, nil
}

// read fetches, checks and decodes node c.
func (l *loader) read(c cid.Cid, layer int) (*mst.Node, error) {
	if c.Type() != dagcbor.CodecDagCBOR {
		return nil, l.fail(c, nil, fmt.Errorf("%w: link codec 0x%x is not dag-cbor", mst.ErrNotANode, c.Type()))
	}
	n, derr, err := l.r.Read(l.src, c)
	if err != nil {
		if errors.Is(err, mst.ErrMissingBlock) {
			return nil, l.fail(c, nil, err)
		}
		return nil, fmt.Errorf("%s tree: reading node %s: %w", l.side, c, err)
	}
	l.reads++
	if derr != nil {
		return nil, l.fail(c, nil, derr)
	}
	if len(n.Entries) > 0 && layer >= 0 && n.Layer != layer {
		// Worded as for any other key of the node.
		return nil, l.fail(c, n.Entries[0].Key, fmt.Errorf("%w: %w: key height %d on layer %d", ErrBadTree, mst.ErrWrongLayer, n.Layer, layer))
	}
	for i := 1; i < len(n.Entries); i++ {
		prev, key := n.Entries[i-1].Key, n.Entries[i].Key
		if bytes.Compare(prev, key) >= 0 {
			return nil, l.fail(c, key, fmt.Errorf("%w: %w after %q", ErrBadTree, mst.ErrUnsorted, prev))
		}
		if h := mst.Height(key); h != n.Layer {
			return nil, l.fail(c, key, fmt.Errorf("%w: %w: key height %d on layer %d", ErrBadTree, mst.ErrWrongLayer, h, n.Layer))
		}
	}
	if len(n.Entries) == 0 {
		switch {
		case layer < 0 && n.Left != nil:
			return nil, l.fail(c, nil, fmt.Errorf("%w: %w: root has no entries, only a subtree", ErrBadTree, mst.ErrEmptyNode))
		case layer >= 0 && n.Left == nil:
			return nil, l.fail(c, nil, fmt.Errorf("%w: %w: node has no entries and no subtree", ErrBadTree, mst.ErrEmptyNode))
		case layer < 0:
			n.Layer = 0
		default:
			n.Layer = layer
		}
	}
	if n.Layer == 0 {
		for i := 0; i <= len(n.Entries); i++ {
			if n.Gap(i) != nil {
				return nil, l.fail(c, nil, fmt.Errorf("%w: %w: subtree link below layer 0", ErrBadTree, mst.ErrWrongLayer))
			}
		}
	}
	l.cache[c.KeyString()] = n
	return n, nil
}
