package mst

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/ipfs/go-cid"
)

// entrylessChain stores n entry-less nodes, each linking to the next, above
// a leaf with one key, and returns the top one: a valid tree never has more
// than MaxDepth levels, and such a chain is bounded only by the input.
func entrylessChain(m MapSource, n int) cid.Cid {
	c := put(m, nodeBytes(cid.Undef, e(keysAt(0, 1)[0])))
	for range n {
		c = put(m, nodeBytes(c))
	}
	return c
}

func TestVerifyStopsAtChainsDeeperThanAnyLayer(t *testing.T) {
	for _, n := range []int{MaxDepth, 200_000} { // MaxDepth+1 levels and more
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			m := MapSource{}
			root := entrylessChain(m, n)
			leaves := 0
			probs, err := Verify(m, root, func([]byte, cid.Cid) error { leaves++; return nil })
			if err != nil {
				t.Fatal(err)
			}
			deep := 0
			for _, p := range probs {
				if errors.Is(p.Err, ErrWrongLayer) && strings.Contains(p.Error(), "deeper than any layer") {
					deep++
				}
			}
			// The entry-less root, then the one stop; nothing below is read.
			if deep != 1 || len(probs) != 2 || !errors.Is(probs[0].Err, ErrEmptyNode) {
				t.Fatalf("problems %v, want an empty root and one wrong-layer stop", probs)
			}
			if leaves != 0 {
				t.Errorf("%d leaves walked below the stop", leaves)
			}
		})
	}
}

// A chain exactly as deep as a valid tree may be is not refused for its
// depth (its entry-less nodes are wrong, but for other reasons).
func TestVerifyAcceptsMaxDepthLevels(t *testing.T) {
	m := MapSource{}
	root := entrylessChain(m, MaxDepth-1) // MaxDepth levels with the leaf
	leaves := 0
	probs, err := Verify(m, root, func([]byte, cid.Cid) error { leaves++; return nil })
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range probs {
		if strings.Contains(p.Error(), "deeper than any layer") {
			t.Errorf("refused for depth at %d levels: %v", MaxDepth, p)
		}
	}
	if leaves != 1 {
		t.Errorf("%d leaves walked, want the one at the bottom", leaves)
	}
}

func TestLoadAndWalkSourceRefuseDeepChains(t *testing.T) {
	m := MapSource{}
	root := entrylessChain(m, 200_000)
	if _, err := Load(m, root); !errors.Is(err, ErrEmptyNode) {
		t.Errorf("Load: %v, want ErrEmptyNode", err)
	}
	// Below a root with an entry, the chain runs out of layers at once.
	top := put(m, nodeBytes(m.childOf(t, root), e(keysAt(1, 1)[0])))
	if err := WalkSource(m, top, func([]byte, cid.Cid) error { return nil }); !errors.Is(err, ErrWrongLayer) {
		t.Errorf("WalkSource: %v, want ErrWrongLayer", err)
	}
}

// childOf returns the left link of the entry-less node c.
func (m MapSource) childOf(t *testing.T, c cid.Cid) cid.Cid {
	t.Helper()
	n, err := DecodeNode(m[c])
	if err != nil {
		t.Fatal(err)
	}
	return n.Left
}

// badSource vouches for no block of its set.
type badSource struct {
	MapSource
	bad map[cid.Cid]bool
}

func (s badSource) Get(c cid.Cid) ([]byte, error) {
	if s.bad[c] {
		return nil, fmt.Errorf("block %s: %w: hash mismatch", c, ErrBadBlock)
	}
	return s.MapSource.Get(c)
}

func TestVerifyListsBadBlocksAsProblems(t *testing.T) {
	m := MapSource{}
	k0 := keysAt(0, 2)
	left := put(m, nodeBytes(cid.Undef, e(k0[0])))
	root := put(m, nodeBytes(left, e(keysAt(1, 1)[0])))
	probs, err := Verify(badSource{m, map[cid.Cid]bool{left: true}}, root, nil)
	if err != nil {
		t.Fatalf("Verify stopped: %v", err)
	}
	if len(probs) != 1 || !errors.Is(probs[0].Err, ErrBadBlock) || probs[0].CID != left {
		t.Fatalf("problems %v, want one ErrBadBlock at %s", probs, left)
	}
}
