package diff

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/ipfs/go-cid"

	"github.com/arbor-atproto/arbor/mst"
	"github.com/arbor-atproto/arbor/repo"
)

// RootedBlocks is a set of blocks and the root its CAR file names (a
// commit, or an MST node for a bare tree): an archive's blocks (an
// *archive.Archive is a block source) or a slice's.
type RootedBlocks struct {
	Blocks mst.BlockSource
	Root   cid.Cid
}

// Applied describes the snapshot ApplySlice produced.
type Applied struct {
	Commit    *repo.Commit // the slice's commit, now the snapshot's root
	CommitCID cid.Cid
	Records   int        // records in the new tree
	Nodes     int        // MST nodes in the new tree
	Ops       []Op       // record operations from the base to the new tree
	BaseRev   syntax.TID // the base commit's rev ("" for a bare tree)
	BaseData  cid.Cid    // the base's MST root
	FromBase  int        // blocks of the new snapshot taken from the base
	FromSlice int        // blocks taken from the slice
	Missing   []cid.Cid  // only set on ErrSliceMismatch: blocks neither side has
}

// overlay reads from the slice first, then the base.
type overlay struct {
	slice, base mst.BlockSource
}

func (o overlay) Get(c cid.Cid) ([]byte, error) {
	if inSlice(o.slice, c) {
		if b, err := o.slice.Get(c); err == nil {
			return b, nil
		}
	}
	return o.base.Get(c)
}

// inSlice says a slice may hold c: false only when it can say cheaply
// that it does not (an archive's Has), so that the many blocks a small
// slice lacks are looked up in the base without an error made for each.
func inSlice(slice mst.BlockSource, c cid.Cid) bool {
	h, ok := slice.(interface{ Has(cid.Cid) bool })
	return !ok || h.Has(c)
}

// maxListed is how many missing blocks an error message names.
const maxListed = 5

// ApplySlice brings base forward with slice: the slice's root must be a
// commit of the same repository (same DID, later rev), and its tree, with
// every record, must be complete from the slice's blocks plus the base's.
// The new tree is checked fully (strict nodes, canonical shape and order,
// root rebuilt from the leaves). emit then receives every block of the new
// full snapshot exactly once: the commit, the MST nodes (children before
// parents), the records in key order. Nothing is emitted when the slice does
// not fit; the error then wraps ErrSliceMismatch (and mst.ErrMissingBlock
// when blocks are missing, listed in Applied.Missing) or repo.ErrNotACommit.
func ApplySlice(base, slice RootedBlocks, emit func(c cid.Cid, data []byte) error) (*Applied, error) {
	raw, err := slice.Blocks.Get(slice.Root)
	if err != nil {
		return nil, fmt.Errorf("%w: root %s: %w", errNotACommit, slice.Root, err)
	}
	commit, err := repo.DecodeCommit(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: root %s: %w", errNotACommit, slice.Root, err)
	}
	out := &Applied{Commit: commit, CommitCID: slice.Root}
	baseRaw, err := base.Blocks.Get(base.Root)
	if err != nil {
		return nil, fmt.Errorf("base root %s: %w", base.Root, err)
	}
	if bc, err := repo.DecodeCommit(baseRaw); err == nil {
		if bc.DID != commit.DID {
			return nil, fmt.Errorf("%w: the slice is a commit of %s, the base is a repo of %s", ErrSliceMismatch, commit.DID, bc.DID)
		}
		if commit.Rev != "" && bc.Rev != "" && commit.Rev <= bc.Rev {
			return nil, fmt.Errorf("%w: the slice's rev %s is not after the base's rev %s", ErrSliceMismatch, commit.Rev, bc.Rev)
		}
		out.BaseRev, out.BaseData = bc.Rev, bc.Data
	} else {
		// A bare tree as base: its root is the MST root.
		out.BaseData = base.Root
	}

	src := overlay{slice: slice.Blocks, base: base.Blocks}
	var records []cid.Cid
	problems, err := mst.Verify(src, commit.Data, func(_ []byte, val cid.Cid) error {
		records = append(records, val)
		out.Records++
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading the new tree: %w", err)
	}
	var missing []cid.Cid
	for _, p := range problems {
		if errors.Is(p.Err, mst.ErrMissingBlock) {
			missing = append(missing, p.CID)
			continue
		}
		return nil, fmt.Errorf("%w: the new tree %s is invalid: %w", ErrSliceMismatch, commit.Data, p)
	}
	seen := cidSet{}
	for _, r := range records {
		if _, dup := seen[r]; dup {
			continue
		}
		seen.add(r)
		if _, err := src.Get(r); err != nil {
			if !errors.Is(err, mst.ErrMissingBlock) {
				return nil, fmt.Errorf("record block %s: %w", r, err)
			}
			missing = append(missing, r)
		}
	}
	if len(missing) > 0 {
		out.Missing = sortCIDs(missing)
		names := make([]string, 0, maxListed)
		for _, c := range out.Missing[:min(len(out.Missing), maxListed)] {
			names = append(names, c.String())
		}
		more := ""
		if len(out.Missing) > maxListed {
			more = fmt.Sprintf(" and %d more", len(out.Missing)-maxListed)
		}
		return out, fmt.Errorf("%w: %w: %d blocks of the new tree are in neither the base nor the slice: %s%s",
			ErrSliceMismatch, mst.ErrMissingBlock, len(out.Missing), strings.Join(names, ", "), more)
	}

	ops, err := Ops(base.Blocks, out.BaseData, src, commit.Data)
	if err != nil {
		return nil, fmt.Errorf("comparing with the base: %w", err)
	}
	out.Ops = ops.Ops

	count := func(c cid.Cid) {
		if !inSlice(slice.Blocks, c) {
			out.FromBase++
		} else if _, err := slice.Blocks.Get(c); err == nil {
			out.FromSlice++
		} else {
			out.FromBase++
		}
	}
	if err := emit(slice.Root, raw); err != nil {
		return nil, err
	}
	count(slice.Root)
	t, err := mst.Load(src, commit.Data)
	if err != nil {
		return nil, fmt.Errorf("loading the new tree: %w", err)
	}
	err = t.WriteBlocks(func(c cid.Cid, data []byte) error {
		out.Nodes++
		count(c)
		return emit(c, data)
	})
	if err != nil {
		return nil, err
	}
	emitted := cidSet{}
	for _, r := range records {
		if _, dup := emitted[r]; dup {
			continue
		}
		emitted.add(r)
		b, err := src.Get(r)
		if err != nil {
			return nil, fmt.Errorf("record block %s: %w", r, err)
		}
		count(r)
		if err := emit(r, slices.Clone(b)); err != nil {
			return nil, err
		}
	}
	return out, nil
}
