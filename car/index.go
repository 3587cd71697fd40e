package car

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sync"
	"sync/atomic"

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
// With WithBackgroundScan, opening checks only the header and the framing
// is scanned on a goroutine while the caller works: a Get or Has of a block
// the scan has not reached yet waits for it. The scan runs ahead of the
// caller but pauses once it has gone PauseGap bytes without meeting a
// possible MST node while nobody waits for a block: in atproto CARs the
// tree's nodes come together (first, in the files of the reference
// implementation and of arbor), so a caller that reads only nodes (a diff)
// does not pay for scanning past the records. Settle waits for that pause;
// Wait, IndexAll and a Get of a block not yet found make the scan go on.
//
// An Index is safe for concurrent use by several goroutines. The bytes Get
// returns live in the mapping: they must not be modified and are valid only
// until Close.
type Index struct {
	data    []byte             // the whole file
	release func([]byte) error // unmaps data; nil when data is on the heap
	file    *os.File           // the mapped file, read by the scan; nil otherwise
	roots   []cid.Cid
	first   int // offset of the first section

	// The framing scan. Until done, nodes is written by the scan under mu
	// and read under mu; cond is broadcast whenever the scan adds blocks
	// or ends. Once done is set, nodes, sections, scanEnd and scanErr no
	// longer change and are read without the lock.
	mu      sync.Mutex
	cond    *sync.Cond
	done    atomic.Bool
	stop    atomic.Bool // Close asks a background scan to end
	lazy    bool        // the scan may pause (WithBackgroundScan)
	waiters int         // Gets waiting for the scan (under mu)
	// flushes counts the scan's flushes of found nodes; stale is how
	// many waiters have not looked again since the last (both under mu).
	// A scan about to pause waits for them: one whose block the flush
	// brought no longer needs the scan to go on, and pausing must not
	// depend on whether it had woken yet.
	flushes, stale int
	finish         bool          // the scan must not pause again (under mu)
	paused         bool          // the scan is paused (under mu)
	scanned        chan struct{} // closed when the scan has ended
	scanEnd        int           // where the scan stopped: the file's end, or the bad section
	scanErr        error         // why it stopped early; nil at the end of a good file
	sections       int           // sections scanned, duplicates included
	// nodes holds the blocks that may be MST nodes (DAG-CBOR maps whose
	// first key is "e") and the roots: all a tree walk reads. Records go
	// into rest, which is built by a second scan of the framing the first
	// time a block outside nodes is asked for, so a diff, which reads only
	// nodes, never pays for indexing the records.
	nodes indexTable
	rest  lazyTable
}

// errClosed ends a background scan stopped by Close.
var errClosed = errors.New("car: index closed")

// lazyTable is a table built on first use.
type lazyTable struct {
	once sync.Once
	tab  indexTable
}

// OpenIndex opens the CAR file at path and indexes its blocks. A regular
// file is memory-mapped read-only where the platform allows it; anything
// else (a pipe, a device, a platform without mmap) is read into memory
// whole. Options are those of NewReader (only WithMaxBlockSize matters)
// and WithBackgroundScan. Errors are *HeaderError or *BlockError for a
// malformed CAR, or the *os.PathError of opening, mapping or reading the
// file; with WithBackgroundScan, framing errors come from Wait instead.
func OpenIndex(path string, opts ...Option) (*Index, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	data, release, err := mapFile(f)
	if err != nil {
		f.Close()
		return nil, err
	}
	var src *os.File
	if release != nil {
		src = f // the scan reads the mapped file through a buffer
	} else {
		f.Close()
	}
	ix, err := newIndex(data, src, opts)
	if err != nil {
		if release != nil {
			_ = release(data)
			f.Close()
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
	return newIndex(b, nil, opts)
}

// readAllFile reads a file that cannot be mapped.
func readAllFile(f *os.File) ([]byte, error) {
	b, err := io.ReadAll(f)
	if err != nil {
		return nil, &os.PathError{Op: "read", Path: f.Name(), Err: err}
	}
	return b, nil
}

// newIndex checks the header of the CAR in b and scans its framing, now or
// (WithBackgroundScan) on a goroutine. src, when not nil, is the file b
// maps: the scan reads it rather than b. The Index owns src.
func newIndex(b []byte, src *os.File, opts []Option) (*Index, error) {
	o := defaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	if int64(len(b)) > slotOffMask {
		return nil, fmt.Errorf("car: cannot index a %d-byte file: the limit is %d bytes", len(b), int64(slotOffMask))
	}
	ix := &Index{data: b, scanned: make(chan struct{})}
	ix.cond = sync.NewCond(&ix.mu)
	off, err := ix.scanHeader()
	if err != nil {
		return nil, err
	}
	ix.first = off
	// About a fifth of a repository's blocks are MST nodes, and a section
	// takes a few hundred bytes; sizing for that avoids most rehashing.
	ix.nodes.init((len(b) - off) / 1024)
	var from io.ReaderAt
	if src != nil {
		ix.file, from = src, src
	}
	if o.backgroundScan {
		ix.lazy = true
		go ix.scan(from, o.maxBlockSize)
		return ix, nil
	}
	ix.scan(from, o.maxBlockSize)
	if ix.scanErr != nil {
		return nil, ix.scanErr
	}
	return ix, nil
}

// Wait waits for the framing scan to end and returns its verdict: nil when
// every section of the file is well formed, else the *BlockError of the
// first bad one (what OpenIndex returns without WithBackgroundScan). Blocks
// before that section can still be read.
func (ix *Index) Wait() error {
	ix.finishScan()
	<-ix.scanned
	if ix.scanErr == errClosed {
		return nil
	}
	return ix.scanErr
}

// Settle waits until a background scan has paused (see WithBackgroundScan)
// or ended, and returns the error it ended with, if any: the framing of
// the file up to where the scan stands is then checked. Where a scan
// pauses depends only on the file and on the blocks asked for, not on
// timing. Without WithBackgroundScan it returns nil at once.
func (ix *Index) Settle() error {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	for !ix.paused && !ix.done.Load() {
		ix.cond.Wait()
	}
	if ix.done.Load() && ix.scanErr != errClosed {
		return ix.scanErr
	}
	return nil
}

// finishScan tells a background scan not to pause again.
func (ix *Index) finishScan() {
	ix.mu.Lock()
	ix.finish = true
	ix.mu.Unlock()
	ix.cond.Broadcast()
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
		ix.finishScan()
		<-ix.scanned // the framing up to scanEnd is known good
		t := &ix.rest.tab
		t.init(max(ix.sections-ix.nodes.n, 0))
		b := ix.data
		for off := ix.first; off < ix.scanEnd; {
			n, w, _ := uvarintAt(b, off)
			hdr := w + atprotoCIDLen
			var d [32]byte
			copy(d[:], b[off+w+4:off+hdr])
			codec := b[off+w+1]
			if ix.nodes.find(b, &d, codec) < 0 {
				t.insert(b, &d, codec, int64(off))
			}
			off += w + int(n)
		}
	})
	return &ix.rest.tab
}

// find returns the offset of the section of (d, codec), from nodes or
// else from rest, or -1. While a background scan runs, it waits until the
// scan has indexed the block or ended.
func (ix *Index) find(d *[32]byte, codec uint8) int64 {
	if ix.data == nil {
		return -1 // closed
	}
	if ix.done.Load() {
		if start := ix.nodes.find(ix.data, d, codec); start >= 0 {
			return start
		}
	} else {
		ix.mu.Lock()
		for {
			if start := ix.nodes.find(ix.data, d, codec); start >= 0 {
				ix.mu.Unlock()
				return start
			}
			if ix.done.Load() {
				break
			}
			ix.waiters++
			ix.cond.Broadcast() // wakes a paused scan
			seen := ix.flushes
			ix.cond.Wait()
			ix.waiters--
			if ix.flushes != seen {
				ix.stale-- // looked again since the flush (below)
				ix.cond.Broadcast()
			}
		}
		ix.mu.Unlock()
	}
	return ix.restTable().find(ix.data, d, codec)
}

// Roots returns a copy of the root CIDs from the header (possibly none).
func (ix *Index) Roots() []cid.Cid { return slices.Clone(ix.roots) }

// Sections is the number of sections in the file, duplicates included.
// With WithBackgroundScan it first lets the scan run to its end (Wait).
func (ix *Index) Sections() int {
	_ = ix.Wait()
	return ix.sections
}

// NodeBlocks is the number of distinct blocks indexed as possible MST
// nodes (or roots) by the framing scan. With WithBackgroundScan it first
// lets the scan run to its end (Wait).
func (ix *Index) NodeBlocks() int {
	_ = ix.Wait()
	return ix.nodes.n
}

// Size is the size of the file in bytes.
func (ix *Index) Size() int64 { return int64(len(ix.data)) }

// Has reports whether the CAR holds a block with CID c, without reading or
// checking the block.
func (ix *Index) Has(c cid.Cid) bool {
	d, codec, ok := atprotoDigest(c)
	return ok && ix.find(&d, codec) >= 0
}

// Get returns the bytes of the block with CID c after checking that their
// sha2-256 is the CID's digest. A block the file does not hold gives an
// error wrapping ErrNotFound; bytes that do not match give a *BlockError
// wrapping ErrHashMismatch with the section's byte offset. The bytes are
// read-only and valid until Close.
func (ix *Index) Get(c cid.Cid) ([]byte, error) {
	d, codec, ok := atprotoDigest(c)
	start := int64(-1)
	if ok {
		start = ix.find(&d, codec)
	}
	if start < 0 {
		if ix.done.Load() && ix.scanErr != nil && ix.scanErr != errClosed {
			err := ix.scanErr
			// The block may be after the section the scan stopped at.
			return nil, fmt.Errorf("car: block %s not found before a bad section: %w", c, err)
		}
		return nil, fmt.Errorf("car: block %s: %w", c, ErrNotFound)
	}
	n, w, _ := uvarintAt(ix.data, int(start)) // checked by the scan
	lo, hi := start+int64(w)+atprotoCIDLen, start+int64(w)+int64(n)
	data := ix.data[lo:hi:hi]
	if sum := sha256.Sum256(data); sum != d {
		return nil, &BlockError{Offset: start, CID: c, Err: ErrHashMismatch,
			Detail: fmt.Sprintf("sha2-256 of the %d block bytes is %x", len(data), sum)}
	}
	return data, nil
}

// Close stops a background scan, waits for it and for an IndexAll under
// way on another goroutine, and releases the mapping. Bytes returned by Get
// must not be used after Close. Close is not safe to call concurrently with
// Get or Has.
func (ix *Index) Close() error {
	ix.stop.Store(true)
	ix.finishScan()
	<-ix.scanned
	ix.rest.once.Do(func() {}) // waits for an IndexAll in progress; stops a later one
	data, release, file := ix.data, ix.release, ix.file
	ix.data, ix.release, ix.file = nil, nil, nil
	ix.nodes, ix.rest.tab = indexTable{}, indexTable{}
	var err error
	if release != nil {
		err = release(data)
	}
	if file != nil {
		file.Close()
	}
	return err
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
			return 0, &HeaderError{Offset: 0, Err: dagcbor.ErrTruncated, Detail: "empty input"}
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
		return 0, &HeaderError{Offset: int64(len(b)), Err: dagcbor.ErrTruncated,
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

// uvarintAt decodes the varint at b[off:] under Reader.readVarint's rules
// (minimal, at most 9 bytes) and returns it with its length. errEOF means
// off is the end of b.
func uvarintAt(b []byte, off int) (uint64, int, error) {
	// Sections of atproto CARs take one or two bytes of length.
	if off >= 0 && off+1 < len(b) {
		c0, c1 := b[off], b[off+1]
		if c0 < 0x80 {
			return uint64(c0), 1, nil
		}
		if c1 < 0x80 && c1 != 0 {
			return uint64(c0&0x7f) | uint64(c1)<<7, 2, nil
		}
	}
	var x uint64
	for i := 0; ; i++ {
		if off+i >= len(b) {
			if i == 0 {
				return 0, 0, errEOF
			}
			return 0, 0, dagcbor.ErrTruncated
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
