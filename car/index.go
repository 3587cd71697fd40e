package car

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sync"

	"github.com/ipfs/go-cid"

	"github.com/arbor-atproto/arbor/dagcbor"
)

// ErrNotFound: Index.Get was asked for a block the CAR does not hold.
var ErrNotFound = errors.New("block not in the CAR")

// Index is a CAR v1 file opened for random access: the file is mapped into
// memory (or read whole where mapping is not possible), its framing is
// scanned once, and a pointer-free table maps every block's CID to where
// its bytes are. Opening hashes nothing; Get checks a block's sha2-256
// against its CID each time it returns it, so every block a caller actually
// reads is verified, and a block whose bytes do not match is reported then
// (ErrHashMismatch), not when the index is opened.
//
// Framing is checked as strictly as by Reader: the header, every length
// varint, every section's size and CID kind. The first problem Reader.Next
// would report other than ErrHashMismatch (truncation, bad varint, huge or
// malformed section, malformed or unsupported CID) fails OpenIndex with the
// same *HeaderError or *BlockError, at the same byte offset.
//
// An Index is safe for concurrent use by several goroutines. The bytes Get
// returns live in the mapping: they must not be modified and are valid only
// until Close.
type Index struct {
	data     []byte             // the whole file
	release  func([]byte) error // unmaps data; nil when data is on the heap
	roots    []cid.Cid
	first    int // offset of the first section
	sections int // sections in the file, duplicates included
	// nodes holds the blocks that may be MST nodes (DAG-CBOR maps whose
	// first key is "e") and the roots: all a tree walk reads. Records go
	// into rest, which is built by a second scan of the framing the first
	// time a block outside nodes is asked for, so a diff, which reads only
	// nodes, never pays for indexing the records.
	nodes indexTable
	rest  lazyTable
}

// lazyTable is a table built on first use.
type lazyTable struct {
	once sync.Once
	tab  indexTable
}

// OpenIndex opens the CAR file at path and indexes its blocks. A regular
// file is memory-mapped read-only where the platform allows it; anything
// else (a pipe, a device, a platform without mmap) is read into memory
// whole. Options are those of NewReader; only WithMaxBlockSize matters.
// Errors are *HeaderError or *BlockError for a malformed CAR, or the
// *os.PathError of opening, mapping or reading the file.
func OpenIndex(path string, opts ...Option) (*Index, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, release, err := mapFile(f)
	if err != nil {
		return nil, err
	}
	ix, err := newIndex(data, opts)
	if err != nil {
		if release != nil {
			_ = release(data)
		}
		return nil, err
	}
	ix.release = release
	return ix, nil
}

// IndexBytes indexes a CAR held in memory, as OpenIndex does a file. The
// Index keeps b (Get returns sub-slices of it); b must not change while the
// Index is in use.
func IndexBytes(b []byte, opts ...Option) (*Index, error) {
	return newIndex(b, opts)
}

// readAllFile reads a file that cannot be mapped.
func readAllFile(f *os.File) ([]byte, error) {
	b, err := io.ReadAll(f)
	if err != nil {
		return nil, &os.PathError{Op: "read", Path: f.Name(), Err: err}
	}
	return b, nil
}

func newIndex(b []byte, opts []Option) (*Index, error) {
	o := defaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	ix := &Index{data: b}
	off, err := ix.scanHeader()
	if err != nil {
		return nil, err
	}
	// A section takes at least 37 bytes (varint, CID, a byte of data) in a
	// CAR without errors; sizing for that from the start avoids rehashing.
	ix.first = off
	// About a fifth of a repository's blocks are MST nodes, and a section
	// takes a few hundred bytes; sizing for that avoids most rehashing.
	ix.nodes.init((len(b) - off) / 1024)
	roots := make([][32]byte, 0, len(ix.roots))
	for _, c := range ix.roots {
		if d, _, ok := atprotoDigest(c); ok {
			roots = append(roots, d)
		}
	}
	for off < len(b) {
		off, err = ix.scanSection(off, o.maxBlockSize, roots)
		if err != nil {
			return nil, err
		}
	}
	return ix, nil
}

// nodeShaped reports whether a block may be an MST node: a DAG-CBOR map of
// two entries whose first key is "e". Every valid node is; a record almost
// never is, and one that is only costs a table slot.
func nodeShaped(codec uint8, data []byte) bool {
	return codec == dagcbor.CodecDagCBOR && len(data) >= 3 && data[0] == 0xa2 && data[1] == 0x61 && data[2] == 'e'
}

// IndexAll indexes every block now rather than on the first Get or Has of
// a block that is not an MST node. Callers that will read records (and
// have a spare core) can call it on a goroutine ahead of time. It is safe
// to call more than once, and concurrently with Get and Has.
func (ix *Index) IndexAll() { ix.restTable() }

// restTable returns the table of the blocks outside nodes, building it on
// first use. The framing was checked when the index was opened.
func (ix *Index) restTable() *indexTable {
	ix.rest.once.Do(func() {
		t := &ix.rest.tab
		t.init(max(ix.sections-ix.nodes.n, 0))
		b := ix.data
		for off := ix.first; off < len(b); {
			n, w, _ := uvarintAt(b, off)
			hdr := w + atprotoCIDLen
			data := b[off+hdr : off+w+int(n)]
			var d [32]byte
			copy(d[:], b[off+w+4:off+hdr])
			codec := b[off+w+1]
			if ix.nodes.find(&d, codec) < 0 {
				t.insert(&d, codec, int64(off), uint8(hdr), uint32(len(data)))
			}
			off += w + int(n)
		}
	})
	return &ix.rest.tab
}

// find returns the entry of (d, codec), from nodes or else from rest.
func (ix *Index) find(d *[32]byte, codec uint8) *indexEntry {
	if i := ix.nodes.find(d, codec); i >= 0 {
		return ix.nodes.entry(i)
	}
	if ix.data == nil {
		return nil // closed
	}
	rest := ix.restTable()
	if i := rest.find(d, codec); i >= 0 {
		return rest.entry(i)
	}
	return nil
}

// Roots returns a copy of the root CIDs from the header (possibly none).
func (ix *Index) Roots() []cid.Cid { return slices.Clone(ix.roots) }

// Sections is the number of sections in the file, duplicates included.
func (ix *Index) Sections() int { return ix.sections }

// NodeBlocks is the number of distinct blocks indexed as possible MST
// nodes (or roots) when the file was opened.
func (ix *Index) NodeBlocks() int { return ix.nodes.n }

// Size is the size of the file in bytes.
func (ix *Index) Size() int64 { return int64(len(ix.data)) }

// Has reports whether the CAR holds a block with CID c, without reading or
// checking the block.
func (ix *Index) Has(c cid.Cid) bool {
	d, codec, ok := atprotoDigest(c)
	return ok && ix.find(&d, codec) != nil
}

// Get returns the bytes of the block with CID c after checking that their
// sha2-256 is the CID's digest. A block the file does not hold gives an
// error wrapping ErrNotFound; bytes that do not match give a *BlockError
// wrapping ErrHashMismatch with the section's byte offset. The bytes are
// read-only and valid until Close.
func (ix *Index) Get(c cid.Cid) ([]byte, error) {
	d, codec, ok := atprotoDigest(c)
	var e *indexEntry
	if ok {
		e = ix.find(&d, codec)
	}
	if e == nil {
		return nil, fmt.Errorf("car: block %s: %w", c, ErrNotFound)
	}
	lo := e.start + int64(e.hdr)
	hi := lo + int64(e.size)
	data := ix.data[lo:hi:hi]
	if sum := sha256.Sum256(data); sum != d {
		return nil, &BlockError{Offset: e.start, CID: c, Err: ErrHashMismatch,
			Detail: fmt.Sprintf("sha2-256 of the %d block bytes is %x", len(data), sum)}
	}
	return data, nil
}

// Close releases the mapping, after waiting for an IndexAll under way on
// another goroutine. Bytes returned by Get must not be used after Close.
// Close is not safe to call concurrently with Get or Has.
func (ix *Index) Close() error {
	ix.rest.once.Do(func() {}) // waits for a scan in progress; stops a later one
	data, release := ix.data, ix.release
	ix.data, ix.release = nil, nil
	ix.nodes, ix.rest.tab = indexTable{}, indexTable{}
	if release != nil {
		return release(data)
	}
	return nil
}

// atprotoDigest returns the digest and codec of an atproto CID (CIDv1,
// sha2-256, a one-byte codec); ok is false for any other CID, which an
// Index never holds.
func atprotoDigest(c cid.Cid) (d [32]byte, codec uint8, ok bool) {
	k := c.KeyString()
	if len(k) != atprotoCIDLen || k[0] != 0x01 || k[1] >= 0x80 || k[2] != dagcbor.HashSHA256 || k[3] != sha256.Size {
		return d, 0, false
	}
	copy(d[:], k[4:])
	return d, k[1], true
}

// scanHeader reads the header as Reader.readHeader does and returns the
// offset of the first section.
func (ix *Index) scanHeader() (int, error) {
	b := ix.data
	n, w, err := uvarintAt(b, 0)
	if err != nil {
		if err == errEOF {
			return 0, &HeaderError{Offset: 0, Err: ErrTruncated, Detail: "empty input"}
		}
		return 0, &HeaderError{Offset: 0, Err: err, Detail: "header length prefix"}
	}
	if n == 0 {
		return 0, &HeaderError{Offset: 0, Err: ErrBadHeader, Detail: "header length is zero"}
	}
	if n > MaxHeaderSize {
		return 0, &HeaderError{Offset: 0, Err: ErrBadHeader,
			Detail: fmt.Sprintf("declared header length %d exceeds the %d-byte limit", n, MaxHeaderSize)}
	}
	base := w
	if uint64(len(b)-base) < n {
		return 0, &HeaderError{Offset: int64(len(b)), Err: ErrTruncated,
			Detail: fmt.Sprintf("header declares %d bytes, input has %d", n, len(b)-base)}
	}
	end := base + int(n)
	// A copy, so that the roots never point into a mapping Close releases.
	roots, err := decodeHeader(slices.Clone(b[base:end]))
	if err != nil {
		var he *HeaderError
		if errors.As(err, &he) {
			he.Offset += int64(base)
		}
		return 0, err
	}
	ix.roots = roots
	return end, nil
}

// scanSection indexes the section at start and returns the offset of the
// next one. Its checks and errors are those of Reader.next and
// Reader.otherCID, on bytes that are all in memory.
func (ix *Index) scanSection(start int, maxBlock int64, roots [][32]byte) (int, error) {
	b := ix.data
	n, w, err := uvarintAt(b, start)
	if err != nil {
		return 0, &BlockError{Offset: int64(start), Err: err, Detail: "section length"}
	}
	if n == 0 {
		return 0, &BlockError{Offset: int64(start), Err: ErrBadSection, Detail: "section length is zero"}
	}
	off := start + w
	rest := b[off:]
	if n > uint64(maxBlock)+maxCIDSize {
		var c cid.Cid
		if _, bc, err := cid.CidFromBytes(rest[:min(len(rest), maxCIDSize)]); err == nil {
			c = bc
		}
		return 0, &BlockError{Offset: int64(start), CID: c, Err: ErrBlockTooLarge,
			Detail: fmt.Sprintf("section declares %d bytes, limit is %d for the block", n, maxBlock)}
	}
	pre := rest[:min(uint64(len(rest)), n, atprotoCIDLen)]
	if !(len(pre) >= 4 && pre[0] == 0x01 && (pre[1] == dagcbor.CodecDagCBOR || pre[1] == dagcbor.CodecRaw) &&
		pre[2] == dagcbor.HashSHA256 && pre[3] == sha256.Size) {
		return 0, ix.otherCID(start, off, n, maxBlock)
	}
	if len(pre) < atprotoCIDLen {
		if n < atprotoCIDLen {
			return 0, &BlockError{Offset: int64(start), Err: ErrBadSection,
				Detail: fmt.Sprintf("section length %d is shorter than its CID", n)}
		}
		return 0, ix.truncated(start, cid.Undef)
	}
	var d [32]byte
	copy(d[:], pre[4:])
	codec := pre[1]
	size := int64(n) - atprotoCIDLen
	if size > maxBlock {
		return 0, &BlockError{Offset: int64(start), CID: dagcbor.CIDFromDigest(uint64(codec), d), Err: ErrBlockTooLarge,
			Detail: fmt.Sprintf("block declares %d bytes, limit is %d", size, maxBlock)}
	}
	if int64(len(rest)) < int64(n) {
		return 0, ix.truncated(start, dagcbor.CIDFromDigest(uint64(codec), d))
	}
	ix.sections++
	end := off + int(n)
	if nodeShaped(codec, b[off+atprotoCIDLen:end]) || slices.Contains(roots, d) {
		ix.nodes.insert(&d, codec, int64(start), uint8(w+atprotoCIDLen), uint32(size))
	}
	return end, nil
}

// otherCID reports a section whose CID is not the 36-byte atproto form, as
// Reader.otherCID does.
func (ix *Index) otherCID(start, off int, n uint64, maxBlock int64) error {
	rest := ix.data[off:]
	pre := rest[:min(uint64(len(rest)), n, maxCIDSize)]
	if len(pre) == 0 {
		return ix.truncated(start, cid.Undef)
	}
	cidLen, c, err := cid.CidFromBytes(pre)
	if err != nil {
		if uint64(len(pre)) < min(n, maxCIDSize) {
			return ix.truncated(start, cid.Undef)
		}
		return &BlockError{Offset: int64(start), Err: ErrBadCID, Detail: err.Error()}
	}
	detail := unsupportedDetail(c)
	if size := n - uint64(cidLen); size > uint64(maxBlock) {
		return &BlockError{Offset: int64(start), CID: c, Err: ErrBlockTooLarge,
			Detail: fmt.Sprintf("block declares %d bytes, limit is %d", size, maxBlock)}
	}
	if uint64(len(rest)) < n {
		return ix.truncated(start, c)
	}
	return &BlockError{Offset: int64(start), CID: c, Err: ErrUnsupportedCID, Detail: detail}
}

func (ix *Index) truncated(start int, c cid.Cid) error {
	return &BlockError{Offset: int64(start), CID: c, Err: ErrTruncated,
		Detail: fmt.Sprintf("input ends at byte %d", len(ix.data))}
}

// uvarintAt decodes the varint at b[off:] under Reader.readVarint's rules
// (minimal, at most 9 bytes) and returns it with its length. errEOF means
// off is the end of b.
func uvarintAt(b []byte, off int) (uint64, int, error) {
	var x uint64
	for i := 0; ; i++ {
		if off+i >= len(b) {
			if i == 0 {
				return 0, 0, errEOF
			}
			return 0, 0, ErrTruncated
		}
		c := b[off+i]
		if i == 8 && c >= 0x80 {
			return 0, 0, ErrBadVarint
		}
		x |= uint64(c&0x7f) << (7 * i)
		if c < 0x80 {
			if c == 0 && i > 0 {
				return 0, 0, ErrBadVarint
			}
			return x, i + 1, nil
		}
	}
}
