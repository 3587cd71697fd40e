package archive

import (
	"fmt"

	"github.com/ipfs/go-cid"

	"github.com/arbor-atproto/arbor/mst"
)

// Compact nodes (loadOptions.CompactNodes). An MST node is mostly links:
// every entry holds its record's CID and maybe a subtree's, 41 bytes each
// in DAG-CBOR, and the archive's table of blocks holds those digests
// anyway. A node is kept instead in mst's compact form (mst.AppendCompact),
// whose references are 1 + the index of the linked block's table entry. A
// link to a block not read yet gets a placeholder entry (flagPlaceholder)
// that the block fills when it comes; one that never comes is a missing
// block. Only nodes that DecodeNodeRaw accepts and whose links are all
// atproto CIDs are compacted; any other node-shaped block is kept as bytes,
// so its faults are reported exactly as before. The archive serves compact
// nodes back as an mst.RawNodeSource (mst.DecodeCompact), and their exact
// bytes through mst.EncodeNodeRaw, which round-trips every node
// DecodeNodeRaw accepts.

// keepCompact keeps node block i (bytes data) in compact form; it reports
// false, having changed nothing, when the node cannot be compacted.
func (a *Archive) keepCompact(i int, data []byte) bool {
	n := &a.raw
	if !compactable(data, n) {
		return false
	}
	// Touch every link's table slot first, so that their cache misses
	// overlap (see blockStore.peekLink); AppendCompact then finds them near.
	st := &a.store
	sum := st.peekLink(n.Left)
	for _, e := range n.Entries {
		sum += st.peekLink(e.Value) + st.peekLink(e.Right)
	}
	st.sink += sum
	b := mst.AppendCompact(a.scratch[:0], n, a.linkRef)
	a.scratch = b
	a.store.keep(i, b)
	a.store.entry(i).flags |= flagCompact
	return true
}

// compactable decodes data into n and reports whether the node can be
// kept compact: DecodeNodeRaw accepts it and its links are all atproto
// CIDs.
func compactable(data []byte, n *mst.RawNode) bool {
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
	return true
}

// linkRef is the compact form's reference of a link (one linkDigest
// accepted): 1 + the index of its table entry.
func (a *Archive) linkRef(link []byte) uint64 {
	d, codec, _ := linkDigest(link)
	return uint64(a.store.ref(&d, codec)) + 1
}

// rawNode fills n from compact form cb, with the links rebuilt in one new
// buffer (so they stay valid whatever happens to n later).
func (a *Archive) rawNode(cb []byte, n *mst.RawNode) { a.rawNodeVals(cb, n, nil, nil) }

// rawNodeVals is rawNode, with the links appended to links as
// mst.DecodeCompact does (the buffer is returned for the next call);
// onValue, when not nil, is called with the table entry of every entry's
// value as it is rebuilt (the entry is at hand then: looking it up again
// later would cost a cache miss per record).
func (a *Archive) rawNodeVals(cb []byte, n *mst.RawNode, links []byte, onValue func(e *blockEntry, link []byte)) []byte {
	return mst.DecodeCompact(cb, n, links, func(buf []byte, ref uint64, value bool) []byte {
		e := a.store.entry(int(ref - 1))
		start := len(buf)
		buf = append(buf, 0x01, e.codec, 0x12, 0x20)
		buf = append(buf, e.digest[:]...)
		if value && onValue != nil {
			onValue(e, buf[start:len(buf):len(buf)])
		}
		return buf
	})
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
