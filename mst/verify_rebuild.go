package mst

import "github.com/ipfs/go-cid"

// rebuildBatch is how many leaves Verify hands the rebuild at a time. A
// tree with fewer leaves is rebuilt on the walking goroutine; a larger one
// on a goroutine of its own, so that re-encoding and hashing the rebuilt
// nodes (about a quarter of Verify's work) overlaps the walk.
const rebuildBatch = 4096

// rebuild feeds the leaves Verify walks to a Builder, in order.
type rebuild struct {
	b     *Builder
	batch *leafBatch
	work  chan *leafBatch // to the building goroutine; nil until started
	free  chan *leafBatch // batches it is done with
	done  chan struct{}
}

// leafBatch holds leaves with their keys packed in one buffer.
type leafBatch struct {
	keys   []byte
	leaves []batchLeaf
}

type batchLeaf struct {
	end    int // key is keys[previous end:end]
	height int
	val    cid.Cid
}

func newRebuild() *rebuild {
	return &rebuild{b: NewBuilder(nil), batch: &leafBatch{}}
}

// add queues a leaf whose key the walk has checked (valid, sorted) and
// whose height is h. The key is copied.
func (r *rebuild) add(key []byte, val cid.Cid, h int) {
	bt := r.batch
	bt.keys = append(bt.keys, key...)
	bt.leaves = append(bt.leaves, batchLeaf{end: len(bt.keys), height: h, val: val})
	if len(bt.leaves) < rebuildBatch {
		return
	}
	if r.work == nil {
		r.work, r.free, r.done = make(chan *leafBatch, 2), make(chan *leafBatch, 4), make(chan struct{})
		go r.run()
	}
	size := cap(bt.keys) // bt is the builder's once sent
	r.work <- bt
	select {
	case r.batch = <-r.free:
	default:
		r.batch = &leafBatch{keys: make([]byte, 0, size), leaves: make([]batchLeaf, 0, rebuildBatch)}
	}
}

func (r *rebuild) run() {
	defer close(r.done)
	for bt := range r.work {
		r.apply(bt)
		select {
		case r.free <- bt:
		default:
		}
	}
}

// apply adds a batch's leaves to the Builder. Its add only fails when emit
// does, and Verify's Builder has none.
func (r *rebuild) apply(bt *leafBatch) {
	start := 0
	for _, l := range bt.leaves {
		_ = r.b.add(bt.keys[start:l.end], l.val, l.height)
		start = l.end
	}
	bt.keys, bt.leaves = bt.keys[:0], bt.leaves[:0]
}

// stop waits for the building goroutine, if any, to finish what it was
// given. The Builder is the caller's again afterwards.
func (r *rebuild) stop() {
	if r.work != nil {
		close(r.work)
		<-r.done
		r.work = nil
	}
}

// finish builds what is left and returns the rebuilt root.
func (r *rebuild) finish() (cid.Cid, error) {
	if r.work != nil {
		r.work <- r.batch
		r.batch = nil
		r.stop()
	} else {
		r.apply(r.batch)
	}
	return r.b.Finish()
}
