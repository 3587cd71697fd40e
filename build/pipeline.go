package build

import (
	"crypto/sha256"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/arbor-atproto/arbor/dagcbor"
	"github.com/arbor-atproto/arbor/mst"
)

// The loading pipeline: one goroutine produces raw items (JSON lines or
// files) in batches, one worker per CPU turns each batch into encoded
// records, and the caller's goroutine puts the batches back in input order
// into the RecordSet. Batch buffers are recycled, so the steady state
// allocates next to nothing per record: what grows is the set's slabs.

// Batch limits: a batch is sent when it holds this many items or bytes.
const (
	batchItems = 1024
	batchBytes = 256 << 10
)

// errStopped ends a producer early because an item already failed; it is
// never reported.
var errStopped = errors.New("stopped after an earlier error")

type inBatch struct {
	seq   int
	buf   []byte
	items []rawItem
}

// outRec is one converted record of an outBatch: its body and key are
// spans of the batch's buffers.
type outRec struct {
	m            recMeta
	file         string
	bstart, bend int
	kstart, kend int
}

type outBatch struct {
	seq    int
	bodies []byte
	keys   []byte
	recs   []outRec
	err    error // of the first failing item; the records before it are kept
}

// producer hands raw items to the workers in batches.
type producer struct {
	jobs     chan<- *inBatch
	free     chan *inBatch
	failedAt *atomic.Int64 // lowest seq of a failed batch
	cur      *inBatch
	seq      int
}

func (p *producer) batch() *inBatch {
	select {
	case b := <-p.free:
		b.buf, b.items = b.buf[:0], b.items[:0]
		return b
	default:
		return &inBatch{buf: make([]byte, 0, batchBytes+4<<10)}
	}
}

// emit queues one item whose content is data (copied). It returns false
// once an item has failed: nothing after it matters.
func (p *producer) emit(it rawItem, data []byte) bool {
	if int64(p.seq) > p.failedAt.Load() {
		return false
	}
	if p.cur == nil {
		p.cur = p.batch()
		p.cur.seq = p.seq
	}
	b := p.cur
	it.start = len(b.buf)
	b.buf = append(b.buf, data...)
	it.end = len(b.buf)
	b.items = append(b.items, it)
	if len(b.items) >= batchItems || len(b.buf) >= batchBytes {
		p.flush()
	}
	return true
}

func (p *producer) flush() {
	if p.cur == nil {
		return
	}
	p.jobs <- p.cur
	p.cur = nil
	p.seq++
}

// process runs produce, which emits raw items in input order, converting
// the items on every CPU. It returns the records in input order, or the
// error of the earliest failing item (or of produce, if it failed before
// any item did).
func process(produce func(p *producer) error) (*RecordSet, error) {
	workers := runtime.GOMAXPROCS(0)
	jobs := make(chan *inBatch, workers*2)
	results := make(chan *outBatch, workers*2)
	inFree := make(chan *inBatch, workers*4)
	outFree := make(chan *outBatch, workers*4)
	var failedAt atomic.Int64
	failedAt.Store(1<<62 - 1)
	p := &producer{jobs: jobs, free: inFree, failedAt: &failedAt}
	var perr error
	go func() {
		defer close(jobs)
		perr = produce(p)
		p.flush()
	}()
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := worker{pc: pathChecker{}}
			for b := range jobs {
				var out *outBatch
				select {
				case out = <-outFree:
					out.bodies, out.keys, out.recs, out.err = out.bodies[:0], out.keys[:0], out.recs[:0], nil
				default:
					out = &outBatch{}
				}
				out.seq = b.seq
				if int64(b.seq) <= failedAt.Load() {
					w.batch(b, out)
				}
				if out.err != nil {
					for {
						cur := failedAt.Load()
						if int64(b.seq) >= cur || failedAt.CompareAndSwap(cur, int64(b.seq)) {
							break
						}
					}
				}
				select {
				case inFree <- b:
				default:
				}
				results <- out
			}
		}()
	}
	go func() {
		wg.Wait()
		close(results)
	}()

	set := &RecordSet{}
	pending := map[int]*outBatch{}
	next := 0
	var first error // of the earliest failing item
	for b := range results {
		pending[b.seq] = b
		for {
			nb, ok := pending[next]
			if !ok {
				break
			}
			delete(pending, next)
			next++
			if first == nil {
				for i := range nb.recs {
					r := &nb.recs[i]
					set.add(r.m, nb.bodies[r.bstart:r.bend], nb.keys[r.kstart:r.kend], r.file)
				}
				first = nb.err
			}
			select {
			case outFree <- nb:
			default:
			}
		}
	}
	if first != nil {
		return nil, first
	}
	if perr != nil && perr != errStopped {
		return nil, perr
	}
	return set, nil
}

// worker converts items; each worker has its own transcoder and scratch.
type worker struct {
	tr  dagcbor.JSONTranscoder
	env []byte
	pc  pathChecker
}

func (w *worker) batch(b *inBatch, out *outBatch) {
	for i := range b.items {
		it := &b.items[i]
		it.data = b.buf[it.start:it.end]
		err := w.convert(it, out)
		it.data = nil
		if err != nil {
			out.err = err
			return
		}
	}
}

// convert adds one item's record to out. The common case takes a direct
// path (JSON transcoded straight to DAG-CBOR, the envelope and the record
// checked on the CBOR); anything else, and every error, goes through
// convertValues, which says precisely what is wrong.
func (w *worker) convert(it *rawItem, out *outBatch) error {
	env, err := w.tr.AppendCBOR(w.env[:0], it.data)
	if err == nil {
		w.env = env
		if w.direct(it, env, out) {
			return nil
		}
	}
	rec, err := convertValues(it, w.pc)
	if err != nil {
		return err
	}
	h := rec.CID.Hash()
	m := recMeta{line: int64(it.line), coll: uint32(len(rec.Collection)), codec: dagcbor.CodecDagCBOR}
	copy(m.digest[:], h[len(h)-32:])
	r := outRec{m: m, file: it.file, bstart: len(out.bodies), kstart: len(out.keys)}
	out.bodies = append(out.bodies, rec.Data...)
	out.keys = append(out.keys, rec.Collection...)
	if rec.RKey != "" {
		out.keys = append(append(out.keys, '/'), rec.RKey...)
	}
	r.bend, r.kend = len(out.bodies), len(out.keys)
	out.recs = append(out.recs, r)
	return nil
}

// direct checks an item already transcoded to enc and adds it to out; it
// returns false, having added nothing, when the item needs convertValues.
func (w *worker) direct(it *rawItem, enc []byte, out *outBatch) bool {
	rec := enc
	var coll, rkey []byte
	if it.envelope {
		var ok bool
		if coll, rkey, rec, ok = envelopeParts(enc); !ok {
			return false
		}
		if !w.pc[string(coll)] {
			return false // unseen collection: convertValues checks it
		}
		if len(rkey) > 0 && !plainRecordKey(string(rkey)) {
			return false
		}
		if n := len(rkey); n == 0 && len(coll)+1+len("self") > mst.MaxKeyLen || len(coll)+1+n > mst.MaxKeyLen {
			return false
		}
	} else if err := w.pc.check(it.collection, it.rkey); err != nil {
		return false
	}
	if len(rec) > MaxRecordSize || !hasType(rec) {
		return false
	}
	r := outRec{file: it.file, bstart: len(out.bodies), kstart: len(out.keys)}
	r.m.line, r.m.codec, r.m.digest = int64(it.line), dagcbor.CodecDagCBOR, sha256.Sum256(rec)
	out.bodies = append(out.bodies, rec...)
	if it.envelope {
		r.m.coll = uint32(len(coll))
		out.keys = append(out.keys, coll...)
		if len(rkey) > 0 {
			out.keys = append(append(out.keys, '/'), rkey...)
		}
	} else {
		r.m.coll = uint32(len(it.collection))
		out.keys = append(append(append(out.keys, it.collection...), '/'), it.rkey...)
	}
	r.bend, r.kend = len(out.bodies), len(out.keys)
	out.recs = append(out.recs, r)
	return true
}

// envelopeParts reads a JSON line's {"collection", "rkey", "record"} from
// its DAG-CBOR: the collection (a string), the rkey (empty when null or
// absent) and the record's encoding. ok is false for anything else.
func envelopeParts(enc []byte) (coll, rkey, rec []byte, ok bool) {
	r := dagcbor.NewReader(enc)
	n, err := r.ReadMapHeader()
	if err != nil {
		return nil, nil, nil, false
	}
	var prev []byte
	for range n {
		k, err := r.ReadMapKey(prev)
		if err != nil {
			return nil, nil, nil, false
		}
		prev = k
		switch string(k) {
		case "collection":
			if coll, err = r.ReadTextBytes(); err != nil {
				return nil, nil, nil, false
			}
		case "rkey":
			if r.PeekNull() {
				if r.ReadNull() != nil {
					return nil, nil, nil, false
				}
				continue
			}
			if rkey, err = r.ReadTextBytes(); err != nil {
				return nil, nil, nil, false
			}
		case "record":
			start := r.Offset()
			if r.Skip() != nil {
				return nil, nil, nil, false
			}
			rec = enc[start:r.Offset()]
		default:
			return nil, nil, nil, false
		}
	}
	return coll, rkey, rec, coll != nil && rec != nil
}

// hasType reports whether rec is a map with a "$type" key.
func hasType(rec []byte) bool {
	r := dagcbor.NewReader(rec)
	n, err := r.ReadMapHeader()
	if err != nil {
		return false
	}
	var prev []byte
	for range n {
		k, err := r.ReadMapKey(prev)
		if err != nil || len(k) > len("$type") {
			return false
		}
		if string(k) == "$type" {
			return true
		}
		prev = k
		if r.Skip() != nil {
			return false
		}
	}
	return false
}
