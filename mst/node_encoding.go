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
	r := dagcbor.NewReader(b)
	n, err := r.ReadMapHeader()
	if err != nil {
		return nil, wrapSyntax(err)
	}
	if n != 2 {
		return nil, notANode(0, "node map has %d fields, want 2 (e, l)", n)
	}
	k, err := r.ReadMapKey(nil)
	if err != nil {
		return nil, wrapSyntax(err)
	}
	if string(k) != "e" {
		return nil, notANode(r.Offset(), "unexpected node field %q (want e)", k)
	}
	cnt, err := r.ReadArrayHeader()
	if err != nil {
		return nil, wrapSyntax(err)
	}
	nd := &NodeData{}
	if cnt > 0 {
		nd.Entries = make([]EntryData, 0, min(cnt, (len(b)-r.Offset())/minEntryLen+1))
	} else {
		nd.Entries = []EntryData{}
	}
	prevLen := 0
	for i := 0; i < cnt; i++ {
		e, err := decodeEntry(r, prevLen, i)
		if err != nil {
			return nil, err
		}
		prevLen = e.Prefix + len(e.Suffix)
		nd.Entries = append(nd.Entries, e)
	}
	k2, err := r.ReadMapKey(k)
	if err != nil {
		return nil, wrapSyntax(err)
	}
	if string(k2) != "l" {
		return nil, notANode(r.Offset(), "unexpected node field %q (want l)", k2)
	}
	l, ok, err := r.ReadNullableLink()
	if err != nil {
		return nil, wrapSyntax(err)
	}
	if ok {
		nd.Left = l
	}
	if err := r.Done(); err != nil {
		return nil, wrapSyntax(err)
	}
	return nd, nil
}

var entryFields = [4]string{"k", "p", "t", "v"}

func decodeEntry(r *dagcbor.Reader, prevLen, idx int) (EntryData, error) {
	var e EntryData
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
			t, ok, err := r.ReadNullableLink()
			if err != nil {
				return e, wrapSyntax(err)
			}
			if ok {
				e.Right = t
			}
		case 3:
			v, err := r.ReadLink()
			if err != nil {
				return e, wrapSyntax(err)
			}
			e.Value = v
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
		writeEntry(w, e.Suffix, p, e.Right, e.Value)
	}
	w.WriteString("l")
	writeNullableLink(w, n.Left)
}

func writeEntry(w *dagcbor.Writer, suffix []byte, prefix int, right, val cid.Cid) {
	w.WriteMapHeader(4)
	w.WriteString("k")
	w.WriteBytes(suffix)
	w.WriteString("p")
	w.WriteUint(uint64(prefix))
	w.WriteString("t")
	writeNullableLink(w, right)
	w.WriteString("v")
	w.WriteLink(val)
}

func writeNullableLink(w *dagcbor.Writer, c cid.Cid) {
	if c.Defined() {
		w.WriteLink(c)
	} else {
		w.WriteNull()
	}
}

// emptyNodeBytes is the encoding of the empty tree's root {e: [], l: null}.
func emptyNodeBytes() []byte {
	return []byte{0xa2, 0x61, 'e', 0x80, 0x61, 'l', 0xf6}
}
