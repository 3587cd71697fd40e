package mst

import (
	"slices"

	"github.com/ipfs/go-cid"
)

// rebuildBatch is how many leaves Verify hands its leaf checker at a time.
// A tree with fewer leaves is checked on the walking goroutine; a larger
// one on a goroutine of its own, so that hashing every key for its height
// and re-encoding and hashing the rebuilt nodes (together about half of
// Verify's work) overlap the walk.
const rebuildBatch = 4096

// rebuild is Verify's leaf checker: for every leaf the walk meets, in walk
// order, it computes the key's height and checks it against the layer of
// the node holding it, and it feeds the leaves to a Builder while the walk
// says they are fit for it (valid keys, sorted).
//
// The problems it finds are the walk's too, and Verify reports them in
// the order a one-goroutine walk would: each is stamped with how many
// problems the walk had found when it passed the leaf (see merge).
type rebuild struct {
	b        *Builder
	batch    *leafBatch
	work     chan *leafBatch // to the checking goroutine; nil until started
	free     chan *leafBatch // batches it is done with
	done     chan struct{}
	problems []stampedProblem
}

// stampedProblem is a problem the leaf checker found, after the first at
// problems of the walk's own.
type stampedProblem struct {
	at int
	p  Problem
}

// leafBatch holds leaves with their keys and values packed in one buffer.
type leafBatch struct {
	keys   []byte
	leaves []batchLeaf
}

type batchLeaf struct {
	// The key is keys[previous valEnd:keyEnd], the value's CID in binary
	// form keys[keyEnd:valEnd].
	keyEnd, valEnd int
	layer          int // of the node holding the leaf
	at             int // problems the walk had found by then
	node           cid.Cid
	feed           bool // a valid, sorted key of a tree still fit to rebuild
}

func newRebuild() *rebuild {
	return &rebuild{b: NewBuilder(nil), batch: &leafBatch{}}
}

// add queues a leaf whose key is valid (ValidateKey), found in node at
// layer after the walk's first at problems; val is its value's CID in
// binary form; feed says whether to build it. Key and value are copied.
func (r *rebuild) add(node cid.Cid, key, val []byte, layer, at int, feed bool) {
	bt := r.batch
	bt.keys = append(bt.keys, key...)
	keyEnd := len(bt.keys)
	bt.keys = append(bt.keys, val...)
	bt.leaves = append(bt.leaves, batchLeaf{keyEnd: keyEnd, valEnd: len(bt.keys), layer: layer, at: at, node: node, feed: feed})
	if len(bt.leaves) < rebuildBatch {
		return
	}
	if r.work == nil {
		r.work, r.free, r.done = make(chan *leafBatch, 2), make(chan *leafBatch, 4), make(chan struct{})
		go r.run()
	}
	size := cap(bt.keys) // bt is the checker's once sent
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

// apply checks a batch's leaves and adds those to feed to the Builder. Its
// add only fails when emit does, and Verify's Builder has none.
func (r *rebuild) apply(bt *leafBatch) {
	start := 0
	for _, l := range bt.leaves {
		key := bt.keys[start:l.keyEnd]
		start = l.valEnd
		h := Height(key)
		if h != l.layer && len(r.problems) < MaxProblems {
			r.problems = append(r.problems, stampedProblem{l.at, problem(l.node, key, ErrWrongLayer, "key height %d in a layer-%d node", h, l.layer)})
		}
		if l.feed {
			_ = addLink(r.b, key, bt.keys[l.keyEnd:l.valEnd], h)
		}
	}
	bt.keys, bt.leaves = bt.keys[:0], bt.leaves[:0]
}

// flush checks every leaf queued so far and waits until that is done; the
// Builder and the problems are the caller's afterwards.
func (r *rebuild) flush() {
	if r.work == nil {
		r.apply(r.batch)
		return
	}
	r.work <- r.batch
	r.batch = nil
	r.stop()
}

// stop waits for the checking goroutine, if any, to finish what it was
// given.
func (r *rebuild) stop() {
	if r.work != nil {
		close(r.work)
		<-r.done
		r.work = nil
	}
}

// merge returns the walk's problems with the leaf checker's among them, in
// the order of a walk on one goroutine, at most MaxProblems.
func (r *rebuild) merge(walk []Problem) []Problem {
	if len(r.problems) == 0 {
		return walk
	}
	out := make([]Problem, 0, min(MaxProblems, len(walk)+len(r.problems)))
	i := 0
	for _, sp := range r.problems {
		for ; i < sp.at && i < len(walk); i++ {
			out = append(out, walk[i])
		}
		out = append(out, sp.p)
	}
	out = append(out, walk[i:]...)
	return slices.Clip(out[:min(len(out), MaxProblems)])
}
