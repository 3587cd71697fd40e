package car

import (
	"crypto/sha256"
	"fmt"
	"io"
	"runtime"
	"slices"

	"github.com/ipfs/go-cid"

	"github.com/arbor-atproto/arbor/dagcbor"
)

// sectionPeek is how many bytes from a section's start the framing scan
// looks at: the longest length varint (9 bytes), the longest CID it reports
// on (maxCIDSize) and the three bytes nodeShaped reads.
const sectionPeek = 9 + maxCIDSize + 3

// scanBufSize is the framing scan's read buffer.
const scanBufSize = 256 << 10

// window gives the framing scan the bytes at an offset of the file. A
// mapped file is read through a small reused buffer (ReadAt) rather than
// through the mapping: the scan reads a few bytes of every section, and on
// a large file copying the file through one buffer that stays in the cache
// costs less than the page faults and cache misses of touching every page
// of the mapping (57 against 87 ms for a 300 MB file on the benchmark
// machine). Bytes already in memory (src nil) are used as they are.
type window struct {
	src  io.ReaderAt
	size int64
	buf  []byte
	base int64 // file offset of buf[0]
	n    int   // bytes of buf that hold file data
}

func newWindow(src io.ReaderAt, data []byte) *window {
	if src == nil {
		return &window{size: int64(len(data)), buf: data, n: len(data)}
	}
	return &window{src: src, size: int64(len(data)), buf: make([]byte, scanBufSize)}
}

// at returns the file's bytes from off on: at least need of them (need <=
// scanBufSize), or all up to the end of the file when fewer are left.
func (w *window) at(off int64, need int) ([]byte, error) {
	if off >= w.base && off <= w.base+int64(w.n) &&
		(off+int64(need) <= w.base+int64(w.n) || w.base+int64(w.n) == w.size) {
		return w.buf[off-w.base : w.n], nil
	}
	m, err := w.src.ReadAt(w.buf, off)
	if err != nil && (err != io.EOF || off+int64(m) != w.size) {
		return nil, err
	}
	w.base, w.n = off, m
	return w.buf[:m], nil
}

// scanState is one run of the framing scan over a file.
type scanState struct {
	ix       *Index
	w        *window
	maxBlock int64
	roots    [][32]byte
	// batch holds node entries found since the last flush: the scan adds
	// them to ix.nodes a few at a time, under ix.mu, so that a Get waiting
	// for a block meets it soon and a Get of a block already indexed is
	// never held up for long.
	batch []pendingNode
	// lastNode is the offset of the last possible MST node met (or of the
	// first section, or where the scan last resumed).
	lastNode int64
	sawNode  bool // a node was met in the current window
}

// PauseGap is how far a background scan goes past the last possible MST
// node it met before it pauses (when no Get is waiting for it).
const PauseGap = 4 << 20

// pause indexes what the scan has found and waits until a Get waits for a
// block, or the scan is told to finish or stop.
func (st *scanState) pause() {
	st.flush()
	ix := st.ix
	ix.mu.Lock()
	for ix.stale > 0 && !ix.stop.Load() {
		ix.cond.Wait() // until the waiters have looked at the flush
	}
	for ix.waiters == 0 && !ix.finish && !ix.stop.Load() {
		ix.paused = true
		ix.cond.Broadcast() // wakes Settle
		ix.cond.Wait()
	}
	ix.paused = false
	ix.mu.Unlock()
}

// pendingNode is a block the scan found and has not added to ix.nodes yet.
type pendingNode struct {
	digest [32]byte
	codec  uint8
	start  int64
}

// scanBatch is how many entries the scan indexes per lock of ix.mu.
const scanBatch = 64

// scan checks the framing of every section from ix.first to the end of the
// file, as Reader does, and indexes the blocks that may be MST nodes and
// the roots. It stops at the first problem, or when Close asks it to. It
// records where and why it ended (ix.scanEnd, ix.scanErr), marks the index
// done, and closes ix.scanned.
func (ix *Index) scan(src io.ReaderAt, maxBlock int64) {
	st := &scanState{ix: ix, w: newWindow(src, ix.data), maxBlock: maxBlock, batch: make([]pendingNode, 0, scanBatch), lastNode: int64(ix.first)}
	for _, c := range ix.roots {
		if d, _, ok := atprotoDigest(c); ok {
			st.roots = append(st.roots, d)
		}
	}
	off, size := int64(ix.first), int64(len(ix.data))
	// In the background, the parts of a mapped file where nodes are get
	// their pages mapped by this goroutine (see populate), a window at a
	// time, ahead of the walk that will read them.
	prefault := ix.lazy && ix.file != nil
	winBase := st.w.base
	var err error
	for off < size {
		if prefault && st.w.base != winBase {
			if st.sawNode {
				populate(ix.data, winBase, st.w.base)
				st.sawNode = false
			}
			winBase = st.w.base
		}
		if ix.stop.Load() {
			err = errClosed
			break
		}
		if ix.lazy && off-st.lastNode > PauseGap {
			st.pause()
			st.lastNode = off
			continue
		}
		var next int64
		if next, err = st.section(off); err != nil {
			break
		}
		off = next
	}
	st.flush()
	ix.mu.Lock()
	ix.scanEnd, ix.scanErr = int(off), err
	ix.done.Store(true)
	ix.mu.Unlock()
	ix.cond.Broadcast()
	close(ix.scanned)
}

// flush adds the batch to ix.nodes and wakes the Gets waiting for blocks.
func (st *scanState) flush() {
	if len(st.batch) == 0 {
		return
	}
	ix := st.ix
	ix.mu.Lock()
	for i := range st.batch {
		e := &st.batch[i]
		ix.nodes.insert(ix.data, &e.digest, e.codec, e.start)
	}
	ix.flushes++
	ix.stale = ix.waiters
	ix.mu.Unlock()
	ix.cond.Broadcast()
	st.batch = st.batch[:0]
	// Let a Get just woken run now rather than at the scheduler's next
	// preemption (10 ms away when every P is busy scanning).
	runtime.Gosched()
}

// section checks the section at start and returns the offset of the next
// one. Its checks and errors are those of Reader.next and Reader.otherCID.
func (st *scanState) section(start int64) (int64, error) {
	b, err := st.w.at(start, sectionPeek)
	if err != nil {
		return 0, err
	}
	n, w, err := uvarintAt(b, 0)
	if err != nil {
		return 0, &BlockError{Offset: start, Err: err, Detail: "section length"}
	}
	if n == 0 {
		return 0, &BlockError{Offset: start, Err: ErrBadSection, Detail: "section length is zero"}
	}
	off := start + int64(w)
	rest := b[w:]            // the section after its varint, as far as the window goes
	avail := st.w.size - off // bytes the file has from off
	maxBlock := st.maxBlock
	if n > uint64(maxBlock)+maxCIDSize {
		var c cid.Cid
		if _, bc, err := cid.CidFromBytes(rest[:min(len(rest), maxCIDSize)]); err == nil {
			c = bc
		}
		return 0, &BlockError{Offset: start, CID: c, Err: ErrBlockTooLarge,
			Detail: fmt.Sprintf("section declares %d bytes, limit is %d for the block", n, maxBlock)}
	}
	pre := rest[:min(uint64(len(rest)), n, atprotoCIDLen)]
	if !(len(pre) >= 4 && pre[0] == 0x01 && (pre[1] == dagcbor.CodecDagCBOR || pre[1] == dagcbor.CodecRaw) &&
		pre[2] == dagcbor.HashSHA256 && pre[3] == sha256.Size) {
		return 0, st.ix.otherCID(start, rest, avail, n, maxBlock)
	}
	if len(pre) < atprotoCIDLen {
		if n < atprotoCIDLen {
			return 0, &BlockError{Offset: start, Err: ErrBadSection,
				Detail: fmt.Sprintf("section length %d is shorter than its CID", n)}
		}
		return 0, st.ix.truncated(start, cid.Undef)
	}
	var d [32]byte
	copy(d[:], pre[4:])
	codec := pre[1]
	size := int64(n) - atprotoCIDLen
	if size > maxBlock {
		return 0, &BlockError{Offset: start, CID: dagcbor.CIDFromDigest(uint64(codec), d), Err: ErrBlockTooLarge,
			Detail: fmt.Sprintf("block declares %d bytes, limit is %d", size, maxBlock)}
	}
	if avail < int64(n) {
		return 0, st.ix.truncated(start, dagcbor.CIDFromDigest(uint64(codec), d))
	}
	st.ix.sections++
	head := rest[atprotoCIDLen:min(uint64(len(rest)), n)] // the block's first bytes
	if nodeShaped(codec, head) || slices.Contains(st.roots, d) {
		st.lastNode, st.sawNode = start, true
		st.batch = append(st.batch, pendingNode{digest: d, codec: codec, start: start})
		if len(st.batch) == scanBatch {
			st.flush()
		}
	}
	return off + int64(n), nil
}

// otherCID reports a section whose CID is not the 36-byte atproto form, as
// Reader.otherCID does. rest is the section after its length varint (at
// least maxCIDSize bytes of it, or all up to the end of the file), avail
// the bytes the file has from there.
func (ix *Index) otherCID(start int64, rest []byte, avail int64, n uint64, maxBlock int64) error {
	pre := rest[:min(uint64(len(rest)), n, maxCIDSize)]
	if len(pre) == 0 {
		return ix.truncated(start, cid.Undef)
	}
	cidLen, c, err := cid.CidFromBytes(pre)
	if err != nil {
		if uint64(len(pre)) < min(n, maxCIDSize) {
			return ix.truncated(start, cid.Undef)
		}
		return &BlockError{Offset: start, Err: ErrBadCID, Detail: err.Error()}
	}
	detail := unsupportedDetail(c)
	if size := n - uint64(cidLen); size > uint64(maxBlock) {
		return &BlockError{Offset: start, CID: c, Err: ErrBlockTooLarge,
			Detail: fmt.Sprintf("block declares %d bytes, limit is %d", size, maxBlock)}
	}
	if uint64(avail) < n {
		return ix.truncated(start, c)
	}
	return &BlockError{Offset: start, CID: c, Err: ErrUnsupportedCID, Detail: detail}
}

func (ix *Index) truncated(start int64, c cid.Cid) error {
	return &BlockError{Offset: start, CID: c, Err: dagcbor.ErrTruncated,
		Detail: fmt.Sprintf("input ends at byte %d", len(ix.data))}
}
