package diff

import (
	"fmt"
	"io"

	"github.com/ipfs/go-cid"

	"github.com/arbor-atproto/arbor/car"
	"github.com/arbor-atproto/arbor/mst"
)

// SliceSides are the two snapshots a slice is cut from: what OLD has, and
// NEW's blocks and root.
type SliceSides struct {
	// OldHas reports whether OLD holds a block.
	OldHas func(cid.Cid) bool
	// New are NEW's blocks.
	New mst.BlockSource
	// NewRoot is NEW's root; NewBareTree says it is an MST node.
	NewRoot     cid.Cid
	NewBareTree bool
}

// WriteSlice writes to w, as a CAR rooted at NEW's root, the blocks NEW has
// and OLD lacks (what com.atproto.sync.getRepo?since= returns): the created
// MST nodes, then the new record blocks, then the root (a commit, or a bare
// tree's root node) last. res must be sorted (Result.SortSets) for the
// order not to vary. The returned SliceInfo has File unset.
func WriteSlice(w io.Writer, s SliceSides, res *Result) (*SliceInfo, error) {
	sl := &SliceInfo{Root: s.NewRoot.String()}
	cw, err := car.NewWriter(w, []cid.Cid{s.NewRoot})
	if err != nil {
		return nil, err
	}
	put := func(c cid.Cid, what string) error {
		b, err := s.New.Get(c)
		if err != nil {
			return fmt.Errorf("NEW lacks %s block %s: %w", what, c, err)
		}
		sl.Blocks++
		return cw.Put(c, b)
	}
	for _, c := range res.CreatedNodes {
		if c == s.NewRoot {
			continue // a bare tree's root goes last, like a commit
		}
		if err := put(c, "MST node"); err != nil {
			return nil, err
		}
		sl.Nodes++
	}
	for _, c := range res.CreatedRecords {
		if s.OldHas(c) {
			continue // OLD already has this content under another path
		}
		if err := put(c, "record"); err != nil {
			return nil, err
		}
		sl.Records++
	}
	if !s.OldHas(s.NewRoot) {
		if err := put(s.NewRoot, "root"); err != nil {
			return nil, err
		}
		if s.NewBareTree {
			sl.Nodes++
		}
	}
	return sl, cw.Flush()
}
