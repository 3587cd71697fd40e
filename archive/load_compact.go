package archive

import (
	"encoding/binary"
	"fmt"

	"github.com/ipfs/go-cid"

	"github.com/arbor-atproto/arbor/mst"
)

// Compact nodes (loadOptions.CompactNodes). An MST node is mostly links:
// every entry holds its record's CID and maybe a subtree's, 41 bytes each
// in DAG-CBOR, and the archive's table of blocks holds those digests
// anyway. A node is kept instead as
//
//	uvarint(entries) ref(left)
//	entries × { uvarint(prefix) uvarint(len(suffix)) suffix ref(value) ref(right) }
//
// where ref is a uvarint: 0 for null, else 1 + the index of the linked
// block's table entry. A link to a block not read yet gets a placeholder
// entry (flagPlaceholder) that the block fills when it comes; one that never
// comes is a missing block. Only nodes that DecodeNodeRaw accepts and whose
// links are all atproto CIDs are compacted; any other node-shaped block is
// kept as bytes, so its faults are reported exactly as before. The exact
// bytes come back through mst.EncodeNodeRaw, which round-trips every node
// DecodeNodeRaw accepts.

// keepCompact keeps node block i (bytes data) in compact form; it reports
// false, having changed nothing, when the node cannot be compacted.
func (a *Archive) keepCompact(i int, data []byte) bool {
	n := &a.raw
	if mst.DecodeNodeRaw(data, n) != nil {
		return false
	}
	ok := func(l []byte) bool {
		_, _, good := linkDigest(l)
		return l == nil || good
	}
	if !ok(n.Left) {
		return false
	}
	for _, e := range n.Entries {
		if e.Value == nil || !ok(e.Value) || !ok(e.Right) {
			return false
		}
	}
	b := binary.AppendUvarint(a.scratch[:0], uint64(len(n.Entries)))
	b = a.appendRef(b, n.Left)
	for _, e := range n.Entries {
		b = binary.AppendUvarint(b, uint64(e.Prefix))
		b = binary.AppendUvarint(b, uint64(len(e.Suffix)))
		b = append(b, e.Suffix...)
		b = a.appendRef(b, e.Value)
		b = a.appendRef(b, e.Right)
	}
	a.scratch = b
	a.store.keep(i, b)
	a.store.entry(i).flags |= flagCompact
	return true
}

func (a *Archive) appendRef(b, link []byte) []byte {
	if link == nil {
		return append(b, 0)
	}
	d, codec, _ := linkDigest(link)
	return binary.AppendUvarint(b, uint64(a.store.ref(&d, codec))+1)
}

// compactReader reads the compact form, which the archive wrote itself.
type compactReader struct {
	b   []byte
	off int
}

func (r *compactReader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b[r.off:])
	r.off += n
	return v
}

func (r *compactReader) bytes(n int) []byte {
	s := r.b[r.off : r.off+n : r.off+n]
	r.off += n
	return s
}

// compactEntry is one entry of a compact node; refs as in the format.
type compactEntry struct {
	prefix     int
	suffix     []byte
	val, right uint64
}

// next reads the next entry.
func (r *compactReader) next() compactEntry {
	var e compactEntry
	e.prefix = int(r.uvarint())
	e.suffix = r.bytes(int(r.uvarint()))
	e.val = r.uvarint()
	e.right = r.uvarint()
	return e
}

// rawNode fills n from compact form cb, with the links rebuilt in one new
// buffer (so they stay valid whatever happens to n later).
func (a *Archive) rawNode(cb []byte, n *mst.RawNode) { a.rawNodeVals(cb, n, nil) }

// rawNodeVals is rawNode; onValue, when not nil, is called with the table
// entry of every entry's value as it is rebuilt (the entry is at hand
// then: looking it up again later would cost a cache miss per record).
func (a *Archive) rawNodeVals(cb []byte, n *mst.RawNode, onValue func(e *blockEntry, link []byte)) {
	r := compactReader{b: cb}
	cnt := int(r.uvarint())
	buf := make([]byte, 0, (1+2*cnt)*36)
	link := func(ref uint64) []byte {
		if ref == 0 {
			return nil
		}
		e := a.store.entry(int(ref - 1))
		start := len(buf)
		buf = append(buf, 0x01, e.codec, 0x12, 0x20)
		buf = append(buf, e.digest[:]...)
		return buf[start:len(buf):len(buf)]
	}
	n.Left = link(r.uvarint())
	n.Entries = n.Entries[:0]
	for range cnt {
		e := r.next()
		val := link(e.val)
		if onValue != nil && e.val != 0 {
			onValue(a.store.entry(int(e.val-1)), val)
		}
		n.Entries = append(n.Entries, mst.RawEntry{Prefix: e.prefix, Suffix: e.suffix, Value: val, Right: link(e.right)})
	}
}

// GetRawNode gives node c in raw form (see mst.RawNodeSource): from its
// compact form when it is kept so; ok is false for a block kept as bytes
// (Get has it). Errors are Get's. It makes Archive an mst.RawNodeSource,
// so mst.Verify skips rebuilding and parsing bytes.
func (a *Archive) GetRawNode(c cid.Cid, n *mst.RawNode) (bool, error) {
	i := a.store.lookup(c)
	if i < 0 {
		return false, fmt.Errorf("block %s: %w", c, mst.ErrMissingBlock)
	}
	if err := a.badErr[i]; err != nil {
		return false, fmt.Errorf("block %s: %w: %w", c, mst.ErrBadBlock, err)
	}
	cb := a.store.compactBody(i)
	if cb == nil {
		return false, nil
	}
	a.rawNode(cb, n)
	return true, nil
}
