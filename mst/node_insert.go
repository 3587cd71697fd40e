package mst

import (
	"bytes"

	"github.com/ipfs/go-cid"
)

// Insert returns a tree with key set to val: a new key is added, an existing
// key gets the new value. t is not changed.
func (t *Tree) Insert(key []byte, val cid.Cid) (*Tree, error) {
	if err := ValidateKey(key); err != nil {
		return nil, err
	}
	if !val.Defined() {
		return nil, &KeyError{Key: string(key), Reason: "undefined value CID"}
	}
	key = bytes.Clone(key)
	h := Height(key)
	root, err := t.root.resolve()
	if err != nil {
		return nil, err
	}
	switch {
	case root.empty():
		return &Tree{root: &node{layer: h, ents: []entry{{key: key, val: val}}}}, nil
	case h > root.layer:
		// The key goes above the current root: split the old tree around
		// it and hang both halves under a new root, through entry-less
		// nodes on every layer in between.
		l, r, err := split(root, key)
		if err != nil {
			return nil, err
		}
		n := &node{layer: h, left: lift(l, h-1), ents: []entry{{key: key, val: val, right: lift(r, h-1)}}}
		return &Tree{root: n}, nil
	}
	n, err := insert(root, key, h, val)
	if err != nil {
		return nil, err
	}
	return &Tree{root: n}, nil
}

// lift puts n (a subtree whose layer is below layer) under entry-less nodes
// up to layer, as the rule that links never skip a layer requires.
func lift(n *node, layer int) *node {
	if n == nil {
		return nil
	}
	for l := n.layer + 1; l <= layer; l++ {
		n = &node{layer: l, left: n}
	}
	return n
}

// insert puts key (of height h <= n.layer) into the loaded node n and
// returns the new node.
func insert(n *node, key []byte, h int, val cid.Cid) (*node, error) {
	i, found := n.search(key)
	if h == n.layer {
		if found {
			if n.ents[i].val == val {
				return n, nil
			}
			c := n.clone(0)
			c.ents[i].val = val
			return c, nil
		}
		// The subtree in the gap where the key lands is split around it.
		l, r, err := split(n.gap(i), key)
		if err != nil {
			return nil, err
		}
		c := &node{layer: n.layer, left: n.left, ents: make([]entry, 0, len(n.ents)+1)}
		c.ents = append(c.ents, n.ents[:i]...)
		c.ents = append(c.ents, entry{key: key, val: val, right: r})
		c.ents = append(c.ents, n.ents[i:]...)
		c.setGap(i, l)
		return c, nil
	}
	var child *node
	if g := n.gap(i); g == nil {
		child = lift(&node{layer: h, ents: []entry{{key: key, val: val}}}, n.layer-1)
	} else {
		g, err := g.resolve()
		if err != nil {
			return nil, err
		}
		if child, err = insert(g, key, h, val); err != nil {
			return nil, err
		}
		if child == g {
			return n, nil
		}
	}
	c := n.clone(0)
	c.setGap(i, child)
	return c, nil
}

// split divides the subtree n (may be nil) into the keys below key and the
// keys above it (key itself is not in n). Either half may be nil; halves are
// on n's layer and may be entry-less nodes with only a left link. Untouched
// nodes are shared.
func split(n *node, key []byte) (*node, *node, error) {
	if n == nil {
		return nil, nil, nil
	}
	n, err := n.resolve()
	if err != nil {
		return nil, nil, err
	}
	i, _ := n.search(key)
	gl, gr, err := split(n.gap(i), key)
	if err != nil {
		return nil, nil, err
	}
	if i == 0 && gl == nil {
		return nil, n, nil
	}
	if i == len(n.ents) && gr == nil {
		return n, nil, nil
	}
	left := &node{layer: n.layer, left: n.left, ents: append([]entry(nil), n.ents[:i]...)}
	left.setGap(i, gl)
	right := &node{layer: n.layer, left: gr, ents: append([]entry(nil), n.ents[i:]...)}
	return orNil(left), orNil(right), nil
}

func orNil(n *node) *node {
	if n.empty() {
		return nil
	}
	return n
}
