package archive

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/ipfs/go-cid"

	"github.com/arbor-atproto/arbor/dagcbor"
	"github.com/arbor-atproto/arbor/internal/testfixtures"
	"github.com/arbor-atproto/arbor/mst"
)

// Trees on which the two walkers of a split walk meet what only one
// walker's order decides: a subtree both halves link to, and links nested
// deeper than any layer in one half or both. Inspect gives exactly what
// one walker gives.
func TestSplitWalkHandsWhatOrderDecidesToOneWalker(t *testing.T) {
	records := genPosts(t, 2)
	var paths []string
	for p := range records {
		paths = append(paths, p)
	}
	rec := dagcbor.SumCID(dagcbor.CodecDagCBOR, records[paths[0]])
	block := func(nd *mst.NodeData) genBlock {
		b := mst.EncodeNode(nd)
		return genBlock{dagcbor.SumCID(dagcbor.CodecDagCBOR, b), b}
	}
	leaf := func(key string) genBlock {
		return block(&mst.NodeData{Entries: []mst.EntryData{{Suffix: []byte(key), Value: rec}}})
	}
	// chain is n entry-less nodes above b, top first.
	chain := func(n int, b genBlock) []genBlock {
		out := []genBlock{b}
		for range n {
			out = append([]genBlock{block(&mst.NodeData{Left: out[0].c})}, out...)
		}
		return out
	}
	root := func(left, right cid.Cid) genBlock {
		return block(&mst.NodeData{Left: left, Entries: []mst.EntryData{{Suffix: []byte("m/middle"), Value: rec, Right: right}}})
	}
	shared := leaf("a/shared")
	// wide is a root whose subtrees are left, then one per entry.
	wide := func(left cid.Cid, rights ...cid.Cid) genBlock {
		nd := &mst.NodeData{Left: left}
		for i, r := range rights {
			nd.Entries = append(nd.Entries, mst.EntryData{Suffix: []byte(fmt.Sprintf("m/%d", i)), Value: rec, Right: r})
		}
		return block(nd)
	}
	only1, only2 := leaf("b/only-first-half"), leaf("y/only-second-half")
	deepL, deepR := chain(mst.MaxDepth+1, leaf("a/left")), chain(mst.MaxDepth+3, leaf("z/right"))
	small := leaf("a/small")
	tests := []struct {
		name  string
		tree  []genBlock
		split bool // whether the split walk stands (no node reached twice)
	}{
		{"a subtree both halves link to", []genBlock{root(shared.c, shared.c), shared}, false},
		{"a subtree both halves link to, beside one each half has alone",
			[]genBlock{wide(only1.c, shared.c, shared.c, only2.c), only1, shared, only2}, false},
		{"too deep in the second half", append([]genBlock{root(small.c, deepR[0].c), small}, deepR...), true},
		{"too deep in both halves", append(append([]genBlock{root(deepL[0].c, deepR[0].c)}, deepL...), deepR...), true},
		{"a well-formed pair of halves", []genBlock{root(small.c, shared.c), small, shared}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := &genRepo{key: testfixtures.NewKey(t, false), records: records, tree: tc.tree}
			data, _ := g.build(t)
			one := readGen(t, data, true)
			s1, err1 := one.Inspect()
			two := readGen(t, data, true)
			two.alwaysSplitWalk = true
			s2, err2 := two.Inspect()
			if (err1 == nil) != (err2 == nil) || (err1 != nil && err1.Error() != err2.Error()) {
				t.Fatalf("two walkers: %v; one walker: %v", err2, err1)
			}
			if !reflect.DeepEqual(s1, s2) {
				t.Fatalf("two walkers: %+v\none walker: %+v", s2, s1)
			}
			w := two.newWalker()
			w.mark(two.Root)
			if got, _ := w.walkSplit(two.Data.Bytes()); got != tc.split {
				t.Fatalf("walkSplit = %v, want %v", got, tc.split)
			}
		})
	}
}
