package archive

import (
	"runtime"
	"sync/atomic"

	"github.com/arbor-atproto/arbor/mst"
)

// Inspect's walk of the current tree runs after the whole file is read,
// on one core while the other waits. For a large tree walkSplit walks the
// root's subtrees on two walkers instead, one taking the first half of
// them and one the second, sharing the reached bits (set atomically) and
// merging their statistics at the end. The result is the one walker's
// exactly when no node is reached twice: the two halves are then
// disjoint, and each is walked in the order one walker would walk it.
// A node reached twice (a tree that reuses a subtree, which verify
// reports) makes the statistics depend on which path got there first, so
// then Inspect walks again on one walker.

// splitWalkMin is the size of the block table from which Inspect splits
// its walk: below it the walk is too short to gain from a second core.
const splitWalkMin = 1 << 16

// walkSplit walks the current tree from its root, link, on two walkers,
// and reports whether it did. When it did not, redo says that w has marked
// part of the tree and the caller must walk with a new walker; else w is
// as it was.
func (w *treeWalker) walkSplit(link []byte) (done, redo bool) {
	a := w.a
	if (a.store.n < splitWalkMin && !a.alwaysSplitWalk) || runtime.GOMAXPROCS(0) < 2 {
		return false, false
	}
	i := w.find(link)
	if i < 0 || a.store.present(i) < 0 || a.store.compactBody(i) == nil || w.reachedAt(i) {
		return false, false // the one walker says what is wrong, or walks a raw node
	}
	w.markRef(i, link)
	// The root's own entries, as walkCompact counts them, then its
	// subtrees left to right.
	var kids []uint64
	layer, n := -1, 0
	left, key := mst.WalkCompact(a.store.compactBody(i), w.key, func(key []byte, val, right uint64) {
		w.entry(key, &layer)
		w.markRef(int(val)-1, nil)
		n++
		if right != 0 {
			kids = append(kids, right)
		}
	})
	w.key = key
	w.node(1, layer, n)
	if left != 0 {
		kids = append([]uint64{left}, kids...)
	}
	var conflict atomic.Bool
	w2 := a.newWalker()
	w2.reached, w2.conflict, w.conflict = w.reached, &conflict, &conflict
	half := (len(kids) + 1) / 2
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		for _, ref := range kids[half:] {
			w2.walkAt(int(ref)-1, nil, 2)
		}
	}()
	for _, ref := range kids[:half] {
		w.walkAt(int(ref)-1, nil, 2)
	}
	<-finished
	w.conflict = nil
	if conflict.Load() {
		return false, true
	}
	w.merge(w2)
	return true, false
}

// reachedAt reports whether w has reached table entry i.
func (w *treeWalker) reachedAt(i int) bool {
	return w.reached[i/64]&(1<<(i%64)) != 0
}

// merge adds what w2 counted, over the later part of the tree, to w's.
func (w *treeWalker) merge(w2 *treeWalker) {
	s, s2 := w.stats, w2.stats
	s.Records += s2.Records
	s.MSTNodes += s2.MSTNodes
	s.MSTDepth = max(s.MSTDepth, s2.MSTDepth)
	for l, n := range s2.EntriesPerLayer {
		s.EntriesPerLayer[l] += n
	}
	for coll, p := range w2.colls {
		if q := w.colls[coll]; q != nil {
			*q += *p
		} else {
			w.colls[coll] = p
		}
	}
	for c := range w2.missing {
		w.missing[c] = true
	}
	if w.err == nil { // w's part comes first in walk order
		w.err = w2.err
	}
	w.coll, w.count = nil, nil
}
