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
		left, rights, err := nodeLinks(data)
		if err != nil {
			return fmt.Errorf("mst builder node %s: %w", out[len(out)-1].cid, err)
		}
		if left != nil {
			if err := visit(*left); err != nil {
				return err
			}
		}
		for _, r := range rights {
			if err := visit(r); err != nil {
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

// nodeLinks returns the digests of the subtrees an MST node links to: its
// "l" link and its entries' "t" links, in order, without decoding the rest.
func nodeLinks(data []byte) (left *[32]byte, rights [][32]byte, err error) {
	r := dagcbor.NewReader(data)
	link := func() (*[32]byte, error) {
		if r.PeekNull() {
			return nil, r.ReadNull()
		}
		start := r.Offset()
		if err := r.Skip(); err != nil {
			return nil, err
		}
		raw := data[start:r.Offset()]
		if len(raw) < 32+2 || raw[0] != 0xd8 || raw[1] != dagcbor.TagLink {
			return nil, fmt.Errorf("%w: a link was expected", mst.ErrNotANode)
		}
		var d [32]byte
		copy(d[:], raw[len(raw)-32:])
		return &d, nil
	}
	n, err := r.ReadMapHeader()
	if err != nil {
		return nil, nil, err
	}
	var prev []byte
	for range n {
		k, err := r.ReadMapKey(prev)
		if err != nil {
			return nil, nil, err
		}
		prev = k
		switch string(k) {
		case "l":
			if left, err = link(); err != nil {
				return nil, nil, err
			}
		case "e":
			ne, err := r.ReadArrayHeader()
			if err != nil {
				return nil, nil, err
			}
			for range ne {
				m, err := r.ReadMapHeader()
				if err != nil {
					return nil, nil, err
				}
				var eprev []byte
				for range m {
					ek, err := r.ReadMapKey(eprev)
					if err != nil {
						return nil, nil, err
					}
					eprev = ek
					if string(ek) != "t" {
						if err := r.Skip(); err != nil {
							return nil, nil, err
						}
						continue
					}
					t, err := link()
					if err != nil {
						return nil, nil, err
					}
					if t != nil {
						rights = append(rights, *t)
					}
				}
			}
		default:
			if err := r.Skip(); err != nil {
				return nil, nil, err
			}
		}
	}
	return left, rights, nil
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
