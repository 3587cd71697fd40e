package archive

import (
	"errors"
	"io"
	"runtime"

	"github.com/ipfs/go-cid"

	"github.com/arbor-atproto/arbor/car"
	"github.com/arbor-atproto/arbor/dagcbor"
	"github.com/arbor-atproto/arbor/repo"
)

// Reading is a pipeline of three stages, so that every core has work:
//
//   - the framer (one goroutine) reads the file's sections into batches of
//     about batchBytes, without hashing them (car.WithoutHashCheck);
//   - the checkers (one per core) each take a whole batch, hash every block
//     against its CID (car.Block.Check) and check the blocks that are not
//     MST nodes as records (classify): strict DAG-CBOR, commit shape,
//     $type. These depend on nothing but the block's bytes;
//   - the indexer (read's own goroutine) takes the batches in file order,
//     waits until each is checked, and does what needs the archive's one
//     table: inserting blocks, compacting nodes (their links become
//     references to it), counting duplicates. Decoding the nodes on the
//     checkers instead was tried: no faster that could be measured, and
//     the decoded nodes of a batch held 25 MiB more at the peak.
//
// A file under inlineBelow bytes is checked by the indexer itself.
//
// Batches go to the checkers and, in the same order, to the indexer; a
// batch is reused once the indexer is done with it.

// batch carries blocks from the framer to the checkers and the indexer.
type batch struct {
	buf     []byte
	blocks  []batchBlock
	err     error         // final: io.EOF or the error that ended the read
	checked chan struct{} // closed when a checker is done with blocks; nil when checked inline
}

type batchBlock struct {
	cid        cid.Cid // only for bad blocks; others go by digest
	digest     [32]byte
	codec      uint8
	class      uint8 // what the block was found to be (classUnchecked, ...)
	rec        uint8 // classRecord: the record's recordState
	offset     int64 // of the section
	dataOff    int64 // of the block's data, relative to the CAR's start
	start, end int
	// err is, for classBad, why the block cannot be trusted; for
	// classFatal, the error that ends the read at this block; for
	// classInvalid, why dagcbor.Validate refused it.
	err error
}

// What a block was found to be. classUnchecked is a block shaped like an
// MST node, or not DAG-CBOR: the indexer decides.
const (
	classUnchecked uint8 = iota
	classBad             // bytes not those of its CID, or an unsupported CID, collected under CollectBadBlocks
	classFatal           // bytes not those of its CID, read without CollectBadBlocks: the read ends here
	classInvalid         // not strict DAG-CBOR
	classCommit          // a commit (of the history)
	classRecord          // valid DAG-CBOR, not a commit: rec says what it is as a record
)

// classify says what a DAG-CBOR block that is not an MST node is: a
// commit, or a record checked as such (or, with skipRecords, not checked).
func classify(bb *batchBlock, data []byte, skipRecords bool) {
	if !skipRecords {
		if err := dagcbor.Validate(data); err != nil {
			bb.class, bb.err = classInvalid, err
			return
		}
	}
	if commitShaped(data) {
		if _, err := repo.DecodeCommit(data); err == nil {
			bb.class = classCommit
			return
		}
	}
	bb.class, bb.rec = classRecord, recUnknown
	if !skipRecords {
		bb.rec = recordState(data)
	}
}

// check is a checker's work on one batch.
func (b *batch) check(collect, skipRecords bool) {
	for i := range b.blocks {
		bb := &b.blocks[i]
		if bb.class == classBad {
			continue
		}
		data := b.buf[bb.start:bb.end]
		blk := car.Block{Data: data, Offset: bb.offset, Digest: bb.digest, Codec: bb.codec}
		if err := blk.Check(); err != nil {
			var be *car.BlockError
			if collect && errors.As(err, &be) {
				bb.class, bb.cid, bb.err = classBad, be.CID, be.Err
			} else {
				bb.class, bb.err = classFatal, err
			}
			continue
		}
		// A block looksLikeNode accepts is nodeShaped too (DAG-CBOR heads
		// are minimal, so a two-entry map whose first key is "e" starts
		// with those three bytes): one look tells records from nodes.
		if bb.codec == dagcbor.CodecDagCBOR && !nodeShaped(data) {
			classify(bb, data, skipRecords)
		}
	}
	if b.checked != nil {
		close(b.checked)
	}
}

type pipeline struct {
	ordered     chan *batch // to the indexer, in file order
	free        chan *batch // back from the indexer
	stop        chan struct{}
	work        chan *batch // to the checkers; nil when the indexer checks (inline)
	collect     bool        // loadOptions.CollectBadBlocks
	skipRecords bool        // loadOptions.SkipRecords
}

// inlineBelow is the file size under which the indexer checks the blocks
// itself: an archive of one batch or so gains nothing from the checkers,
// and a run over many small repositories (verify --batch) would pay for
// starting them once per repository.
const inlineBelow = 2 * batchBytes

// startPipeline starts the framer and the checkers on cr; size is the
// file's size, or 0 when unknown.
func startPipeline(cr *car.Reader, opts loadOptions, size int64) *pipeline {
	workers := runtime.GOMAXPROCS(0)
	batches := workers + 2 // one framed, one per checker, one indexed
	p := &pipeline{ordered: make(chan *batch, batches), free: make(chan *batch, batches), stop: make(chan struct{}), collect: opts.CollectBadBlocks, skipRecords: opts.SkipRecords}
	if size <= 0 || size >= inlineBelow {
		p.work = make(chan *batch, batches)
		for range workers {
			go func() {
				for b := range p.work {
					b.check(p.collect, p.skipRecords)
				}
			}()
		}
	}
	go p.frame(cr, opts, batches)
	return p
}

// next returns the next batch in file order, checked, or nil at the end.
func (p *pipeline) next() *batch {
	b, ok := <-p.ordered
	if !ok {
		return nil
	}
	if p.work == nil {
		b.check(p.collect, p.skipRecords)
	} else {
		<-b.checked
	}
	return b
}

// close stops the framer (and so the checkers) if the indexer ends early.
func (p *pipeline) close() { close(p.stop) }

// send hands b to the checkers and the indexer; false when stopped.
func (p *pipeline) send(b *batch) bool {
	if p.work != nil {
		b.checked = make(chan struct{})
		select {
		case p.work <- b:
		case <-p.stop:
			return false
		}
	}
	select {
	case p.ordered <- b:
		return true
	case <-p.stop:
		return false
	}
}

// frame is the framer: it reads sections into batches until the file ends
// or a framing error ends it (sent as the last batch's err).
func (p *pipeline) frame(cr *car.Reader, opts loadOptions, batches int) {
	if p.work != nil {
		defer close(p.work)
	}
	defer close(p.ordered)
	var b *batch
	made := 0
	for {
		if b == nil {
			// Batches are made only as the file needs them, and their
			// buffers start small and grow to a batch's size only in a
			// file that large: a small archive's fixed cost stays small.
			select {
			case b = <-p.free:
			default:
				if made < batches {
					made++
					b = &batch{buf: make([]byte, 0, 32<<10)}
					break
				}
				select {
				case b = <-p.free:
				case <-p.stop:
					return
				}
			}
			b.buf, b.blocks, b.err = b.buf[:0], b.blocks[:0], nil
		}
		st := len(b.buf)
		blk, buf, err := cr.NextAppend(b.buf) // straight into the batch
		if err != nil {
			var be *car.BlockError
			if err != io.EOF && opts.CollectBadBlocks && errors.As(err, &be) && be.CID.Defined() && errors.Is(err, car.ErrUnsupportedCID) {
				b.blocks = append(b.blocks, batchBlock{class: classBad, cid: be.CID, offset: be.Offset, err: be.Err})
				continue
			}
			b.err = err
			p.send(b)
			return
		}
		b.buf = buf
		b.blocks = append(b.blocks, batchBlock{digest: blk.Digest, codec: blk.Codec, offset: blk.Offset,
			dataOff: cr.BytesRead() - int64(len(blk.Data)), start: st, end: len(b.buf)})
		if len(b.buf) >= batchBytes || len(b.blocks) >= 8192 {
			if !p.send(b) {
				return
			}
			b = nil
			if opts.Progress != nil {
				opts.Progress(cr.BytesRead())
			}
		}
	}
}
