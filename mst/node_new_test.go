package mst

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand"
	"sort"
	"strings"
	"testing"

	"github.com/arbor-atproto/arbor/dagcbor"
	"github.com/ipfs/go-cid"
)

// blockChanges runs BlockChanges and returns what it reported, failing on
// a node reported twice or bytes that do not hash to their CID.
func blockChanges(t testing.TB, newT, oldT *Tree) (added MapSource, removed map[cid.Cid]bool) {
	t.Helper()
	added, removed = MapSource{}, map[cid.Cid]bool{}
	err := newT.BlockChanges(oldT, func(c cid.Cid, data []byte) error {
		if got := dagcbor.SumCID(dagcbor.CodecDagCBOR, data); got != c {
			t.Fatalf("added %s with bytes hashing to %s", c, got)
		}
		if _, dup := added[c]; dup {
			t.Fatalf("added %s twice", c)
		}
		added[c] = data
		return nil
	}, func(c cid.Cid) error {
		if removed[c] {
			t.Fatalf("removed %s twice", c)
		}
		removed[c] = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return added, removed
}

// bruteChanges is the set difference of the two trees' WriteBlocks.
func bruteChanges(t testing.TB, newT, oldT *Tree) (added MapSource, removed map[cid.Cid]bool) {
	t.Helper()
	nb, ob := blocksOf(t, newT), blocksOf(t, oldT)
	added, removed = MapSource{}, map[cid.Cid]bool{}
	for c, d := range nb {
		if _, ok := ob[c]; !ok {
			added[c] = d
		}
	}
	for c := range ob {
		if _, ok := nb[c]; !ok {
			removed[c] = true
		}
	}
	return added, removed
}

func cidSet(m map[cid.Cid]bool) string {
	var s []string
	for c := range m {
		s = append(s, c.String())
	}
	sort.Strings(s)
	return strings.Join(s, " ")
}

func checkAgainstBrute(t *testing.T, newT, oldT *Tree) {
	t.Helper()
	wantAdded, wantRemoved := bruteChanges(t, newT, oldT)
	added, removed := blockChanges(t, newT, oldT)
	if !sameBlocks(added, wantAdded) {
		t.Errorf("added %d nodes, want %d (set difference of WriteBlocks)", len(added), len(wantAdded))
	}
	if got, want := cidSet(removed), cidSet(wantRemoved); got != want {
		t.Errorf("removed %q, want %q", got, want)
	}
}

// mutate applies n random creates, updates and deletes to tr.
func mutate(t testing.TB, rng *rand.Rand, tr *Tree, pairs []kv, n int) *Tree {
	t.Helper()
	var err error
	for i := 0; i < n; i++ {
		switch op := rng.Intn(3); {
		case op == 0 || len(pairs) == 0:
			p := randomPairs(rng, 1)[0]
			tr, err = tr.Insert([]byte(p.key), p.val)
		case op == 1:
			p := pairs[rng.Intn(len(pairs))]
			tr, err = tr.Insert([]byte(p.key), dagcbor.SumCID(dagcbor.CodecDagCBOR, []byte(fmt.Sprint(rng.Int()))))
		default:
			p := pairs[rng.Intn(len(pairs))]
			if _, found, _ := tr.Get([]byte(p.key)); found {
				tr, err = tr.Delete([]byte(p.key))
			}
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return tr
}

func buildFrom(t testing.TB, pairs []kv) *Tree {
	t.Helper()
	tr, err := BuildTree(leavesOf(pairs))
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// reload returns tr read back lazily from its own blocks: same CIDs, no
// node shared in memory with tr.
func reload(t testing.TB, tr *Tree) *Tree {
	t.Helper()
	l, err := Load(blocksOf(t, tr), rootOf(t, tr))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestBlockChangesEqualsSetDifferenceOfWriteBlocks(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	cases := []struct {
		name string
		size int // records in the old tree
		ops  int // random creates, updates and deletes on top of it
	}{
		{"empty to one record", 0, 1},
		{"one record changed", 1, 1},
		{"single write into a small tree", 20, 1},
		{"single write into a large tree", 3000, 1},
		{"a few writes into a large tree", 3000, 5},
		{"a batch of writes", 500, 200},
		{"most of a small tree rewritten", 30, 100},
		{"no change", 200, 0},
	}
	for _, tc := range cases {
		for round := 0; round < 4; round++ {
			t.Run(fmt.Sprintf("%s/%d", tc.name, round), func(t *testing.T) {
				pairs := randomPairs(rng, tc.size)
				oldT := buildFrom(t, pairs)
				newT := mutate(t, rng, oldT, pairs, tc.ops)
				t.Run("derived by Insert and Delete", func(t *testing.T) { checkAgainstBrute(t, newT, oldT) })
				t.Run("old loaded separately", func(t *testing.T) { checkAgainstBrute(t, newT, reload(t, oldT)) })
				t.Run("both loaded separately", func(t *testing.T) { checkAgainstBrute(t, reload(t, newT), reload(t, oldT)) })
				t.Run("backwards", func(t *testing.T) { checkAgainstBrute(t, oldT, newT) })
			})
		}
	}
}

func TestBlockChangesBetweenUnrelatedTrees(t *testing.T) {
	rng := rand.New(rand.NewSource(11))
	sizes := []struct{ a, b int }{{0, 0}, {0, 50}, {50, 0}, {1, 1}, {10, 300}, {300, 10}, {400, 400}}
	for _, sz := range sizes {
		t.Run(fmt.Sprintf("%d and %d records", sz.a, sz.b), func(t *testing.T) {
			a, b := buildFrom(t, randomPairs(rng, sz.a)), buildFrom(t, randomPairs(rng, sz.b))
			checkAgainstBrute(t, a, b)
		})
	}
}

func TestNewBlocksWithoutOldTreeGivesEveryNode(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	for _, n := range []int{0, 1, 100} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			tr := buildFrom(t, randomPairs(rng, n))
			got := MapSource{}
			if err := tr.BlockChanges(nil, func(c cid.Cid, data []byte) error { got[c] = data; return nil },
				func(c cid.Cid) error { t.Errorf("removed %s with no old tree", c); return nil }); err != nil {
				t.Fatal(err)
			}
			if want := blocksOf(t, tr); !sameBlocks(got, want) {
				t.Errorf("NewBlocks(nil) gave %d nodes, WriteBlocks %d", len(got), len(want))
			}
		})
	}
}

func TestBlockChangesReadsOnlyChangedNodesOfLazyTrees(t *testing.T) {
	rng := rand.New(rand.NewSource(5))
	pairs := randomPairs(rng, 5000)
	base := buildFrom(t, pairs)
	blocks := blocksOf(t, base)
	cases := []struct {
		name string
		ops  int
	}{{"one write", 1}, {"ten writes", 10}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src := &countingSource{m: blocks}
			oldT, err := Load(src, rootOf(t, base))
			if err != nil {
				t.Fatal(err)
			}
			newT := mutate(t, rng, oldT, pairs, tc.ops)
			before := src.n
			n := 0
			if err := newT.NewBlocks(oldT, func(cid.Cid, []byte) error { n++; return nil }); err != nil {
				t.Fatal(err)
			}
			// The writes already read their paths; the comparison may read
			// a few siblings, never the tree.
			if read := src.n - before; read > 10*tc.ops+10 {
				t.Errorf("NewBlocks read %d nodes of a %d-node tree for %d writes", read, len(blocks), tc.ops)
			}
			if n == 0 || n > 10*tc.ops+10 {
				t.Errorf("NewBlocks reported %d nodes for %d writes", n, tc.ops)
			}
		})
	}
}

type countingSource struct {
	m MapSource
	n int
}

func (s *countingSource) Get(c cid.Cid) ([]byte, error) {
	s.n++
	return s.m.Get(c)
}

func TestBlockChangesStopsAtFirstError(t *testing.T) {
	rng := rand.New(rand.NewSource(9))
	pairs := randomPairs(rng, 300)
	base := buildFrom(t, pairs)
	blocks := blocksOf(t, base)
	stop := errors.New("stop")
	cases := []struct {
		name    string
		added   func(cid.Cid, []byte) error
		removed func(cid.Cid) error
		missing bool // the old tree lacks a block below its root
		want    error
	}{
		{name: "added fails", added: func(cid.Cid, []byte) error { return stop }, want: stop},
		{name: "removed fails", added: func(cid.Cid, []byte) error { return nil }, removed: func(cid.Cid) error { return stop }, want: stop},
		{name: "old tree misses a changed node", added: func(cid.Cid, []byte) error { return nil }, removed: func(cid.Cid) error { return nil }, missing: true, want: ErrMissingBlock},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src := MapSource{}
			root := rootOf(t, base)
			for c, d := range blocks {
				if !tc.missing || c == root {
					src[c] = d
				}
			}
			oldT, err := Load(src, root)
			if err != nil {
				t.Fatal(err)
			}
			// A new tree built apart, so that the walk must read the old
			// tree's nodes below the root to compare them.
			more := append(append([]kv(nil), pairs...), randomPairs(rng, 50)...)
			newT := buildFrom(t, more)
			err = newT.BlockChanges(oldT, tc.added, tc.removed)
			if !errors.Is(err, tc.want) {
				t.Errorf("error %v, want %v", err, tc.want)
			}
		})
	}
}

func TestNewBlocksBytesAreTheNodeEncoding(t *testing.T) {
	rng := rand.New(rand.NewSource(13))
	pairs := randomPairs(rng, 200)
	oldT := buildFrom(t, pairs)
	newT := mutate(t, rng, oldT, pairs, 20)
	all := blocksOf(t, newT)
	if err := newT.NewBlocks(oldT, func(c cid.Cid, data []byte) error {
		if !bytes.Equal(all[c], data) {
			t.Errorf("%s: bytes differ from WriteBlocks", c)
		}
		if _, err := DecodeNode(data); err != nil {
			t.Errorf("%s: %v", c, err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkNewBlocksOneWrite is the node work of one commit (one record
// added) by tree size: NewBlocks against the set difference of WriteBlocks.
func BenchmarkNewBlocksOneWrite(b *testing.B) {
	for _, n := range []int{1000, 100000} {
		rng := rand.New(rand.NewSource(1))
		pairs := randomPairs(rng, n)
		base := buildFrom(b, pairs)
		rootOf(b, base)
		extra := randomPairs(rng, 1)[0]
		b.Run(fmt.Sprintf("NewBlocks/%d", n), func(b *testing.B) {
			for b.Loop() {
				next, err := base.Insert([]byte(extra.key), extra.val)
				if err != nil {
					b.Fatal(err)
				}
				if err := next.NewBlocks(base, func(cid.Cid, []byte) error { return nil }); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("WriteBlocksDifference/%d", n), func(b *testing.B) {
			old := map[cid.Cid]struct{}{}
			if err := base.WriteBlocks(func(c cid.Cid, _ []byte) error { old[c] = struct{}{}; return nil }); err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				next, err := base.Insert([]byte(extra.key), extra.val)
				if err != nil {
					b.Fatal(err)
				}
				if err := next.WriteBlocks(func(c cid.Cid, _ []byte) error { _, ok := old[c]; _ = ok; return nil }); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
