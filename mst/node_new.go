package mst

import (
	"bytes"

	"github.com/arbor-atproto/arbor/dagcbor"
	"github.com/ipfs/go-cid"
)

// NewBlocks calls fn with the CID and bytes of every node of t that old
// lacks: the blocks a commit of t adds on top of a commit of old. old nil
// means no tree at all: every node of t is new, the empty tree's single node
// included. See BlockChanges for the cost and the order.
func (t *Tree) NewBlocks(old *Tree, fn func(c cid.Cid, data []byte) error) error {
	return t.BlockChanges(old, fn, nil)
}

// BlockChanges compares t with an older tree old (nil: no tree, see
// NewBlocks): it
// calls added with the CID and bytes of every node of t that old lacks, and
// removed (when not nil) with the CID of every node of old that t lacks. Both
// are sets: together they are the set differences of the two trees'
// WriteBlocks, but the work is proportional to the change, not to the trees.
//
// The two trees are walked together one layer at a time, from the top, and
// only below nodes found on one side alone. This is complete because in a
// canonical tree a node's CID fixes its layer and a node appears only once:
// a node of t that old also holds, reached below a node old lacks, is met
// on the same layer below a node of old that t lacks (or is old's root). Shared
// subtrees, pointer-equal or only CID-equal (trees loaded separately), are
// therefore never entered, and lazily loaded nodes are only read when they
// differ. CIDs of changed nodes are computed (and cached) on the way.
//
// Nodes are reported a layer at a time from the top (root first), in key
// order within a layer. fn may keep data. The first error, from a callback
// or from loading a node, stops the walk and is returned.
func (t *Tree) BlockChanges(old *Tree, added func(c cid.Cid, data []byte) error, removed func(c cid.Cid) error) error {
	var w dagcbor.Writer
	newRoot, err := nodeCID(t.root, &w)
	if err != nil {
		return err
	}
	newTop, err := t.root.resolve()
	if err != nil {
		return err
	}
	oldLayer := -1 // no old tree
	if old != nil {
		oldRoot, err := nodeCID(old.root, &w)
		if err != nil {
			return err
		}
		if newRoot == oldRoot {
			return nil
		}
		oldTop, err := old.root.resolve()
		if err != nil {
			return err
		}
		oldLayer = oldTop.layer
	}
	// cur holds, per side, the nodes of the current layer reached below
	// nodes of the layer above that the other side lacks; next the layer
	// below.
	var (
		curNew, curOld   []*node
		nextNew, nextOld []*node
		seen             = map[cid.Cid]struct{}{}
	)
	for layer := max(newTop.layer, oldLayer); layer >= 0; layer-- {
		if layer == newTop.layer {
			curNew = append(curNew, t.root)
		}
		if layer == oldLayer {
			curOld = append(curOld, old.root)
		}
		if len(curNew) == 0 && len(curOld) == 0 {
			if layer < newTop.layer && layer < oldLayer {
				break
			}
			continue
		}
		clear(seen)
		for _, n := range curOld {
			seen[*n.cid.Load()] = struct{}{}
		}
		shared := 0
		nextNew = nextNew[:0]
		for _, n := range curNew {
			c, err := nodeCID(n, &w)
			if err != nil {
				return err
			}
			if _, ok := seen[c]; ok {
				delete(seen, c)
				shared++
				continue
			}
			if n, err = n.resolve(); err != nil {
				return err
			}
			w.Reset()
			encodeTreeNode(&w, n)
			if err := added(c, bytes.Clone(w.Bytes())); err != nil {
				return err
			}
			nextNew = n.appendChildren(nextNew)
		}
		nextOld = nextOld[:0]
		if shared < len(curOld) {
			for _, n := range curOld {
				c := *n.cid.Load()
				if _, ok := seen[c]; !ok {
					continue // shared with the new tree
				}
				if removed != nil {
					if err := removed(c); err != nil {
						return err
					}
				}
				r, err := n.resolve()
				if err != nil {
					return err
				}
				nextOld = r.appendChildren(nextOld)
			}
		}
		curNew, nextNew = nextNew, curNew
		curOld, nextOld = nextOld, curOld
	}
	return nil
}

// appendChildren appends the subtrees of a loaded node to dst, in key order.
func (n *node) appendChildren(dst []*node) []*node {
	if n.left != nil {
		dst = append(dst, n.left)
	}
	for i := range n.ents {
		if r := n.ents[i].right; r != nil {
			dst = append(dst, r)
		}
	}
	return dst
}
