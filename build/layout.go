package build

import (
	"bufio"
	"fmt"
	"io"

	"github.com/ipfs/go-cid"

	"github.com/arbor-atproto/arbor/car"
	"github.com/arbor-atproto/arbor/mst"
	"github.com/arbor-atproto/arbor/repo"
)

// block is one CAR section.
type block struct {
	cid  cid.Cid
	data []byte
}

// buildTree builds the MST of leaves (sorted, no duplicates) and returns its
// root and its nodes in pre-order: a node, its left subtree, then each
// entry's right subtree.
func buildTree(leaves []mst.Leaf) (cid.Cid, []block, error) {
	nodes := make(map[cid.Cid][]byte, len(leaves)/3+1)
	b := mst.NewBuilder(func(c cid.Cid, data []byte) error {
		nodes[c] = data
		return nil
	})
	for _, l := range leaves {
		if err := b.Add(l.Key, l.Value); err != nil {
			return cid.Undef, nil, err
		}
	}
	root, err := b.Finish()
	if err != nil {
		return cid.Undef, nil, err
	}
	out := make([]block, 0, len(nodes))
	seen := make(map[cid.Cid]bool, len(nodes))
	var visit func(c cid.Cid) error
	visit = func(c cid.Cid) error {
		if seen[c] {
			return nil
		}
		data, ok := nodes[c]
		if !ok {
			return fmt.Errorf("mst builder did not emit node %s", c)
		}
		seen[c] = true
		out = append(out, block{c, data})
		n, err := mst.DecodeNode(data)
		if err != nil {
			return fmt.Errorf("mst builder node %s: %w", c, err)
		}
		if n.Left.Defined() {
			if err := visit(n.Left); err != nil {
				return err
			}
		}
		for _, e := range n.Entries {
			if e.Right.Defined() {
				if err := visit(e.Right); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := visit(root); err != nil {
		return cid.Undef, nil, err
	}
	return root, out, nil
}

// signCommit makes and signs a v3 commit (prev null) deterministically.
func signCommit(did, rev string, data cid.Cid, key deterministicKey) (*repo.Commit, cid.Cid, []byte, error) {
	c := &repo.Commit{DID: did, Version: repo.VersionCurrent, Data: data, Rev: rev}
	if err := c.Sign(key); err != nil {
		return nil, cid.Undef, nil, err
	}
	b, err := c.Bytes()
	if err != nil {
		return nil, cid.Undef, nil, err
	}
	cc, err := c.CID()
	if err != nil {
		return nil, cid.Undef, nil, err
	}
	return c, cc, b, nil
}

// countingWriter counts bytes written.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// writeCanonical writes the canonical layout: commit (the only root), tree
// nodes in the order given, then the blocks of leaves in key order, each
// distinct CID once. body gives a record's bytes. It returns the number of
// blocks and bytes written.
func writeCanonical(w io.Writer, commitCID cid.Cid, commit []byte, nodes []block, leaves []mst.Leaf, body func(i int) ([]byte, error)) (int, int64, error) {
	cw := &countingWriter{w: w}
	bw := bufio.NewWriterSize(cw, 1<<20)
	cr, err := car.NewWriter(bw, []cid.Cid{commitCID})
	if err != nil {
		return 0, 0, err
	}
	n := 0
	put := func(c cid.Cid, data []byte) error {
		n++
		return cr.Put(c, data)
	}
	if err := put(commitCID, commit); err != nil {
		return 0, 0, err
	}
	for _, b := range nodes {
		if err := put(b.cid, b.data); err != nil {
			return 0, 0, err
		}
	}
	seen := make(map[cid.Cid]struct{}, len(leaves))
	for i, l := range leaves {
		if _, dup := seen[l.Value]; dup {
			continue
		}
		seen[l.Value] = struct{}{}
		data, err := body(i)
		if err != nil {
			return 0, 0, err
		}
		if err := put(l.Value, data); err != nil {
			return 0, 0, err
		}
	}
	if err := cr.Flush(); err != nil {
		return 0, 0, err
	}
	if err := bw.Flush(); err != nil {
		return 0, 0, err
	}
	return n, cw.n, nil
}
