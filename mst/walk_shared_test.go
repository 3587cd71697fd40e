package mst_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/ipfs/go-cid"

	"github.com/arbor-atproto/arbor/build/hostile"
	"github.com/arbor-atproto/arbor/car"
	"github.com/arbor-atproto/arbor/internal/testfixtures"
	"github.com/arbor-atproto/arbor/mst"
)

// A tree whose subtrees are shared, with every key at its right layer (7
// levels, each node's 40 entries and its left link all pointing at the
// same node below: 41^7 paths through 7 nodes), is refused by WalkSource
// and Tree.Walk at its first repeated key instead of being walked along
// every path (which would take hours).
func TestWalksRefuseSharedSubtrees(t *testing.T) {
	k := testfixtures.NewKey(t, false)
	var n *hostile.Node
	for h := 0; h <= 6; h++ {
		up := &hostile.Node{Left: n}
		for _, key := range hostile.Keys(h, 40) {
			up.Entries = append(up.Entries, hostile.Entry{Key: key, Right: n})
		}
		n = up
	}
	r, err := hostile.Shape(k, "did:plc:abcdefghijklmnopqrstuvwx", n)
	if err != nil {
		t.Fatal(err)
	}
	_, blocks, err := car.ReadAll(bytes.NewReader(r.CAR))
	if err != nil {
		t.Fatal(err)
	}
	src := mst.MapSource(blocks)
	leaves := 0
	count := func([]byte, cid.Cid) error { leaves++; return nil }
	if err := mst.WalkSource(src, r.Data, count); !errors.Is(err, mst.ErrUnsorted) && !errors.Is(err, mst.ErrDuplicateKey) {
		t.Fatalf("WalkSource: %v after %d leaves, want keys out of order", err, leaves)
	}
	tree, err := mst.Load(src, r.Data)
	if err != nil {
		t.Fatal(err)
	}
	leaves = 0
	if err := tree.Walk(count); !errors.Is(err, mst.ErrUnsorted) && !errors.Is(err, mst.ErrDuplicateKey) {
		t.Fatalf("Tree.Walk: %v after %d leaves, want keys out of order", err, leaves)
	}
}
