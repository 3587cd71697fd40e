package mst

import "encoding/binary"

// The compact form of a node, for a store that keeps a table of its blocks
// (the archive reader with compact nodes) and serves them back as a
// RawNodeSource. An MST node is mostly links, 41 bytes each in DAG-CBOR,
// whose digests such a table holds anyway; the compact form replaces each
// link by a reference into the table:
//
//	uvarint(entries) ref(left)
//	entries × { uvarint(prefix) uvarint(len(suffix)) suffix ref(value) ref(right) }
//
// where ref is a uvarint: 0 for null, else a number the store chooses (its
// table index plus one, say). The store never reads the layout itself:
// AppendCompact writes it, DecodeCompact turns it back into a RawNode (and
// EncodeNodeRaw into the exact bytes), WalkCompact gives its full keys.
// The form is trusted: it is the store's own output, never input.

// AppendCompact appends the compact form of n to b. ref gives the
// reference of a non-null link (never 0).
func AppendCompact(b []byte, n *RawNode, ref func(link []byte) uint64) []byte {
	appendRef := func(b, link []byte) []byte {
		if link == nil {
			return append(b, 0)
		}
		return binary.AppendUvarint(b, ref(link))
	}
	b = binary.AppendUvarint(b, uint64(len(n.Entries)))
	b = appendRef(b, n.Left)
	for i := range n.Entries {
		e := &n.Entries[i]
		b = binary.AppendUvarint(b, uint64(e.Prefix))
		b = binary.AppendUvarint(b, uint64(len(e.Suffix)))
		b = append(b, e.Suffix...)
		b = appendRef(b, e.Value)
		b = appendRef(b, e.Right)
	}
	return b
}

// compactReader reads the compact form.
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

// DecodeCompact fills n (reusing its capacity) from the compact form cb.
// link appends the binary form of the link ref names (never 0) to buf and
// returns the longer buf; value says whether the link is an entry's value.
// The links of n are appended to links, or to a new buffer when it has
// too little room left, and DecodeCompact returns that buffer, so a walk
// that passes each call's result to the next allocates a buffer per many
// nodes rather than per node. The links stay valid whatever happens to n
// later, since nothing is written below a buffer's length (pass nil, or
// the last result, never a buffer cut back); the suffixes alias cb.
func DecodeCompact(cb []byte, n *RawNode, links []byte, link func(buf []byte, ref uint64, value bool) []byte) []byte {
	r := compactReader{b: cb}
	cnt := int(r.uvarint())
	buf := links
	if need := (1 + 2*cnt) * 36; cap(buf)-len(buf) < need { // 36: an atproto CID
		buf = make([]byte, 0, max(need, linkSlab))
	}
	get := func(ref uint64, value bool) []byte {
		if ref == 0 {
			return nil
		}
		start := len(buf)
		buf = link(buf, ref, value)
		return buf[start:len(buf):len(buf)]
	}
	n.Left = get(r.uvarint(), false)
	n.Entries = n.Entries[:0]
	for range cnt {
		var e RawEntry
		e.Prefix = int(r.uvarint())
		e.Suffix = r.bytes(int(r.uvarint()))
		e.Value = get(r.uvarint(), true)
		e.Right = get(r.uvarint(), false)
		n.Entries = append(n.Entries, e)
	}
	return buf
}

// linkSlab is the least DecodeCompact allocates for links at a time.
const linkSlab = 16 << 10

// WalkCompact reads the compact form cb without making links: it returns
// the left link's reference and calls fn with every entry's full key and
// the references of its value and right link, in order. The keys are
// built in key (from key[:0]), which is returned for reuse; each is valid
// only during its call.
func WalkCompact(cb, key []byte, fn func(key []byte, val, right uint64)) (left uint64, keyBuf []byte) {
	r := compactReader{b: cb}
	cnt := int(r.uvarint())
	left = r.uvarint()
	key = key[:0]
	for range cnt {
		p := int(r.uvarint())
		key = append(key[:p], r.bytes(int(r.uvarint()))...)
		val := r.uvarint()
		fn(key, val, r.uvarint())
	}
	return left, key
}
