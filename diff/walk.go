package diff

import (
	"bytes"
	"fmt"

	"github.com/ipfs/go-cid"

	"github.com/arbor-atproto/arbor/mst"
)

// item is what a cursor points at: a leaf (key, value) or a whole subtree.
// Links are binary CIDs (see mst.Node).
type item struct {
	leaf  bool
	root  bool // sub is the cursor's root, not yet read
	key   []byte
	val   []byte
	sub   []byte
	layer int // subtree's layer
}

// frame is a node being walked: pos runs over gap 0, entry 0, gap 1, entry
// 1, ..., gap n (even positions are gaps).
type frame struct {
	n   *mst.Node
	pos int
}

// cursor walks one tree in key order, yielding subtrees whole until asked
// to expand them.
type cursor struct {
	l        *loader
	stack    []frame
	root     cid.Cid // not yet expanded root; cid.Undef once expanded
	rootLink []byte  // root's binary form
	visited  []cid.Cid
	last     []byte // last leaf consumed
	hasLast  bool
}

func newCursor(l *loader, root cid.Cid) *cursor {
	return &cursor{l: l, root: root, rootLink: root.Bytes()}
}

// head returns the current item; ok is false at the end.
func (c *cursor) head() (it item, ok bool) {
	if c.root.Defined() {
		return item{root: true, sub: c.rootLink, layer: -1}, true
	}
	for len(c.stack) > 0 {
		f := &c.stack[len(c.stack)-1]
		if f.pos > 2*len(f.n.Entries) {
			c.stack = c.stack[:len(c.stack)-1]
			continue
		}
		if f.pos%2 == 0 {
			g := f.n.Gap(f.pos / 2)
			if g == nil {
				f.pos++
				continue
			}
			return item{sub: g, layer: f.n.Layer - 1}, true
		}
		i := f.pos / 2
		return item{leaf: true, key: f.n.Entries[i].Key, val: f.n.Entries[i].Value}, true
	}
	return item{}, false
}

// advance steps over the current item (a leaf, or a subtree left unread).
func (c *cursor) advance() error {
	if c.root.Defined() {
		c.root = cid.Undef
		return nil
	}
	f := &c.stack[len(c.stack)-1]
	if f.pos%2 == 1 {
		key := f.n.Entries[f.pos/2].Key
		if c.hasLast && bytes.Compare(c.last, key) >= 0 {
			return c.l.fail(f.n.CID, key, fmt.Errorf("%w: %w: key after %q in walk order", ErrBadTree, mst.ErrUnsorted, c.last))
		}
		c.last, c.hasLast = key, true
	}
	f.pos++
	return nil
}

// expand replaces the current item, a subtree, with its contents.
func (c *cursor) expand(it item) error {
	root := c.root
	if err := c.advance(); err != nil {
		return err
	}
	var n *mst.Node
	var err error
	if it.root {
		n, err = c.l.loadCID(root, it.layer)
	} else {
		n, err = c.l.load(it.sub, it.layer)
	}
	if err != nil {
		return err
	}
	if len(c.stack) > 256 {
		return c.l.fail(n.CID, nil, fmt.Errorf("%w: tree deeper than 256 layers", ErrBadTree))
	}
	c.visited = append(c.visited, n.CID)
	c.stack = append(c.stack, frame{n: n})
	return nil
}

// Compare computes the difference between the tree rooted at oldRoot (nodes
// read from oldSrc) and the one rooted at newRoot (from newSrc), with the
// proofs described on Result. Both sources may be the same.
//
// The walk goes through both trees in key order and steps over every pair
// of subtrees with equal CIDs without reading them, so the nodes it reads
// grow with the size of the change times the depth of the trees, not with
// their size (see OldVisited and NewVisited). A node that breaks the MST
// rules on the walked path is an error (*TreeError wrapping ErrBadTree or an
// mst sentinel); parts of the trees the walk skips are not checked.
func Compare(oldSrc mst.BlockSource, oldRoot cid.Cid, newSrc mst.BlockSource, newRoot cid.Cid) (*Result, error) {
	ol, nl := newLoader("old", oldSrc), newLoader("new", newSrc)
	res, err := walkBoth(ol, oldRoot, nl, newRoot, true)
	if err != nil {
		return nil, err
	}
	if err := addProofs(res, nl, newSrc); err != nil {
		return nil, err
	}
	return res, nil
}

// Ops returns the record operations between two trees and the block sets:
// the same walk as Compare, without the proofs, and with the block sets
// (CreatedNodes to DeletedRecords) in no particular order, which saves
// sorting them when only their sizes matter.
func Ops(oldSrc mst.BlockSource, oldRoot cid.Cid, newSrc mst.BlockSource, newRoot cid.Cid) (*Result, error) {
	return walkBoth(newLoader("old", oldSrc), oldRoot, newLoader("new", newSrc), newRoot, false)
}

func walkBoth(ol *loader, oldRoot cid.Cid, nl *loader, newRoot cid.Cid, sorted bool) (*Result, error) {
	if !oldRoot.Defined() || !newRoot.Defined() {
		return nil, fmt.Errorf("%w: undefined root CID", ErrBadTree)
	}
	a, b := newCursor(ol, oldRoot), newCursor(nl, newRoot)
	res := &Result{OldRoot: oldRoot, NewRoot: newRoot}
	for {
		x, xok := a.head()
		y, yok := b.head()
		var err error
		switch {
		case !xok && !yok:
			return finish(res, a, b, sorted), nil
		case !yok: // only the old side is left: all deleted
			if x.leaf {
				res.Ops = append(res.Ops, Op{Path: string(x.key), Old: mst.LinkCID(x.val)})
				err = a.advance()
			} else {
				err = a.expand(x)
			}
		case !xok: // only the new side is left: all created
			if y.leaf {
				res.Ops = append(res.Ops, Op{Path: string(y.key), New: mst.LinkCID(y.val)})
				err = b.advance()
			} else {
				err = b.expand(y)
			}
		case !x.leaf && !y.leaf:
			switch {
			case x.layer == y.layer && bytes.Equal(x.sub, y.sub):
				// Identical subtrees: nothing in them changed.
				if err = a.advance(); err == nil {
					err = b.advance()
				}
			case x.layer > y.layer:
				err = a.expand(x)
			case y.layer > x.layer:
				err = b.expand(y)
			default:
				if err = a.expand(x); err == nil {
					err = b.expand(y)
				}
			}
		case !x.leaf:
			err = a.expand(x)
		case !y.leaf:
			err = b.expand(y)
		default:
			switch d := bytes.Compare(x.key, y.key); {
			case d == 0:
				if !bytes.Equal(x.val, y.val) {
					res.Ops = append(res.Ops, Op{Path: string(x.key), Old: mst.LinkCID(x.val), New: mst.LinkCID(y.val)})
				}
				if err = a.advance(); err == nil {
					err = b.advance()
				}
			case d < 0:
				res.Ops = append(res.Ops, Op{Path: string(x.key), Old: mst.LinkCID(x.val)})
				err = a.advance()
			default:
				res.Ops = append(res.Ops, Op{Path: string(y.key), New: mst.LinkCID(y.val)})
				err = b.advance()
			}
		}
		if err != nil {
			return nil, err
		}
	}
}

// finish fills the block sets once the walk is done, sorted or not.
func finish(res *Result, a, b *cursor, sorted bool) *Result {
	oldNodes, newNodes := cidSet{}, cidSet{}
	oldNodes.add(a.visited...)
	newNodes.add(b.visited...)
	// A node read on both sides (the walk expanded it on one side before
	// meeting its twin) is in both trees: neither created nor deleted.
	res.CreatedNodes = newNodes.minus(oldNodes, sorted)
	res.DeletedNodes = oldNodes.minus(newNodes, sorted)
	oldRecs, newRecs := cidSet{}, cidSet{}
	for _, o := range res.Ops {
		oldRecs.add(o.Old)
		newRecs.add(o.New)
	}
	res.CreatedRecords = newRecs.minus(oldRecs, sorted)
	res.DeletedRecords = oldRecs.minus(newRecs, sorted)
	res.OldVisited, res.NewVisited = len(a.visited), len(b.visited)
	return res
}
