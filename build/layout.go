package build

import (
	"bufio"
	"fmt"
	"hash/maphash"
	"io"

	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/ipfs/go-cid"

	"github.com/arbor-atproto/arbor/car"
	"github.com/arbor-atproto/arbor/dagcbor"
	"github.com/arbor-atproto/arbor/mst"
	"github.com/arbor-atproto/arbor/repo"
)

// block is one CAR section.
type block struct {
	cid  cid.Cid
	data []byte
}

// buildTree builds the MST of n leaves (given by leaf in key order, no
// duplicates) and returns its root and its nodes in pre-order: a node, its
// left subtree, then each entry's right subtree.
func buildTree(n int, leaf func(i int) ([]byte, cid.Cid)) (cid.Cid, []block, error) {
	var datas [][]byte
	index := make(map[[32]byte]int32, n/3+1)
	b := mst.NewBuilder(func(c cid.Cid, data []byte) error {
		index[digestOf(c)] = int32(len(datas))
		datas = append(datas, data)
		return nil
	})
	for i := range n {
		k, v := leaf(i)
		if err := b.Add(k, v); err != nil {
			return cid.Undef, nil, err
		}
	}
	root, err := b.Finish()
	if err != nil {
		return cid.Undef, nil, err
	}
	out := make([]block, 0, len(datas))
	seen := make([]bool, len(datas))
	var node mst.RawNode // nodeLinks' scratch: links are copied out before visiting them
	var visit func(d [32]byte) error
	visit = func(d [32]byte) error {
		i, ok := index[d]
		if !ok {
			return fmt.Errorf("mst builder did not emit node %s", dagcbor.CIDFromDigest(dagcbor.CodecDagCBOR, d))
		}
		if seen[i] {
			return nil
		}
		seen[i] = true
		data := datas[i]
		out = append(out, block{dagcbor.CIDFromDigest(dagcbor.CodecDagCBOR, d), data})
		links, err := nodeLinks(data, &node)
		if err != nil {
			return fmt.Errorf("mst builder node %s: %w", out[len(out)-1].cid, err)
		}
		for _, l := range links {
			if err := visit(l); err != nil {
				return err
			}
		}
		return nil
	}
	if err := visit(digestOf(root)); err != nil {
		return cid.Undef, nil, err
	}
	return root, out, nil
}

// digestOf is the sha2-256 digest of an atproto CID (CIDv1, sha2-256): the
// last 32 bytes of its binary form.
func digestOf(c cid.Cid) [32]byte {
	k := c.KeyString()
	var d [32]byte
	copy(d[:], k[len(k)-32:])
	return d
}

// nodeLinks decodes MST node data into n (scratch space the caller reuses)
// and returns the digests of the subtrees it links to: its left link, then
// each entry's right link, in order.
func nodeLinks(data []byte, n *mst.RawNode) ([][32]byte, error) {
	if err := mst.DecodeNodeRaw(data, n); err != nil {
		return nil, err
	}
	var links [][32]byte
	add := func(l []byte) error {
		if l == nil {
			return nil
		}
		if len(l) < 32 {
			return fmt.Errorf("%w: link %x is not a sha2-256 CID", mst.ErrNotANode, l)
		}
		links = append(links, [32]byte(l[len(l)-32:]))
		return nil
	}
	if err := add(n.Left); err != nil {
		return nil, err
	}
	for _, e := range n.Entries {
		if err := add(e.Right); err != nil {
			return nil, err
		}
	}
	return links, nil
}

// signCommit makes and signs a v3 commit (prev null) deterministically.
func signCommit(did syntax.DID, rev syntax.TID, data cid.Cid, key deterministicKey) (*repo.Commit, cid.Cid, []byte, error) {
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
// nodes in the order given, then the n record blocks in key order, each
// distinct CID once. id gives record i's CID as digest and codec, rec its
// CID and bytes. It returns the number of blocks and bytes written.
func writeCanonical(w io.Writer, commitCID cid.Cid, commit []byte, nodes []block, n int, id func(i int) blockID, rec func(i int) (cid.Cid, []byte, error)) (int, int64, error) {
	cw := &countingWriter{w: w}
	bw := bufio.NewWriterSize(cw, 1<<20)
	cr, err := car.NewWriter(bw, []cid.Cid{commitCID})
	if err != nil {
		return 0, 0, err
	}
	count := 0
	put := func(c cid.Cid, data []byte) error {
		count++
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
	seen := newFirstSet(n, id)
	for i := range n {
		if !seen.first(i) {
			continue
		}
		c, data, err := rec(i)
		if err != nil {
			return 0, 0, err
		}
		if err := put(c, data); err != nil {
			return 0, 0, err
		}
	}
	if err := cr.Flush(); err != nil {
		return 0, 0, err
	}
	if err := bw.Flush(); err != nil {
		return 0, 0, err
	}
	return count, cw.n, nil
}

// blockID identifies a block of a repository: the sha2-256 digest and the
// codec of its CID.
type blockID struct {
	digest [32]byte
	codec  uint8
}

func idOf(c cid.Cid) blockID {
	return blockID{digestOf(c), uint8(c.Type())}
}

// firstSet tells, for items 0, 1, ... visited in order, which is the first
// with its ID: an open-addressing table, at most half full, of item numbers
// tagged with 32 more bits of their hash (so that a probe rarely needs to
// look at another item's ID), 8 bytes a slot whatever the size of an ID.
type firstSet struct {
	slots []uint64 // tag<<32 | item+1; 0 is empty
	id    func(i int) blockID
	seed  maphash.Seed
}

func newFirstSet(n int, id func(i int) blockID) *firstSet {
	size := 16
	for size < 2*n {
		size *= 2
	}
	return &firstSet{slots: make([]uint64, size), id: id, seed: maphash.MakeSeed()}
}

// first records item i (items come in increasing order, at most the n
// given to newFirstSet) and reports whether no earlier item had its ID.
func (s *firstSet) first(i int) bool {
	k := s.id(i)
	h := maphash.Bytes(s.seed, k.digest[:]) ^ uint64(k.codec)
	tag := h >> 32
	mask := uint64(len(s.slots) - 1)
	for j := h & mask; ; j = (j + 1) & mask {
		v := s.slots[j]
		if v == 0 {
			s.slots[j] = tag<<32 | uint64(i+1)
			return true
		}
		if v>>32 == tag && s.id(int(v&0xffffffff)-1) == k {
			return false
		}
	}
}
