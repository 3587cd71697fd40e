package mst

import (
	"fmt"

	"github.com/arbor-atproto/arbor/dagcbor"
	"github.com/ipfs/go-cid"
)

// NodeData is the wire form of one MST node: {"e": [entries], "l": link|null}.
type NodeData struct {
	Left    cid.Cid // subtree left of every entry; cid.Undef when null
	Entries []EntryData
}

// EntryData is one entry of a node: {"k", "p", "t", "v"}.
type EntryData struct {
	Prefix int     // bytes shared with the previous entry's full key in the node (0 for the first)
	Suffix []byte  // the rest of the key
	Value  cid.Cid // record CID
	Right  cid.Cid // subtree right of this entry; cid.Undef when null
}

// minEntryLen is the fewest bytes one encoded entry can take: map head,
// four one-letter keys, an empty byte string, a one-byte int, null, and the
// shortest link (tag 42, byte-string head, 0x00, a 2-byte CIDv1 prefix and
// an identity multihash of length 0).
const minEntryLen = 1 + 4*2 + 1 + 1 + 1 + 2 + 1 + 1 + 4

func notANode(off int, format string, args ...any) error {
	return fmt.Errorf("%w: at byte %d: %s", ErrNotANode, off, fmt.Sprintf(format, args...))
}

func wrapSyntax(err error) error {
	return fmt.Errorf("%w: %w", ErrNotANode, err)
}

// DecodeNode parses one MST node strictly: canonical DAG-CBOR, exactly the
// fields "e" and "l" at the top and "k", "p", "t", "v" in each entry, with
// the right types, and every prefix length at most the length of the previous
// entry's key (0 for the first). Errors wrap ErrNotANode (and, for encoding
// faults, the dagcbor sentinel too).
//
// DecodeNode does not check key validity, key order, layers or prefix
// minimality: those are properties of the tree (see Verify). Suffix slices
// alias b.
func DecodeNode(b []byte) (*NodeData, error) {
	nd := &NodeData{}
	if err := decodeNode(b, (*nodeSink)(nd)); err != nil {
		return nil, err
	}
	return nd, nil
}

// RawNode is a node as DecodeNodeRaw gives it: links in their binary form
// (cid.Cid.Bytes), nil for null, aliasing the block like the suffixes.
type RawNode struct {
	Left    []byte
	Entries []RawEntry
}

// RawEntry is one entry of a RawNode.
type RawEntry struct {
	Prefix int
	Suffix []byte
	Value  []byte
	Right  []byte // nil when null
}

// DecodeNodeRaw parses b into n with DecodeNode's checks and errors, but
// leaves the links as bytes, so that it allocates nothing beyond growing
// n.Entries (whose capacity it reuses): for walks that read many nodes and
// need few of their CIDs as cid.Cid values.
func DecodeNodeRaw(b []byte, n *RawNode) error {
	n.Left, n.Entries = nil, n.Entries[:0]
	if decodeNodeFast(b, n) {
		return nil
	}
	n.Left, n.Entries = nil, n.Entries[:0]
	return decodeNode(b, n)
}

// entrySink receives what decodeNode parses: the entry count, each entry,
// then the left link.
type entrySink interface {
	reserve(cnt, maxFit int)
	add(e RawEntry) error
	left(l []byte) error
}

// nodeSink fills a NodeData, making a cid.Cid of every link.
type nodeSink NodeData

func (s *nodeSink) reserve(cnt, maxFit int) {
	if cnt == 0 {
		s.Entries = []EntryData{}
		return
	}
	s.Entries = make([]EntryData, 0, min(cnt, maxFit))
}

func (s *nodeSink) add(e RawEntry) error {
	d := EntryData{Prefix: e.Prefix, Suffix: e.Suffix}
	var err error
	if d.Value, err = castLink(e.Value); err != nil {
		return err
	}
	if d.Right, err = castLink(e.Right); err != nil {
		return err
	}
	s.Entries = append(s.Entries, d)
	return nil
}

func (s *nodeSink) left(l []byte) (err error) {
	s.Left, err = castLink(l)
	return err
}

func (n *RawNode) reserve(cnt, maxFit int) {
	if cnt > cap(n.Entries) {
		n.Entries = make([]RawEntry, 0, min(cnt, maxFit))
	}
}

func (n *RawNode) add(e RawEntry) error {
	n.Entries = append(n.Entries, e)
	return nil
}

func (n *RawNode) left(l []byte) error {
	n.Left = l
	return nil
}

// castLink makes a cid.Cid of a link the reader checked (nil: cid.Undef).
func castLink(b []byte) (cid.Cid, error) {
	if b == nil {
		return cid.Undef, nil
	}
	c, err := cid.Cast(b)
	if err != nil { // not reached: the reader checks CIDs as Cast does
		return cid.Undef, wrapSyntax(err)
	}
	return c, nil
}

func decodeNode(b []byte, sink entrySink) error {
	r := dagcbor.NewReader(b)
	cnt, err := r.ReadMapHeader()
	if err != nil {
		return wrapSyntax(err)
	}
	if cnt != 2 {
		return notANode(0, "node map has %d fields, want 2 (e, l)", cnt)
	}
	k, err := r.ReadMapKey(nil)
	if err != nil {
		return wrapSyntax(err)
	}
	if string(k) != "e" {
		return notANode(r.Offset(), "unexpected node field %q (want e)", k)
	}
	cnt, err = r.ReadArrayHeader()
	if err != nil {
		return wrapSyntax(err)
	}
	sink.reserve(cnt, (len(b)-r.Offset())/minEntryLen+1)
	prevLen := 0
	for i := 0; i < cnt; i++ {
		e, err := decodeEntry(r, prevLen, i)
		if err != nil {
			return err
		}
		prevLen = e.Prefix + len(e.Suffix)
		if err := sink.add(e); err != nil {
			return err
		}
	}
	k2, err := r.ReadMapKey(k)
	if err != nil {
		return wrapSyntax(err)
	}
	if string(k2) != "l" {
		return notANode(r.Offset(), "unexpected node field %q (want l)", k2)
	}
	l, err := r.ReadNullableLinkBytes()
	if err != nil {
		return wrapSyntax(err)
	}
	if err := sink.left(l); err != nil {
		return err
	}
	if err := r.Done(); err != nil {
		return wrapSyntax(err)
	}
	return nil
}

var entryFields = [4]string{"k", "p", "t", "v"}

func decodeEntry(r *dagcbor.Reader, prevLen, idx int) (RawEntry, error) {
	var e RawEntry
	start := r.Offset()
	n, err := r.ReadMapHeader()
	if err != nil {
		return e, wrapSyntax(err)
	}
	if n != 4 {
		return e, notANode(start, "entry %d has %d fields, want 4 (k, p, t, v)", idx, n)
	}
	var prev []byte
	for f := 0; f < 4; f++ {
		k, err := r.ReadMapKey(prev)
		if err != nil {
			return e, wrapSyntax(err)
		}
		if string(k) != entryFields[f] {
			return e, notANode(r.Offset(), "entry %d: unexpected field %q (want %s)", idx, k, entryFields[f])
		}
		prev = k
		switch f {
		case 0:
			s, err := r.ReadBytes()
			if err != nil {
				return e, wrapSyntax(err)
			}
			e.Suffix = s
		case 1:
			off := r.Offset()
			p, err := r.ReadUint()
			if err != nil {
				return e, wrapSyntax(err)
			}
			if p > uint64(prevLen) {
				return e, notANode(off, "entry %d: prefix length %d exceeds previous key length %d", idx, p, prevLen)
			}
			e.Prefix = int(p)
		case 2:
			if e.Right, err = r.ReadNullableLinkBytes(); err != nil {
				return e, wrapSyntax(err)
			}
		case 3:
			if e.Value, err = r.ReadLinkBytes(); err != nil {
				return e, wrapSyntax(err)
			}
		}
	}
	return e, nil
}

// EncodeNode writes n as canonical DAG-CBOR, exactly as given (it does not
// recompute prefixes). It is the inverse of DecodeNode for every node
// DecodeNode accepts.
func EncodeNode(n *NodeData) []byte {
	w := dagcbor.NewWriter(make([]byte, 0, 16+len(n.Entries)*64))
	encodeNodeData(w, n)
	return w.Bytes()
}

func encodeNodeData(w *dagcbor.Writer, n *NodeData) {
	w.WriteMapHeader(2)
	w.WriteString("e")
	w.WriteArrayHeader(len(n.Entries))
	for i := range n.Entries {
		e := &n.Entries[i]
		p := e.Prefix
		if p < 0 {
			p = 0
		}
		writeEntry(w, e.Suffix, p, e.Right.KeyString(), e.Value.KeyString())
	}
	w.WriteString("l")
	writeNullableLink(w, n.Left.KeyString())
}

// EncodeNodeRaw writes n as canonical DAG-CBOR into buf's storage (from
// buf[:0], growing it as needed) and returns the bytes: the inverse of
// DecodeNodeRaw, as EncodeNode is of DecodeNode.
func EncodeNodeRaw(buf []byte, n *RawNode) []byte {
	w := dagcbor.NewWriter(buf)
	w.WriteMapHeader(2)
	w.WriteString("e")
	w.WriteArrayHeader(len(n.Entries))
	for i := range n.Entries {
		e := &n.Entries[i]
		writeEntry(w, e.Suffix, max(e.Prefix, 0), e.Right, e.Value)
	}
	w.WriteString("l")
	writeNullableLink(w, n.Left)
	return w.Bytes()
}

// link is a CID in binary form; empty for null.
type link interface{ ~string | ~[]byte }

func writeEntry[R, V link](w *dagcbor.Writer, suffix []byte, prefix int, right R, val V) {
	w.WriteMapHeader(4)
	w.WriteString("k")
	w.WriteBytes(suffix)
	w.WriteString("p")
	w.WriteUint(uint64(prefix))
	w.WriteString("t")
	writeNullableLink(w, right)
	w.WriteString("v")
	dagcbor.WriteLinkOf(w, val)
}

func writeNullableLink[L link](w *dagcbor.Writer, l L) {
	if len(l) > 0 {
		dagcbor.WriteLinkOf(w, l)
	} else {
		w.WriteNull()
	}
}

// emptyNodeBytes is the encoding of the empty tree's root {e: [], l: null}.
func emptyNodeBytes() []byte {
	return []byte{0xa2, 0x61, 'e', 0x80, 0x61, 'l', 0xf6}
}

// Entries returns the entries of a node holding keys, in the order given
// (not checked), with values vals and right subtrees rights (nil, or
// cid.Undef for one entry: none), each key prefix-compressed against the
// one before it as the format requires: what EncodeNode takes, for code
// that writes nodes by hand (test fixtures, hostile inputs).
func Entries(keys []string, vals, rights []cid.Cid) []EntryData {
	out := make([]EntryData, 0, len(keys))
	prev := ""
	for i, k := range keys {
		p := commonPrefix([]byte(prev), []byte(k))
		e := EntryData{Prefix: p, Suffix: []byte(k[p:]), Value: vals[i]}
		if rights != nil {
			e.Right = rights[i]
		}
		out = append(out, e)
		prev = k
	}
	return out
}

// ExpandEntry rewrites entry i of es with no prefix compression (prefix 0,
// the whole key as suffix), the key unchanged: after the first entry this
// breaks the minimal-prefix rule, for building non-canonical nodes.
func ExpandEntry(es []EntryData, i int) {
	var key []byte
	for j := 0; j <= i; j++ {
		key = append(key[:es[j].Prefix:es[j].Prefix], es[j].Suffix...)
	}
	es[i].Prefix, es[i].Suffix = 0, key
}
