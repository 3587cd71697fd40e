// Package hostile builds repositories that no honest implementation writes,
// for tests: every block hashes to its CID and the commit carries a real
// signature, but the tree is malformed (a chain of entry-less nodes far
// deeper than any layer, subtrees shared by several parents, keys out of
// order or at the wrong layer). Only tests import it; it is not part of
// the arbor binary.
//
// Deep shapes are built with loops, never with recursion over the depth,
// so that a million-level chain is generated in a fraction of a second.
package hostile

import (
	"bytes"
	"fmt"
	"maps"
	"slices"

	"github.com/bluesky-social/indigo/atproto/atcrypto"
	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/ipfs/go-cid"

	"github.com/arbor-atproto/arbor/car"
	"github.com/arbor-atproto/arbor/dagcbor"
	"github.com/arbor-atproto/arbor/mst"
	"github.com/arbor-atproto/arbor/repo"
)

// Rev is the rev of every commit this package signs.
const Rev = "3kaaaaaaaaaa2"

// Repo is a generated repository.
type Repo struct {
	CAR    []byte  // the whole CAR, rooted at the commit
	Commit cid.Cid // the signed v3 commit
	Data   cid.Cid // its MST root
	DID    syntax.DID
	Rev    string
	// Records maps each record path the generator wrote to its CID.
	Records map[string]cid.Cid
	// Nodes is the number of distinct MST node blocks in the CAR.
	Nodes int
}

// Node is one MST node to write. The same *Node may appear under several
// parents (the tree is then a DAG: one block, linked from several places).
// Shape builds nodes recursively: keep Node graphs shallow (DeepChain is
// the generator for deep shapes).
type Node struct {
	Left    *Node
	Entries []Entry
}

// Entry is one entry of a Node, with its full key; Value is the record's
// CID (cid.Undef: a record block {"$type", "text": Key} is written).
type Entry struct {
	Key   string
	Value cid.Cid
	Right *Node
}

// Record returns the bytes and CID of a small valid record naming text.
func Record(text string) ([]byte, cid.Cid) {
	b, err := dagcbor.Encode(map[string]any{"$type": "app.bsky.feed.post", "text": text, "createdAt": "2025-01-01T00:00:00.000Z"})
	if err != nil {
		panic(err) // a fixed shape of valid values
	}
	return b, dagcbor.SumCID(dagcbor.CodecDagCBOR, b)
}

// Keys returns n record paths of collection app.bsky.feed.post whose MST
// height is height, in key order, deterministic. Each height step is four
// times rarer: keep height small (at most 5 or so).
func Keys(height, n int) []string {
	var out []string
	for i := 0; len(out) < n; i++ {
		k := fmt.Sprintf("app.bsky.feed.post/k%08d", i)
		if mst.Height([]byte(k)) == height {
			out = append(out, k)
		}
	}
	return out
}

// writer collects the blocks of one repository.
type writer struct {
	blocks []car.Block
	seen   map[cid.Cid]bool
	recs   map[string]cid.Cid
	nodes  int
}

func newWriter() *writer {
	return &writer{seen: map[cid.Cid]bool{}, recs: map[string]cid.Cid{}}
}

func (w *writer) put(c cid.Cid, b []byte) {
	if !w.seen[c] {
		w.seen[c] = true
		w.blocks = append(w.blocks, car.Block{CID: c, Data: b})
	}
}

// node encodes one node from its children's CIDs and puts it.
func (w *writer) node(left cid.Cid, keys []string, vals, rights []cid.Cid) cid.Cid {
	nd := &mst.NodeData{Left: left, Entries: mst.Entries(keys, vals, rights)}
	b := mst.EncodeNode(nd)
	c := dagcbor.SumCID(dagcbor.CodecDagCBOR, b)
	if !w.seen[c] {
		w.nodes++
	}
	w.put(c, b)
	return c
}

func (w *writer) record(key string) cid.Cid {
	b, c := Record(key)
	w.put(c, b)
	w.recs[key] = c
	return c
}

// finish signs a commit over data and writes the CAR: the commit, then the
// blocks in the order put.
func (w *writer) finish(key atcrypto.PrivateKey, did syntax.DID, data cid.Cid) (*Repo, error) {
	cm := &repo.Commit{DID: did, Version: repo.VersionCurrent, Data: data, Rev: Rev}
	if err := cm.Sign(key); err != nil {
		return nil, err
	}
	cb, err := cm.Bytes()
	if err != nil {
		return nil, err
	}
	cc := dagcbor.SumCID(dagcbor.CodecDagCBOR, cb)
	var buf bytes.Buffer
	cw, err := car.NewWriter(&buf, []cid.Cid{cc})
	if err != nil {
		return nil, err
	}
	if err := cw.Put(cc, cb); err != nil {
		return nil, err
	}
	for _, b := range w.blocks {
		if err := cw.Put(b.CID, b.Data); err != nil {
			return nil, err
		}
	}
	if err := cw.Flush(); err != nil {
		return nil, err
	}
	return &Repo{CAR: buf.Bytes(), Commit: cc, Data: data, DID: did, Rev: Rev, Records: w.recs, Nodes: w.nodes}, nil
}

// DeepChain returns a repository whose tree is a chain of depth entry-less
// nodes, each linking (left) to the next, above one layer-0 node holding
// one record: depth+1 nodes, about 86 bytes of CAR per level. The root is
// one of the entry-less nodes, so nothing bounds the chain's layer: only a
// walker that knows no valid tree is deeper than mst's maximum layer stops
// early.
func DeepChain(key atcrypto.PrivateKey, did syntax.DID, depth int) (*Repo, error) {
	w := newWriter()
	// Nodes are put bottom-up; the CAR is easier on readers top-down, as
	// trees usually come, so reverse them afterwards.
	k := Keys(0, 1)[0]
	recBytes, rc := Record(k)
	w.recs[k] = rc
	c := w.node(cid.Undef, []string{k}, []cid.Cid{rc}, []cid.Cid{cid.Undef})
	// Every node of the chain is new: append them without w.put's set.
	w.blocks = slices.Grow(w.blocks, depth+1)
	for range depth {
		b := mst.EncodeNode(&mst.NodeData{Left: c})
		c = dagcbor.SumCID(dagcbor.CodecDagCBOR, b)
		w.blocks = append(w.blocks, car.Block{CID: c, Data: b})
	}
	w.nodes += depth
	for i, j := 0, len(w.blocks)-1; i < j; i, j = i+1, j-1 {
		w.blocks[i], w.blocks[j] = w.blocks[j], w.blocks[i]
	}
	w.blocks = append(w.blocks, car.Block{CID: rc, Data: recBytes})
	return w.finish(key, did, c)
}

// SharedChain returns a repository of levels nodes above a layer-0 leaf,
// where each node has one entry and both its left link and its entry's
// right link point at the same node below: levels+1 blocks, but 2^levels
// paths from the root to the leaf. Keys are in no valid order and layers
// are not checked: it is a DAG, which a verifier reports as a node reached
// twice, and which any walker that does not notice it walks exponentially.
func SharedChain(key atcrypto.PrivateKey, did syntax.DID, levels int) (*Repo, error) {
	w := newWriter()
	keys := Keys(0, levels+1)
	c := w.node(cid.Undef, keys[:1], []cid.Cid{w.record(keys[0])}, []cid.Cid{cid.Undef})
	for i := 1; i <= levels; i++ {
		c = w.node(c, keys[i:i+1], []cid.Cid{w.record(keys[i])}, []cid.Cid{c})
	}
	return w.finish(key, did, c)
}

// Shape returns a repository whose tree is root, written as given: keys
// in the order given, layers as they fall. A record block is written for
// every entry without a Value.
func Shape(key atcrypto.PrivateKey, did syntax.DID, root *Node) (*Repo, error) {
	w := newWriter()
	done := map[*Node]cid.Cid{}
	var enc func(n *Node) cid.Cid
	enc = func(n *Node) cid.Cid {
		if n == nil {
			return cid.Undef
		}
		if c, ok := done[n]; ok {
			return c
		}
		left := enc(n.Left)
		var keys []string
		var vals, rights []cid.Cid
		for _, e := range n.Entries {
			v := e.Value
			if !v.Defined() {
				v = w.record(e.Key)
			}
			keys, vals, rights = append(keys, e.Key), append(vals, v), append(rights, enc(e.Right))
		}
		c := w.node(left, keys, vals, rights)
		done[n] = c
		return c
	}
	return w.finish(key, did, enc(root))
}

// WithRecords returns a repository whose tree is the canonical MST of the
// given paths, each pointing at the block of its bytes, whatever they are
// (a record that is not a map, has no $type, ...): a valid tree and commit
// over invalid records.
func WithRecords(key atcrypto.PrivateKey, did syntax.DID, records map[string][]byte) (*Repo, error) {
	w := newWriter()
	var leaves []mst.Leaf
	for _, p := range slices.Sorted(maps.Keys(records)) {
		c := dagcbor.SumCID(dagcbor.CodecDagCBOR, records[p])
		w.put(c, records[p])
		w.recs[p] = c
		leaves = append(leaves, mst.Leaf{Key: []byte(p), Value: c})
	}
	t, err := mst.BuildTree(leaves)
	if err != nil {
		return nil, err
	}
	if err := t.WriteBlocks(func(c cid.Cid, b []byte) error {
		if !w.seen[c] {
			w.nodes++
		}
		w.put(c, b)
		return nil
	}); err != nil {
		return nil, err
	}
	root, err := t.RootCID()
	if err != nil {
		return nil, err
	}
	return w.finish(key, did, root)
}
