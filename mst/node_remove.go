package mst

import "fmt"

// Delete returns a tree without key, or an error wrapping ErrKeyNotFound if
// the key is absent. t is not changed.
func (t *Tree) Delete(key []byte) (*Tree, error) {
	if err := ValidateKey(key); err != nil {
		return nil, err
	}
	h := Height(key)
	root, err := t.root.resolve()
	if err != nil {
		return nil, err
	}
	if h > root.layer || root.empty() {
		return nil, notFound(key)
	}
	n, err := remove(root, key, h)
	if err != nil {
		return nil, err
	}
	// Trim the top: the root must hold entries (or be the empty node).
	for n != nil && len(n.ents) == 0 {
		if n, err = n.left.resolve(); err != nil {
			return nil, err
		}
	}
	if n == nil {
		return NewEmpty(), nil
	}
	return &Tree{root: n}, nil
}

func notFound(key []byte) error {
	return fmt.Errorf("mst: %w: %q", ErrKeyNotFound, key)
}

// remove deletes key (of height h <= n.layer) from the loaded node n. It
// returns nil when nothing is left of the node.
func remove(n *node, key []byte, h int) (*node, error) {
	i, found := n.search(key)
	if h == n.layer {
		if !found {
			return nil, notFound(key)
		}
		// The subtrees on both sides of the entry become one.
		m, err := merge(n.gap(i), n.ents[i].right)
		if err != nil {
			return nil, err
		}
		c := &node{layer: n.layer, left: n.left, ents: make([]entry, 0, len(n.ents)-1)}
		c.ents = append(c.ents, n.ents[:i]...)
		c.ents = append(c.ents, n.ents[i+1:]...)
		c.setGap(i, m)
		return orNil(c), nil
	}
	g := n.gap(i)
	if g == nil {
		return nil, notFound(key)
	}
	g, err := g.resolve()
	if err != nil {
		return nil, err
	}
	child, err := remove(g, key, h)
	if err != nil {
		return nil, err
	}
	c := n.clone(0)
	c.setGap(i, child)
	return orNil(c), nil
}

// merge joins two adjacent subtrees of the same layer (either may be nil):
// every key of a sorts before every key of b.
func merge(a, b *node) (*node, error) {
	if a == nil {
		return b, nil
	}
	if b == nil {
		return a, nil
	}
	a, err := a.resolve()
	if err != nil {
		return nil, err
	}
	if b, err = b.resolve(); err != nil {
		return nil, err
	}
	last := len(a.ents)
	m, err := merge(a.gap(last), b.left)
	if err != nil {
		return nil, err
	}
	c := &node{layer: a.layer, left: a.left, ents: make([]entry, 0, len(a.ents)+len(b.ents))}
	c.ents = append(c.ents, a.ents...)
	c.setGap(last, m)
	c.ents = append(c.ents, b.ents...)
	return c, nil
}
