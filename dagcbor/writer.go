package dagcbor

import (
	"github.com/ipfs/go-cid"
)

// Writer appends canonical DAG-CBOR items to a buffer. Typed encoders use it
// to produce bytes without reflection; they are responsible for writing map
// keys in DAG-CBOR order (see CompareKeys).
type Writer struct {
	buf []byte
}

// NewWriter returns a Writer that appends to buf (which may be nil).
func NewWriter(buf []byte) *Writer { return &Writer{buf: buf[:0]} }

// Bytes returns what has been written.
func (w *Writer) Bytes() []byte { return w.buf }

// Reset empties the buffer, keeping its capacity.
func (w *Writer) Reset() { w.buf = w.buf[:0] }

func (w *Writer) head(major byte, arg uint64) {
	m := major << 5
	switch {
	case arg < 24:
		w.buf = append(w.buf, m|byte(arg))
	case arg <= 0xff:
		w.buf = append(w.buf, m|24, byte(arg))
	case arg <= 0xffff:
		w.buf = append(w.buf, m|25, byte(arg>>8), byte(arg))
	case arg <= 0xffffffff:
		w.buf = append(w.buf, m|26, byte(arg>>24), byte(arg>>16), byte(arg>>8), byte(arg))
	default:
		w.buf = append(w.buf, m|27, byte(arg>>56), byte(arg>>48), byte(arg>>40), byte(arg>>32),
			byte(arg>>24), byte(arg>>16), byte(arg>>8), byte(arg))
	}
}

// WriteMapHeader starts a map of n pairs.
func (w *Writer) WriteMapHeader(n int) { w.head(MajorMap, uint64(n)) }

// WriteArrayHeader starts an array of n elements.
func (w *Writer) WriteArrayHeader(n int) { w.head(MajorArray, uint64(n)) }

// WriteString writes a text string.
func (w *Writer) WriteString(s string) {
	w.head(MajorText, uint64(len(s)))
	w.buf = append(w.buf, s...)
}

// WriteTextBytes writes a text string given as bytes.
func (w *Writer) WriteTextBytes(s []byte) {
	w.head(MajorText, uint64(len(s)))
	w.buf = append(w.buf, s...)
}

// WriteBytes writes a byte string.
func (w *Writer) WriteBytes(b []byte) {
	w.head(MajorBytes, uint64(len(b)))
	w.buf = append(w.buf, b...)
}

// WriteUint writes a non-negative integer.
func (w *Writer) WriteUint(u uint64) { w.head(MajorUint, u) }

// WriteInt writes a signed integer.
func (w *Writer) WriteInt(i int64) {
	if i >= 0 {
		w.head(MajorUint, uint64(i))
		return
	}
	w.head(MajorNegInt, uint64(-1-i))
}

// WriteBool writes true or false.
func (w *Writer) WriteBool(b bool) {
	if b {
		w.buf = append(w.buf, 0xf5)
	} else {
		w.buf = append(w.buf, 0xf4)
	}
}

// WriteNull writes null.
func (w *Writer) WriteNull() { w.buf = append(w.buf, 0xf6) }

// WriteLink writes a CID as tag 42 over its 0x00-prefixed binary form.
func (w *Writer) WriteLink(c cid.Cid) { WriteLinkOf(w, c.KeyString()) }

// WriteLinkOf appends a CID link given the CID's binary form (as
// cid.Cid.KeyString or cid.Cid.Bytes return it), as WriteLink does.
func WriteLinkOf[L ~string | ~[]byte](w *Writer, l L) {
	w.buf = append(w.buf, 0xd8, TagLink)
	w.head(MajorBytes, uint64(len(l)+1))
	w.buf = append(w.buf, 0x00)
	w.buf = append(w.buf, l...)
}

// WriteRaw appends bytes that are already canonical DAG-CBOR.
func (w *Writer) WriteRaw(b []byte) { w.buf = append(w.buf, b...) }
