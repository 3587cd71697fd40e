package mst

import (
	"fmt"

	"github.com/ipfs/go-cid"
)

// NodeSource gives decoded nodes by link, for the walks of this file: a
// caller keeps its own cache, checks and error wording behind it.
//
// Node returns the node whose CID is link (binary form). layer is the
// layer the walk expects it on (the layer of the node linking to it, less
// one), or -1 for the root. A source that knows an entry-less node's layer
// (from layer, or by looking below it) should set Node.Layer to it.
type NodeSource interface {
	Node(link []byte, layer int) (*Node, error)
}

// PathMode says where a search path ends when the key is not in the tree.
type PathMode uint8

const (
	// PathToLayer stops at the node on the key's layer, or at the first
	// node below it when the path skips that layer: in a well-formed tree
	// nothing else can hold the key. The fewest nodes; what Tree.Get reads.
	PathToLayer PathMode = iota
	// PathBelowLayer goes one node further when the node on the key's
	// layer does not hold it: down to the first node below the key's
	// height, included. The proofs the mst-test-suite vectors expect.
	PathBelowLayer
	// PathToGap goes on down the key's gap until it is empty, as the
	// reference implementation's record proofs (sync.getRecord) do.
	PathToGap
)

// errTooDeep is the fault of a path longer than any tree is deep.
func errTooDeep(link []byte) error {
	return Problem{CID: LinkCID(link), Err: fmt.Errorf("%w: links nested deeper than any layer (more than %d levels)", ErrWrongLayer, MaxDepth)}
}

// pathCap is the capacity a search path starts with: deeper than the
// trees of real repositories (a million records are about five layers).
const pathCap = 8

// SearchPath returns the nodes met looking key up in the tree rooted at
// root, from the root down: to the node holding key (found), or to where
// the key would be (see PathMode). A path longer than MaxDepth nodes is an
// error (a Problem wrapping ErrWrongLayer); errors of ns are returned as
// they are.
func SearchPath(ns NodeSource, root cid.Cid, key []byte, mode PathMode) (path []*Node, found bool, err error) {
	h := Height(key)
	link, layer := root.Bytes(), -1
	path = make([]*Node, 0, pathCap) // one allocation for a path of any usual depth
	for {
		if len(path) >= MaxDepth {
			return nil, false, errTooDeep(link)
		}
		n, err := ns.Node(link, layer)
		if err != nil {
			return nil, false, err
		}
		path = append(path, n)
		if n.Layer >= 0 {
			layer = n.Layer
		} // else an entry-less node: on the layer expected of it
		if mode != PathToGap && layer >= 0 && h > layer {
			return path, false, nil
		}
		i, hit := n.Search(key)
		if hit {
			return path, true, nil
		}
		if mode == PathToLayer && layer >= 0 && h == layer {
			return path, false, nil
		}
		if link = n.Gap(i); link == nil {
			return path, false, nil
		}
		if layer >= 0 {
			layer--
		}
	}
}

// childLayer is the layer n's subtrees must be on (-1 when n's own layer
// is unknown).
func childLayer(n *Node) int {
	if n.Layer < 0 {
		return -1
	}
	return n.Layer - 1
}

// Neighbours returns the keys just before and just after key in the tree
// rooted at root (nil when there is none); key itself may or may not be in
// the tree. They are what a proof that a key was added or removed must
// also cover. Links are followed at most MaxDepth levels down.
func Neighbours(ns NodeSource, root cid.Cid, key []byte) (pred, succ []byte, err error) {
	n, err := ns.Node(root.Bytes(), -1)
	for depth := 0; depth < MaxDepth; depth++ {
		if err != nil {
			return nil, nil, err
		}
		i, found := n.Search(key)
		if i > 0 {
			pred = n.Entries[i-1].Key
		}
		if found {
			if i+1 < len(n.Entries) {
				succ = n.Entries[i+1].Key
			}
			if p, err := edgeKey(ns, n.Gap(i), childLayer(n), true); err != nil {
				return nil, nil, err
			} else if p != nil {
				pred = p
			}
			if s, err := edgeKey(ns, n.Entries[i].Right, childLayer(n), false); err != nil {
				return nil, nil, err
			} else if s != nil {
				succ = s
			}
			return pred, succ, nil
		}
		if i < len(n.Entries) {
			succ = n.Entries[i].Key
		}
		g := n.Gap(i)
		if g == nil {
			break
		}
		n, err = ns.Node(g, childLayer(n))
	}
	return pred, succ, nil
}

// edgeKey returns the largest (last) or smallest key of the subtree at
// link, nil for an empty one, following links at most MaxDepth levels.
func edgeKey(ns NodeSource, link []byte, layer int, last bool) ([]byte, error) {
	var best []byte
	for depth := 0; link != nil && depth < MaxDepth; depth++ {
		n, err := ns.Node(link, layer)
		if err != nil {
			return nil, err
		}
		if last {
			if len(n.Entries) > 0 {
				best = n.Entries[len(n.Entries)-1].Key
			}
			link = n.Gap(len(n.Entries))
		} else {
			if len(n.Entries) > 0 && n.Left == nil {
				return n.Entries[0].Key, nil
			}
			link = n.Left
		}
		layer = childLayer(n)
	}
	return best, nil
}
