package mst

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/arbor-atproto/arbor/dagcbor"
	"github.com/ipfs/go-cid"
)

// MaxProblems is how many problems Verify collects before it stops
// recording more (it still walks the whole tree and calls fn).
const MaxProblems = 1000

// Verify checks the tree rooted at root, reading nodes from src, and calls
// fn (which may be nil) with every leaf in walk order. It walks depth-first
// without building a Tree and checks:
//
//   - every node decodes strictly (ErrNotANode) and its block exists
//     (ErrMissingBlock; the walk goes on elsewhere);
//   - keys are valid (ErrBadKey), strictly increasing over the whole in-order
//     walk (ErrUnsorted, ErrDuplicateKey);
//   - every entry's height equals its node's layer, every subtree is exactly
//     one layer down, nothing links below layer 0 (ErrWrongLayer);
//   - no node is empty except the root of an empty tree, and the root is not
//     an entry-less pointer to a subtree (ErrEmptyNode);
//   - prefixes are minimal (ErrNonMinimalPrefix);
//   - no node is met twice, as its own ancestor or under two parents
//     (ErrCycle);
//   - links nest at most MaxDepth levels (ErrWrongLayer: the walk stops
//     there, so a chain of entry-less nodes costs no more than MaxDepth
//     levels however long it is);
//   - every block is one the source vouches for (ErrBadBlock, listed and
//     skipped like a missing block);
//   - rebuilding from the leaves gives root (ErrRootMismatch; only checked
//     when every node could be read and the keys were sorted and valid).
//
// The root's layer is the largest height among its entries. Verify returns
// up to MaxProblems problems; its error is only for an error from fn or a
// failure of src other than a missing block.
//
// Time is linear in the nodes visited; recursion is at most MaxDepth deep.
// Memory: O(depth) working state, plus a 16-byte fingerprint per visited
// node to detect reuse.
func Verify(src BlockSource, root cid.Cid, fn func(key []byte, val cid.Cid) error) ([]Problem, error) {
	var lfn func(key, val []byte) error
	if fn != nil {
		lfn = func(key, val []byte) error {
			c, err := castLink(val)
			if err != nil {
				return err
			}
			return fn(key, c)
		}
	}
	return VerifyLinks(src, root, lfn)
}

// VerifyLinks is Verify handing fn each value's CID in binary form (valid
// only during the call) instead of as a cid.Cid, for a caller that needs
// the CID only now and then: making a cid.Cid costs an allocation and a
// parse per leaf.
func VerifyLinks(src BlockSource, root cid.Cid, fn func(key, val []byte) error) ([]Problem, error) {
	v := &verifier{src: src, fn: fn, b: newRebuild(), feeding: true}
	defer v.b.stop()
	if nc, ok := src.(NodeCounter); ok {
		v.seen.reserve(min(nc.NodeCount(), maxSeenHint))
	}
	err := v.visit(root, -1, true)
	v.b.flush() // every leaf walked is height-checked, even after an error from fn
	v.problems = v.b.merge(v.problems)
	if err != nil {
		return v.problems, err
	}
	if !v.incomplete && v.feeding {
		got, err := v.b.b.Finish()
		if err != nil {
			return v.problems, fmt.Errorf("mst: rebuilding the tree: %w", err)
		}
		if got != root {
			v.add(problem(root, nil, ErrRootMismatch, "rebuilt root is %s", got))
		}
	}
	return v.problems, nil
}

// maxSeenHint bounds the table a NodeCounter's hint can make Verify
// reserve up front (16 M nodes, 256 MiB): a hint is not trusted further.
const maxSeenHint = 1 << 24

type verifier struct {
	src        BlockSource
	nodes      []*RawNode // one per depth
	fn         func(key, val []byte) error
	problems   []Problem
	found      int // problems found, including those past MaxProblems
	path       []cid.Cid
	seen       seenSet
	last       []byte // last key walked
	haveLast   bool
	b          *rebuild
	feeding    bool // every leaf so far was valid and sorted
	incomplete bool // some node could not be read
	bufs       [][]byte
}

func (v *verifier) add(p Problem) {
	v.found++
	if len(v.problems) < MaxProblems {
		v.problems = append(v.problems, p)
	}
}

// fingerprint is 16 bytes that tell nodes apart: the first 16 bytes of the
// digest of an atproto CID (already a SHA-256), else of a hash of the CID.
func fingerprint(c cid.Cid) [16]byte {
	var f [16]byte
	k := c.KeyString()
	if len(k) == 36 && k[2] == dagcbor.HashSHA256 && k[3] == 32 {
		copy(f[:], k[4:])
		return f
	}
	s := sha256.Sum256([]byte(k))
	copy(f[:], s[:16])
	return f
}

// visit checks the node c. layer is the layer the node must have, or -1
// when it is to be taken from the node's entries (the root, or the child of
// an entry-less root).
func (v *verifier) visit(c cid.Cid, layer int, root bool) error {
	if c.Prefix().Codec != dagcbor.CodecDagCBOR {
		v.incomplete = true
		v.add(problem(c, v.last, ErrNotANode, "link codec 0x%x is not dag-cbor", c.Prefix().Codec))
		return nil
	}
	depth := len(v.path)
	if depth >= MaxDepth {
		// Whatever lies below, no valid tree goes on: stop here rather
		// than follow a chain only the input bounds.
		v.incomplete = true
		v.add(problem(c, v.last, ErrWrongLayer, "links nested deeper than any layer (more than %d levels)", MaxDepth))
		return nil
	}
	fp := fingerprint(c)
	if !v.seen.add(fp) {
		// Met before: as an ancestor (a cycle) or elsewhere (reuse). The
		// path is looked at only now, so a node costs O(1), not O(depth).
		v.incomplete = true
		msg := "node linked from two places"
		for _, a := range v.path {
			if a == c {
				msg = "node links back to its ancestor"
				break
			}
		}
		v.add(problem(c, v.last, ErrCycle, "%s", msg))
		return nil
	}
	for len(v.nodes) <= depth {
		v.nodes = append(v.nodes, &RawNode{})
	}
	nd := v.nodes[depth] // deeper visits use other RawNodes
	derr, err := ReadRawNode(v.src, c, nd)
	if err == nil && derr != nil {
		v.incomplete = true
		v.add(Problem{CID: c, Key: string(v.last), Err: derr})
		return nil
	}
	if err != nil {
		if errors.Is(err, ErrMissingBlock) || errors.Is(err, ErrNotANode) || errors.Is(err, ErrBadBlock) {
			// A source may know a block is not a node without
			// handing over its bytes (a record kept by CID only), or
			// that its bytes are not those of its CID.
			v.incomplete = true
			v.add(Problem{CID: c, Key: string(v.last), Err: err})
			return nil
		}
		return fmt.Errorf("mst: reading node %s: %w", c, err)
	}
	v.path = append(v.path, c)
	defer func() { v.path = v.path[:depth] }()
	for len(v.bufs) <= depth {
		v.bufs = append(v.bufs, nil)
	}

	if len(nd.Entries) == 0 {
		switch {
		case nd.Left == nil && root:
			return nil // the empty tree
		case nd.Left == nil:
			v.add(problem(c, v.last, ErrEmptyNode, "node has no entries and no subtree"))
			return nil
		case root:
			v.add(problem(c, v.last, ErrEmptyNode, "root has no entries, only a subtree"))
		}
	}
	if layer < 0 {
		layer = -1
		key := v.bufs[depth][:0]
		for _, e := range nd.Entries {
			key = append(key[:e.Prefix], e.Suffix...)
			layer = max(layer, Height(key))
		}
		v.bufs[depth] = key
	}
	child := func(link []byte) error {
		if link == nil {
			return nil
		}
		l, err := castLink(link)
		if err != nil {
			return err
		}
		if layer == 0 {
			v.incomplete = true
			v.add(problem(c, v.last, ErrWrongLayer, "subtree %s below layer 0", l))
			return nil
		}
		next := layer - 1
		if layer < 0 {
			next = -1
		}
		return v.visit(l, next, false)
	}
	if err := child(nd.Left); err != nil {
		return err
	}
	for i, e := range nd.Entries {
		// v.bufs[depth] holds the previous key of this node (children use
		// deeper buffers).
		prev := v.bufs[depth]
		if i == 0 {
			prev = prev[:0]
		}
		// The key shares e.Prefix bytes with prev by construction, plus any
		// further bytes its suffix has in common with the rest of prev.
		extra := commonPrefix(prev[e.Prefix:], e.Suffix)
		key := append(prev[:e.Prefix], e.Suffix...)
		v.bufs[depth] = key
		if i > 0 && extra > 0 {
			v.add(problem(c, key, ErrNonMinimalPrefix, "prefix %d, shares %d bytes with the previous key", e.Prefix, e.Prefix+extra))
		}
		if err := v.leaf(c, key, e.Value, layer); err != nil {
			return err
		}
		if err := child(e.Right); err != nil {
			return err
		}
	}
	return nil
}

// leaf checks one entry's key and passes it on to fn and to the leaf
// checker, which checks its height (see rebuild).
func (v *verifier) leaf(c cid.Cid, key, val []byte, layer int) error {
	ok := true
	if err := ValidateKey(key); err != nil {
		ok = false
		v.add(Problem{CID: c, Key: string(key), Err: err})
	}
	valid, at := ok, v.found
	if v.haveLast {
		switch bytes.Compare(v.last, key) {
		case 0:
			ok = false
			v.add(problem(c, key, ErrDuplicateKey, ""))
		case 1:
			ok = false
			v.add(problem(c, key, ErrUnsorted, "after %q", v.last))
		}
	}
	// A valid, sorted key can be built without the Builder's checks.
	v.feeding = v.feeding && ok
	if valid {
		v.b.add(c, key, val, layer, at, v.feeding)
	}
	v.last = append(v.last[:0], key...)
	v.haveLast = true
	if v.fn != nil {
		return v.fn(key, val)
	}
	return nil
}
