package mst

import (
	"bytes"
	"fmt"

	"github.com/ipfs/go-cid"
)

// Node is one decoded MST node as the tree sees it: entries with their full
// keys (prefix compression undone), links in binary form (cid.Cid.Bytes,
// nil for null). It is the one decoded-node view for code outside this
// package; a NodeReader makes it. Nothing in a Node is checked beyond what
// DecodeNodeRaw checks: key validity, order and layers are the caller's
// rules (see Tree, Verify), because each caller words them its own way.
type Node struct {
	CID cid.Cid
	// Layer is the height of the first entry's key, -1 for a node with no
	// entries (its layer is known only from where it hangs).
	Layer   int
	Left    []byte // subtree before the first entry; nil when null
	Entries []Entry
}

// Entry is one entry of a Node.
type Entry struct {
	Key   []byte // full key
	Value []byte // record CID, binary form
	Right []byte // subtree between this entry and the next; nil when null
}

// Gap returns the subtree link in gap i: 0 is the left link, i > 0 the
// right link of entry i-1. nil when the gap is empty.
func (n *Node) Gap(i int) []byte {
	if i == 0 {
		return n.Left
	}
	return n.Entries[i-1].Right
}

// LeftCID is Left as a cid.Cid (cid.Undef when null).
func (n *Node) LeftCID() cid.Cid { return LinkCID(n.Left) }

// ValueCID is Value as a cid.Cid.
func (e *Entry) ValueCID() cid.Cid { return LinkCID(e.Value) }

// RightCID is Right as a cid.Cid (cid.Undef when null).
func (e *Entry) RightCID() cid.Cid { return LinkCID(e.Right) }

// LinkCID makes a cid.Cid of a link of a Node (cid.Undef for nil). The
// decoder checked every link as cid.Cast does, so it cannot fail.
func LinkCID(l []byte) cid.Cid {
	c, _ := castLink(l)
	return c
}

// arenaChunk is the largest size of the buffers a NodeReader copies keys
// and blocks into.
const arenaChunk = 64 << 10

// NodeReader decodes nodes into Nodes, rebuilding the full keys. The keys,
// links and entries of every Node it returns live in buffers it allocates
// in chunks (growing to 64 KiB) and never writes again, so a Node stays
// valid (and unchanged) as long as it is referenced, and decoding many
// nodes costs few allocations. The zero value is ready to use; a
// NodeReader is not safe for concurrent use.
type NodeReader struct {
	raw   RawNode
	arena []byte
	ents  []Entry
}

// Reset makes r reuse its buffers from the start: every Node it returned
// before becomes invalid. A depth-first walk that keeps only the path from
// the root can use one NodeReader per depth, reset before each read.
func (r *NodeReader) Reset() {
	r.arena, r.ents = r.arena[:0], r.ents[:0]
}

// alloc returns n bytes of fresh arena space, as an empty slice with
// capacity n.
func (r *NodeReader) alloc(n int) []byte {
	if n > cap(r.arena)-len(r.arena) {
		// Chunks double from 4 KiB up to arenaChunk, so that a reader
		// used for a few nodes (a search path) stays small.
		r.arena = make([]byte, 0, max(n, min(arenaChunk, max(4<<10, 2*cap(r.arena)))))
	}
	s := r.arena[len(r.arena) : len(r.arena) : len(r.arena)+n]
	r.arena = r.arena[:len(r.arena)+n]
	return s[:0]
}

// keep copies b into the arena.
func (r *NodeReader) keep(b []byte) []byte {
	s := append(r.alloc(len(b)), b...)
	return s[:len(s):len(s)]
}

func (r *NodeReader) entries(n int) []Entry {
	if n > cap(r.ents)-len(r.ents) {
		r.ents = make([]Entry, 0, max(n, min(1024, max(32, 2*cap(r.ents)))))
	}
	s := r.ents[len(r.ents) : len(r.ents)+n : len(r.ents)+n]
	r.ents = r.ents[:len(r.ents)+n]
	return s
}

// Decode decodes block b, the node c, with DecodeNodeRaw's checks and
// errors. b is copied: the Node does not alias it.
func (r *NodeReader) Decode(c cid.Cid, b []byte) (*Node, error) {
	if err := DecodeNodeRaw(r.keep(b), &r.raw); err != nil {
		return nil, err
	}
	return r.build(c)
}

// Read reads node c from src, as a RawNodeSource hands it over or else by
// decoding the bytes src.Get gives (see ReadRawNode). err is a failure of
// src (a missing block included); decodeErr says why the bytes src
// returned are not a node.
func (r *NodeReader) Read(src BlockSource, c cid.Cid) (n *Node, decodeErr, err error) {
	if rs, isRaw := src.(RawNodeSource); isRaw {
		ok, err := rs.GetRawNode(c, &r.raw)
		if err != nil {
			return nil, nil, err
		}
		if ok {
			n, derr := r.build(c)
			return n, derr, nil
		}
	}
	b, err := src.Get(c)
	if err != nil {
		return nil, nil, err
	}
	n, derr := r.Decode(c, b)
	return n, derr, nil
}

// build makes the Node of r.raw, whose links stay valid (they alias a
// copied block or a RawNodeSource's own buffer). A key longer than
// MaxKeyLen is refused (ErrBadKey) before any is built: prefixes may
// repeat a long key in every entry, which would make the keys of one block
// take memory quadratic in its size.
func (r *NodeReader) build(c cid.Cid) (*Node, error) {
	raw := &r.raw
	n := &Node{CID: c, Layer: -1, Left: raw.Left}
	if len(raw.Entries) == 0 {
		return n, nil
	}
	size, longest := keysSize(raw)
	if longest > MaxKeyLen {
		return nil, errLongKey
	}
	keys := r.alloc(size)
	n.Entries = r.entries(len(raw.Entries))
	var prev []byte
	for i := range raw.Entries {
		e := &raw.Entries[i]
		start := len(keys)
		keys = append(append(keys, prev[:e.Prefix]...), e.Suffix...)
		key := keys[start:len(keys):len(keys)]
		n.Entries[i] = Entry{Key: key, Value: e.Value, Right: e.Right}
		prev = key
	}
	n.Layer = Height(n.Entries[0].Key)
	return n, nil
}

// errLongKey is the fault of a node with a key longer than any valid key.
var errLongKey = fmt.Errorf("%w: entry key longer than %d bytes", ErrBadKey, MaxKeyLen)

// keysSize is the bytes the full keys of raw take, and the longest key.
func keysSize(raw *RawNode) (total, longest int) {
	for i := range raw.Entries {
		l := raw.Entries[i].Prefix + len(raw.Entries[i].Suffix)
		total += l
		longest = max(longest, l)
	}
	return total, longest
}

// Search returns the index of the first entry whose key is >= key, and
// whether that entry's key is key: the gap to go down into when it is not.
func (n *Node) Search(key []byte) (int, bool) {
	return searchKeys(len(n.Entries), key, func(i int) []byte { return n.Entries[i].Key })
}

// searchKeys is the one binary search over a node's sorted keys, for both
// node forms (Node and Tree's own): the position of key among the n keys
// keyAt gives, and whether it is there.
func searchKeys(n int, key []byte, keyAt func(i int) []byte) (int, bool) {
	lo, hi := 0, n
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if bytes.Compare(keyAt(m), key) < 0 {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo, lo < n && bytes.Equal(keyAt(lo), key)
}
