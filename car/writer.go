package car

import (
	"crypto/sha256"

	"bufio"
	"fmt"
	"github.com/arbor-atproto/arbor/dagcbor"
	"io"

	"github.com/ipfs/go-cid"
	"github.com/multiformats/go-varint"
)

// Writer writes a CAR v1 file: the header with the given roots, then one
// section per Put, in call order, through a buffer. Call Flush at the end.
// Its output is byte-identical to the reference TypeScript implementation
// (@atproto/repo) for the same roots and block order.
//
// Put does not hash the data: the caller vouches that c is the CID of data
// (dagcbor.SumCID computes it). It does check that c is a CID a Reader
// accepts, so a written file always reads back. Not safe for concurrent use.
type Writer struct {
	bw  *bufio.Writer
	off int64 // bytes written so far (start offset of the next section)
	err error // sticky write error
	hdr [binaryMaxVarintLen]byte
}

const binaryMaxVarintLen = 10

// NewWriter starts a CAR v1 file on w with the given roots (possibly none).
// Each root must be a defined CIDv1. The header is buffered; nothing is
// written to w before the buffer fills or Flush is called.
func NewWriter(w io.Writer, roots []cid.Cid) (*Writer, error) {
	for i, c := range roots {
		if !c.Defined() {
			return nil, &HeaderError{Err: ErrRootUndefined, Detail: fmt.Sprintf("root %d", i)}
		}
		if c.Version() != 1 {
			return nil, &HeaderError{Err: ErrUnsupportedCID, Detail: fmt.Sprintf("root %d (%s) is not a CIDv1", i, c)}
		}
	}
	wr := &Writer{bw: bufio.NewWriterSize(w, 64<<10)}
	wr.write(encodeHeader(roots))
	return wr, wr.err
}

// Put appends one block. c must be a CIDv1 with a sha2-256 hash and codec
// dag-cbor or raw; any other CID fails with a *BlockError wrapping
// ErrUnsupportedCID and nothing is written. After a write error every call
// returns that error.
func (w *Writer) Put(c cid.Cid, data []byte) error {
	if w.err != nil {
		return w.err
	}
	if err := checkCID(c); err != "" {
		return &BlockError{Offset: w.off, CID: c, Err: ErrUnsupportedCID, Detail: err}
	}
	kb := c.KeyString()
	n := varint.PutUvarint(w.hdr[:], uint64(len(kb)+len(data)))
	w.count(w.bw.Write(w.hdr[:n]))
	w.count(w.bw.WriteString(kb))
	w.count(w.bw.Write(data))
	return w.err
}

// Flush writes any buffered bytes to the underlying writer.
func (w *Writer) Flush() error {
	if w.err != nil {
		return w.err
	}
	if err := w.bw.Flush(); err != nil {
		w.err = fmt.Errorf("car: writing at byte %d: %w", w.off, err)
	}
	return w.err
}

func (w *Writer) write(b []byte) {
	n := varint.PutUvarint(w.hdr[:], uint64(len(b)))
	w.count(w.bw.Write(w.hdr[:n]))
	w.count(w.bw.Write(b))
}

func (w *Writer) count(n int, err error) {
	if w.err == nil && err != nil {
		w.err = fmt.Errorf("car: writing at byte %d: %w", w.off, err)
	}
	w.off += int64(n)
}

// checkCID says why c is not a CID atproto CARs carry, or "" if it is.
func checkCID(c cid.Cid) string {
	if !c.Defined() {
		return "undefined CID"
	}
	p := c.Prefix()
	switch {
	case p.Version != 1:
		return "CIDv0 (dag-pb) is not used by atproto"
	case p.MhType != dagcbor.HashSHA256 || p.MhLength != sha256.Size:
		return fmt.Sprintf("hash 0x%x of %d bytes, only sha2-256 is supported", p.MhType, p.MhLength)
	case p.Codec != dagcbor.CodecDagCBOR && p.Codec != dagcbor.CodecRaw:
		return fmt.Sprintf("codec 0x%x, only dag-cbor (0x71) and raw (0x55) are supported", p.Codec)
	}
	return ""
}
