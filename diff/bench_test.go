package diff

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/ipfs/go-cid"

	"github.com/arbor-atproto/arbor/mst"
)

// benchPair builds two trees of n keys (stored in one source) that differ
// by ops operations (a third each creates, updates and deletes).
func benchPair(b *testing.B, n, ops int) (mst.MapSource, cid.Cid, cid.Cid, int) {
	b.Helper()
	src := mst.MapSource{}
	emit := func(c cid.Cid, d []byte) error { src[c] = d; return nil }
	key := func(i int) []byte { return fmt.Appendf(nil, "app.bsky.feed.post/3k%011d", i*2) }
	bld := mst.NewBuilder(emit)
	for i := range n {
		if err := bld.Add(key(i), val(i)); err != nil {
			b.Fatal(err)
		}
	}
	oldRoot, err := bld.Finish()
	if err != nil {
		b.Fatal(err)
	}
	t, err := mst.Load(src, oldRoot)
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for j := range ops {
		i := rng.IntN(n)
		switch j % 3 {
		case 0: // create between two existing keys
			t, err = t.Insert(fmt.Appendf(nil, "app.bsky.feed.post/3k%011d", i*2+1), val(-j))
		case 1:
			t, err = t.Insert(key(i), val(-j))
		case 2:
			nt, derr := t.Delete(key(i))
			if derr != nil { // already deleted: delete another
				nt, derr = t.Delete(key((i + 1) % n))
			}
			t, err = nt, derr
		}
		if err != nil {
			b.Fatal(err)
		}
	}
	newRoot, err := t.RootCID()
	if err != nil {
		b.Fatal(err)
	}
	if err := t.WriteBlocks(emit); err != nil {
		b.Fatal(err)
	}
	return src, oldRoot, newRoot, len(src)
}

// BenchmarkDiff100kBy300 compares two 100,000-record trees that differ by
// 300 operations, with proofs; visited-nodes/op is the work done.
func BenchmarkDiff100kBy300(b *testing.B) {
	src, oldRoot, newRoot, blocks := benchPair(b, 100_000, 300)
	b.ResetTimer()
	var res *Result
	for b.Loop() {
		var err error
		if res, err = Compare(src, oldRoot, src, newRoot); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(res.OldVisited+res.NewVisited), "visited-nodes")
	b.ReportMetric(float64(blocks), "stored-nodes")
	b.ReportMetric(float64(len(res.Ops)), "ops")
}

// BenchmarkOps100kBy300 is the same walk without the proofs.
func BenchmarkOps100kBy300(b *testing.B) {
	src, oldRoot, newRoot, _ := benchPair(b, 100_000, 300)
	b.ResetTimer()
	var res *Result
	for b.Loop() {
		var err error
		if res, err = Ops(src, oldRoot, src, newRoot); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(res.OldVisited+res.NewVisited), "visited-nodes")
}

// BenchmarkFullWalkBoth100k is the baseline: walk both trees record by
// record and merge the two sorted lists.
func BenchmarkFullWalkBoth100k(b *testing.B) {
	src, oldRoot, newRoot, _ := benchPair(b, 100_000, 300)
	type kv struct {
		k []byte
		v cid.Cid
	}
	list := func(root cid.Cid) []kv {
		t, err := mst.Load(src, root)
		if err != nil {
			b.Fatal(err)
		}
		var out []kv
		if err := t.Walk(func(k []byte, v cid.Cid) error { out = append(out, kv{k, v}); return nil }); err != nil {
			b.Fatal(err)
		}
		return out
	}
	b.ResetTimer()
	changes := 0
	for b.Loop() {
		x, y := list(oldRoot), list(newRoot)
		changes = 0
		i, j := 0, 0
		for i < len(x) || j < len(y) {
			switch {
			case j == len(y) || (i < len(x) && bytes.Compare(x[i].k, y[j].k) < 0):
				changes++
				i++
			case i == len(x) || bytes.Compare(x[i].k, y[j].k) > 0:
				changes++
				j++
			default:
				if x[i].v != y[j].v {
					changes++
				}
				i++
				j++
			}
		}
	}
	b.ReportMetric(float64(changes), "ops")
}

// benchmark1MBy3000 runs compare (Ops or Compare) on two 1M-record trees
// 3,000 operations apart: the scale of the issue.
func benchmark1MBy3000(b *testing.B, compare func(mst.BlockSource, cid.Cid, mst.BlockSource, cid.Cid) (*Result, error)) {
	src, oldRoot, newRoot, blocks := benchPair(b, 1_000_000, 3000)
	b.ResetTimer()
	var res *Result
	for b.Loop() {
		var err error
		if res, err = compare(src, oldRoot, src, newRoot); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(res.OldVisited+res.NewVisited), "visited-nodes")
	b.ReportMetric(float64(blocks), "stored-nodes")
}

func BenchmarkOps1MBy3000(b *testing.B)  { benchmark1MBy3000(b, Ops) }
func BenchmarkDiff1MBy3000(b *testing.B) { benchmark1MBy3000(b, Compare) }
