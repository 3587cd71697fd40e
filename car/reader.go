package car

import (
	"bufio"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/arbor-atproto/arbor/dagcbor"
	"github.com/ipfs/go-cid"
)

// Block is one section of a CAR file.
type Block struct {
	CID    cid.Cid
	Data   []byte
	Offset int64 // byte offset of the section start (its length varint) in the input
	// Digest and Codec repeat what the CID says (its sha2-256 digest and
	// its multicodec); with WithoutCIDs they are all there is, and CID is
	// cid.Undef.
	Digest [32]byte
	Codec  uint8
}

// Reader streams the blocks of a CAR v1 file, checking every block's bytes
// against its CID. It is not safe for concurrent use.
type Reader struct {
	br    *bufio.Reader
	opts  options
	roots []cid.Cid
	off   int64 // bytes consumed from the input
	buf   []byte
	err   error // sticky framing error; io.EOF after the clean end
}

// readerBufSize is the bufio buffer size: large enough that most small
// blocks are served from memory, small enough not to matter.
const readerBufSize = 64 << 10

// atprotoCIDLen is the length of the only CIDs we accept: version 1, a
// one-byte codec, sha2-256 code, digest length 32, 32 digest bytes.
const atprotoCIDLen = 4 + sha256.Size

// NewReader reads and strictly checks the CAR header from r: a
// length-prefixed DAG-CBOR map {roots: [CIDv1...], version: 1} with nothing
// else in it. Zero roots are allowed. The reader buffers r; bytes past the
// last section it was asked for may have been consumed from r.
func NewReader(r io.Reader, opts ...Option) (*Reader, error) {
	o := defaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	br, ok := r.(*bufio.Reader)
	if !ok || br.Size() < readerBufSize {
		br = bufio.NewReaderSize(r, readerBufSize)
	}
	rd := &Reader{br: br, opts: o}
	if err := rd.readHeader(); err != nil {
		return nil, err
	}
	return rd, nil
}

// Roots returns a copy of the root CIDs from the header (possibly none).
func (r *Reader) Roots() []cid.Cid { return slices.Clone(r.roots) }

// BytesRead is the number of input bytes parsed so far: the header and every
// section returned by Next (or skipped with an error).
func (r *Reader) BytesRead() int64 { return r.off }

// Next returns the next block, or io.EOF after the last one.
//
// Every block must have a CIDv1 with a sha2-256 hash and codec dag-cbor or
// raw, and its bytes must hash to that CID. Errors are *BlockError values.
// ErrHashMismatch and ErrUnsupportedCID leave the reader at the next
// section, so the caller may call Next again to go on; every other error
// (framing: truncation, bad varint, oversized or malformed section) is
// final and is returned again by later calls.
func (r *Reader) Next() (Block, error) {
	var dst []byte
	if r.opts.reuseBuffer {
		dst = r.buf[:0]
	}
	b, grown, err := r.NextAppend(dst)
	if r.opts.reuseBuffer && err == nil {
		r.buf = grown[:0]
	}
	return b, err
}

// NextAppend is Next with the block's bytes appended to dst (grown as
// append grows a slice) instead of put in a buffer of the reader's: Data
// is the new tail of the returned slice. A caller that gathers many blocks
// in one buffer so copies each once instead of twice. On an error dst is
// returned unchanged in length.
func (r *Reader) NextAppend(dst []byte) (Block, []byte, error) {
	if r.err != nil {
		return Block{}, dst, r.err
	}
	b, grown, err := r.next(dst)
	if err != nil {
		var be *BlockError
		if !errors.As(err, &be) || (be.Err != ErrHashMismatch && be.Err != ErrUnsupportedCID) {
			r.err = err
		}
	}
	return b, grown, err
}

// next reads the next section, the block's bytes appended to dst (Data is
// the new tail of the slice it returns).
func (r *Reader) next(dst []byte) (Block, []byte, error) {
	start := r.off
	n, err := r.readVarint()
	if err != nil {
		if err == errEOF {
			return Block{}, dst, io.EOF
		}
		return Block{}, dst, &BlockError{Offset: start, Err: err, Detail: "section length"}
	}
	if n == 0 {
		return Block{}, dst, &BlockError{Offset: start, Err: ErrBadSection, Detail: "section length is zero"}
	}
	if n > uint64(r.opts.maxBlockSize)+maxCIDSize {
		// Fail before reading or allocating anything; name the CID if it
		// is already in the buffer.
		return Block{}, dst, &BlockError{Offset: start, CID: r.bufferedCID(), Err: ErrBlockTooLarge,
			Detail: fmt.Sprintf("section declares %d bytes, limit is %d for the block", n, r.opts.maxBlockSize)}
	}

	// Fast path: the 36-byte CIDv1 sha2-256 with codec dag-cbor or raw.
	var digest [sha256.Size]byte
	var codec uint8
	var c cid.Cid
	var cidLen int
	pre, err := r.br.Peek(int(min(n, atprotoCIDLen)))
	switch {
	case len(pre) >= 4 && pre[0] == 0x01 && (pre[1] == dagcbor.CodecDagCBOR || pre[1] == dagcbor.CodecRaw) &&
		pre[2] == dagcbor.HashSHA256 && pre[3] == sha256.Size:
		if len(pre) < atprotoCIDLen {
			if n < atprotoCIDLen {
				return Block{}, dst, &BlockError{Offset: start, Err: ErrBadSection,
					Detail: fmt.Sprintf("section length %d is shorter than its CID", n)}
			}
			return Block{}, dst, r.truncated(start, cid.Undef, err)
		}
		copy(digest[:], pre[4:])
		codec = pre[1]
		if !r.opts.withoutCIDs {
			c, _ = cid.Cast(pre[:atprotoCIDLen]) // cannot fail: checked above
		}
		cidLen = atprotoCIDLen
		_, _ = r.br.Discard(atprotoCIDLen)
		r.off += atprotoCIDLen
	default:
		return Block{}, dst, r.otherCID(start, n)
	}

	errCID := func() cid.Cid { // the CID for an error, built on demand
		if !c.Defined() {
			c = dagcbor.CIDFromDigest(uint64(codec), digest)
		}
		return c
	}
	size := int64(n) - int64(cidLen)
	if size > r.opts.maxBlockSize {
		return Block{}, dst, &BlockError{Offset: start, CID: errCID(), Err: ErrBlockTooLarge,
			Detail: fmt.Sprintf("block declares %d bytes, limit is %d", size, r.opts.maxBlockSize)}
	}
	data, err := r.readData(dst, size)
	if err != nil {
		return Block{}, dst, r.truncated(start, errCID(), err)
	}
	b := Block{CID: c, Data: data[len(dst):len(data):len(data)], Offset: start, Digest: digest, Codec: codec}
	if !r.opts.noHashCheck {
		if err := b.Check(); err != nil {
			return Block{}, dst, err
		}
	}
	return b, data, nil
}

// Check hashes the block's bytes and compares them with its digest: nil
// when they match, else the *BlockError (ErrHashMismatch) that Next returns
// for such a block. Next checks every block unless WithoutHashCheck was
// given; Check is safe to call from any goroutine while Data is valid.
func (b Block) Check() error {
	sum := sha256.Sum256(b.Data)
	if sum == b.Digest {
		return nil
	}
	c := b.CID
	if !c.Defined() {
		c = dagcbor.CIDFromDigest(uint64(b.Codec), b.Digest)
	}
	return &BlockError{Offset: b.Offset, CID: c, Err: ErrHashMismatch,
		Detail: fmt.Sprintf("sha2-256 of the %d block bytes is %x", len(b.Data), sum)}
}

// otherCID handles a section whose CID is not the fast-path form: it parses
// the CID to say what it is, then skips the section so the caller can go on.
func (r *Reader) otherCID(start int64, n uint64) error {
	pre, perr := r.br.Peek(int(min(n, maxCIDSize)))
	if perr != nil && perr != io.EOF {
		return r.truncated(start, cid.Undef, perr)
	}
	if len(pre) == 0 {
		return r.truncated(start, cid.Undef, io.ErrUnexpectedEOF)
	}
	cidLen, c, err := cid.CidFromBytes(pre)
	if err != nil {
		if uint64(len(pre)) < min(n, maxCIDSize) {
			// Could be a valid CID cut short by the end of input.
			return r.truncated(start, cid.Undef, io.ErrUnexpectedEOF)
		}
		return &BlockError{Offset: start, Err: ErrBadCID, Detail: err.Error()}
	}
	detail := unsupportedDetail(c)
	size := n - uint64(cidLen)
	if size > uint64(r.opts.maxBlockSize) {
		return &BlockError{Offset: start, CID: c, Err: ErrBlockTooLarge,
			Detail: fmt.Sprintf("block declares %d bytes, limit is %d", size, r.opts.maxBlockSize)}
	}
	skipped, err := r.br.Discard(int(n))
	r.off += int64(skipped)
	if err != nil {
		return r.truncated(start, c, err)
	}
	return &BlockError{Offset: start, CID: c, Err: ErrUnsupportedCID, Detail: detail}
}

// bufferedCID parses a CID from the bytes already buffered, without reading;
// it returns cid.Undef if there is none.
func (r *Reader) bufferedCID() cid.Cid {
	b, _ := r.br.Peek(min(r.br.Buffered(), maxCIDSize))
	if _, c, err := cid.CidFromBytes(b); err == nil {
		return c
	}
	return cid.Undef
}

func (r *Reader) truncated(start int64, c cid.Cid, err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF || err == bufio.ErrBufferFull {
		return &BlockError{Offset: start, CID: c, Err: dagcbor.ErrTruncated,
			Detail: fmt.Sprintf("input ends at byte %d", r.off+int64(r.br.Buffered()))}
	}
	return &BlockError{Offset: start, CID: c, Err: err} // an I/O error from the underlying reader
}

// errEOF marks a clean end of input before the first byte of a varint.
var errEOF = errors.New("eof")

// readVarint reads a minimal unsigned varint of at most 9 bytes (the
// multiformats rule go-car also applies), counting the bytes it consumes.
func (r *Reader) readVarint() (uint64, error) {
	var x uint64
	for i := 0; ; i++ {
		b, err := r.br.ReadByte()
		if err != nil {
			if err == io.EOF {
				if i == 0 {
					return 0, errEOF
				}
				return 0, dagcbor.ErrTruncated
			}
			return 0, err
		}
		r.off++
		if i == 8 && b >= 0x80 {
			return 0, ErrBadVarint
		}
		x |= uint64(b&0x7f) << (7 * i)
		if b < 0x80 {
			if b == 0 && i > 0 {
				return 0, ErrBadVarint // not minimal
			}
			return x, nil
		}
	}
}

// readChunk is how much readData allocates ahead of the bytes it has
// actually received: a corrupt length prefix on a short input cannot make
// the reader allocate more than about twice the input.
const readChunk = 1 << 20

// readData appends size bytes from the input to dst (after what it
// holds), growing it at most readChunk bytes ahead of what has arrived.
func (r *Reader) readData(dst []byte, size int64) ([]byte, error) {
	end := int64(len(dst)) + size
	for int64(len(dst)) < end {
		want := int(min(end-int64(len(dst)), readChunk))
		dst = slices.Grow(dst, want)
		n, err := readFull(r.br, dst[len(dst):len(dst)+want])
		dst = dst[:len(dst)+n]
		r.off += int64(n)
		if err != nil {
			return dst, err
		}
	}
	return dst, nil
}

// readFull is io.ReadFull that reports how many bytes it read.
func readFull(br *bufio.Reader, p []byte) (int, error) {
	n, err := io.ReadFull(br, p)
	if err == io.EOF && len(p) > 0 {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

// unsupportedDetail says why a well-formed CID is not one atproto uses.
func unsupportedDetail(c cid.Cid) string {
	pfx := c.Prefix()
	switch {
	case pfx.Version == 0:
		return "CIDv0 (dag-pb) is not used by atproto"
	case pfx.MhType != dagcbor.HashSHA256:
		return fmt.Sprintf("hash 0x%x, only sha2-256 (0x12) is supported", pfx.MhType)
	case pfx.MhLength != sha256.Size:
		return fmt.Sprintf("sha2-256 digest of %d bytes, want 32", pfx.MhLength)
	}
	return fmt.Sprintf("codec 0x%x, only dag-cbor (0x71) and raw (0x55) are supported", pfx.Codec)
}
