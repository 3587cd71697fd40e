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
// from src: the blocks of SearchPath(root, key, mode), each decoded
// strictly (DecodeNode's checks). Errors of src are returned as they are,
// those of a block that is not a node wrap ErrNotANode; a path longer than
// MaxDepth nodes is a Problem wrapping ErrWrongLayer.
func Prove(src BlockSource, root cid.Cid, key []byte, mode PathMode) (*Proof, error) {
	ps := &proofSource{src: src}
	path, found, err := SearchPath(ps, root, key, mode)
	if err != nil {
		return nil, err
	}
	p := &Proof{Nodes: ps.blocks, Found: found}
	if found {
		n := path[len(path)-1]
		i, _ := n.Search(key)
		p.Value = n.Entries[i].ValueCID()
	}
	return p, nil
}

// proofSource reads and decodes the nodes of one search path, keeping
// their blocks.
type proofSource struct {
	src    BlockSource
	r      NodeReader
	blocks []Block
}

func (s *proofSource) Node(link []byte, _ int) (*Node, error) {
	c := LinkCID(link)
	b, err := s.src.Get(c)
	if err != nil {
		return nil, err
	}
	s.blocks = append(s.blocks, Block{CID: c, Data: b})
	return s.r.Decode(c, b)
}
