package mst

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/arbor-atproto/arbor/dagcbor"
	"github.com/ipfs/go-cid"
)

// Leaf is one key and its value, as given to BuildTree.
type Leaf struct {
	Key   []byte
	Value cid.Cid
}

// checkNext checks that key is valid and sorts strictly after prev (nil:
// key is the first).
func checkNext(prev, key []byte, first bool) error {
	if err := ValidateKey(key); err != nil {
		return err
	}
	if !first {
		switch bytes.Compare(prev, key) {
		case 0:
			return Problem{Key: string(key), Err: ErrDuplicateKey}
		case 1:
			return Problem{Key: string(key), Err: fmt.Errorf("%w: after %q", ErrUnsorted, prev)}
		}
	}
	return nil
}

// BuildTree builds the tree of leaves, which must be sorted by key with no
// duplicates, in linear time. Keys are copied.
func BuildTree(leaves []Leaf) (*Tree, error) {
	total := 0
	for i := range leaves {
		var prev []byte
		if i > 0 {
			prev = leaves[i-1].Key
		}
		if err := checkNext(prev, leaves[i].Key, i == 0); err != nil {
			return nil, err
		}
		if !leaves[i].Value.Defined() {
			return nil, &KeyError{Key: string(leaves[i].Key), Reason: "undefined value CID"}
		}
		total += len(leaves[i].Key)
	}
	if len(leaves) == 0 {
		return NewEmpty(), nil
	}
	arena := make([]byte, 0, total)
	// spine[l] is the open node on layer l: entries so far, with the last
	// gap (left link or last entry's right link) still to be filled.
	var spine []*node
	// closeUpTo closes the open nodes of layers 0..top-1 bottom-up, each
	// becoming the last gap of the layer above, and returns what is left
	// for layer top's last gap.
	closeUpTo := func(top int) *node {
		var carry *node
		for l := 0; l < top && l < len(spine); l++ {
			n := spine[l]
			if n == nil {
				if carry != nil {
					n = &node{layer: l}
				} else {
					continue
				}
			}
			n.setGap(len(n.ents), carry)
			spine[l] = nil
			carry = orNil(n)
		}
		if carry != nil {
			carry = lift(carry, top-1)
		}
		return carry
	}
	for i := range leaves {
		start := len(arena)
		arena = append(arena, leaves[i].Key...)
		key := arena[start:len(arena):len(arena)]
		h := Height(key)
		for len(spine) <= h {
			spine = append(spine, nil)
		}
		carry := closeUpTo(h)
		n := spine[h]
		if n == nil {
			n = &node{layer: h}
			spine[h] = n
		}
		if carry != nil {
			n.setGap(len(n.ents), carry)
		}
		n.ents = append(n.ents, entry{key: key, val: leaves[i].Value})
	}
	top := len(spine) - 1
	carry := closeUpTo(top)
	root := spine[top]
	root.setGap(len(root.ents), carry)
	return &Tree{root: root}, nil
}

// Builder builds a tree from keys added in strictly increasing order, in
// linear time, keeping only the open right-hand spine (one node per layer)
// in memory. Each finished node is encoded, hashed and passed to emit (which
// may keep data), children before parents; emit may be nil.
type Builder struct {
	emit  func(c cid.Cid, data []byte) error
	spine []bnode
	last  []byte
	count int
	done  bool
	err   error
	w     dagcbor.Writer
}

// bnode is an open node of a Builder; keys live in buf.
type bnode struct {
	left cid.Cid
	ents []bentry
	buf  []byte
	open bool // has a left link or entries
}

// bentry is an entry of a bnode: its key is buf[start:end] and its value's
// CID, in binary form, buf[end:valEnd].
type bentry struct {
	start, end, valEnd int
	right              cid.Cid
}

// NewBuilder returns a Builder that reports finished node blocks to emit.
func NewBuilder(emit func(c cid.Cid, data []byte) error) *Builder {
	return &Builder{emit: emit}
}

// ErrBuilderDone is returned by a Builder used after Finish or after emit
// failed.
var ErrBuilderDone = errors.New("mst: builder already finished or failed")

// Add appends key with its value. It fails on an invalid key, a key not
// strictly after the previous one (ErrUnsorted, ErrDuplicateKey), and on an
// error from emit; a rejected key leaves the Builder unchanged.
func (b *Builder) Add(key []byte, val cid.Cid) error {
	if b.done {
		return ErrBuilderDone
	}
	if err := checkNext(b.last, key, b.count == 0); err != nil {
		return err
	}
	if !val.Defined() {
		return &KeyError{Key: string(key), Reason: "undefined value CID"}
	}
	return b.add(key, val, Height(key))
}

// add appends a key already checked by the caller, of height h.
func (b *Builder) add(key []byte, val cid.Cid, h int) error {
	return addLink(b, key, val.KeyString(), h)
}

// addLink is add with the value's CID in binary form (copied).
func addLink[L ~string | ~[]byte](b *Builder, key []byte, val L, h int) error {
	for len(b.spine) <= h {
		b.spine = append(b.spine, bnode{})
	}
	carry, err := b.closeUpTo(h)
	if err != nil {
		return err
	}
	n := &b.spine[h]
	if carry.Defined() {
		n.setLastGap(carry)
	}
	start := len(n.buf)
	n.buf = append(n.buf, key...)
	end := len(n.buf)
	n.buf = append(n.buf, val...)
	n.ents = append(n.ents, bentry{start: start, end: end, valEnd: len(n.buf)})
	n.open = true
	b.last = append(b.last[:0], key...)
	b.count++
	return nil
}

func (n *bnode) setLastGap(c cid.Cid) {
	if len(n.ents) == 0 {
		n.left = c
	} else {
		n.ents[len(n.ents)-1].right = c
	}
	n.open = true
}

// closeUpTo finishes the open nodes of layers below top, bottom-up, and
// returns the CID that fills layer top's last gap (Undef if none).
func (b *Builder) closeUpTo(top int) (cid.Cid, error) {
	carry := cid.Undef
	for l := 0; l < top && l < len(b.spine); l++ {
		n := &b.spine[l]
		if carry.Defined() {
			n.setLastGap(carry)
		}
		if !n.open {
			continue
		}
		c, err := b.finishNode(n)
		if err != nil {
			return cid.Undef, err
		}
		carry = c
	}
	return carry, nil
}

func (b *Builder) finishNode(n *bnode) (cid.Cid, error) {
	w := &b.w
	w.Reset()
	w.WriteMapHeader(2)
	w.WriteString("e")
	w.WriteArrayHeader(len(n.ents))
	var prev []byte
	for i := range n.ents {
		e := &n.ents[i]
		key := n.buf[e.start:e.end]
		p := commonPrefix(prev, key)
		writeEntry(w, key[p:], p, e.right.KeyString(), n.buf[e.end:e.valEnd])
		prev = key
	}
	w.WriteString("l")
	writeNullableLink(w, n.left.KeyString())
	c := dagcbor.SumCID(dagcbor.CodecDagCBOR, w.Bytes())
	n.left = cid.Undef
	n.ents = n.ents[:0]
	n.buf = n.buf[:0]
	n.open = false
	if b.emit != nil {
		if err := b.emit(c, bytes.Clone(w.Bytes())); err != nil {
			b.done, b.err = true, err
			return cid.Undef, err
		}
	}
	return c, nil
}

// Finish closes every open node and returns the root CID (the empty node's
// CID when no key was added, after emitting that node). The Builder cannot
// be used afterwards.
func (b *Builder) Finish() (cid.Cid, error) {
	if b.done {
		if b.err != nil {
			return cid.Undef, b.err
		}
		return cid.Undef, ErrBuilderDone
	}
	b.done = true
	if b.count == 0 {
		data := emptyNodeBytes()
		c := dagcbor.SumCID(dagcbor.CodecDagCBOR, data)
		if b.emit != nil {
			if err := b.emit(c, data); err != nil {
				return cid.Undef, err
			}
		}
		return c, nil
	}
	top := len(b.spine) - 1
	carry, err := b.closeUpTo(top)
	if err != nil {
		return cid.Undef, err
	}
	n := &b.spine[top]
	if carry.Defined() {
		n.setLastGap(carry)
	}
	return b.finishNode(n)
}
