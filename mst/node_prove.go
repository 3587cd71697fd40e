package mst

import (
	"github.com/ipfs/go-cid"
)

// Block is one block of a proof: a node's CID and its bytes.
type Block struct {
	CID  cid.Cid
	Data []byte
}

// Proof is what proves that a tree holds a key's value, or that it holds
// no such key: the nodes on the key's search path, root first.
type Proof struct {
	Nodes []Block
	Found bool
	Value cid.Cid // the key's value when Found
}

// Prove returns the proof of key in the tree rooted at root, reading nodes
// from src: the blocks of the key's search path (see PathMode), each
// checked as Load checks the nodes it reads (strict encoding, valid keys
// sorted within the node, every key on the node's layer and the node one
// layer below its parent, no subtree below layer 0, no invalid empty
// node), with Load's errors. key is checked (ValidateKey) once the root
// is read, as Tree.Get would after Load. A path longer than MaxDepth nodes is a
// Problem wrapping ErrWrongLayer.
//
// On error the Proof returned holds the nodes read and checked before the
// fault: none when it is the root that could not be read.
func Prove(src BlockSource, root cid.Cid, key []byte, mode PathMode) (*Proof, error) {
	ps := &proofSource{src: src, key: key}
	path, found, err := SearchPath(ps, root, key, mode)
	p := &Proof{Nodes: ps.blocks, Found: found}
	if err != nil {
		return p, err
	}
	if found {
		n := path[len(path)-1]
		i, _ := n.Search(key)
		p.Value = n.Entries[i].ValueCID()
	}
	return p, nil
}

// proofSource reads, checks and decodes the nodes of one search path,
// keeping their blocks.
type proofSource struct {
	src    BlockSource
	key    []byte
	r      NodeReader
	blocks []Block
}

func (s *proofSource) Node(link []byte, layer int) (*Node, error) {
	c := LinkCID(link)
	root := len(s.blocks) == 0
	t, err := readTreeNode(s.src, c, layer, root)
	if err != nil {
		return nil, err
	}
	b, err := s.src.Get(c)
	if err != nil {
		return nil, err
	}
	n, err := s.r.Decode(c, b)
	if err != nil { // not reached: readTreeNode decoded the same node
		return nil, Problem{CID: c, Err: err}
	}
	n.Layer = t.layer
	s.blocks = append(s.blocks, Block{CID: c, Data: b})
	if root {
		if err := ValidateKey(s.key); err != nil {
			return nil, err
		}
	}
	return n, nil
}
