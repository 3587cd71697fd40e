package archive

import (
	"bytes"
	"fmt"
	"sort"
	"testing"

	"github.com/bluesky-social/indigo/atproto/atcrypto"
	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/ipfs/go-cid"

	"github.com/arbor-atproto/arbor/car"
	"github.com/arbor-atproto/arbor/dagcbor"
	"github.com/arbor-atproto/arbor/mst"
	"github.com/arbor-atproto/arbor/repo"
)

// genRepo describes a repository CAR a test generates block by block, with
// correct hashes and a real signature, so that each test breaks exactly
// the one thing it is about.
type genRepo struct {
	key     atcrypto.PrivateKey
	did     string
	version int64  // 3 unless set
	rev     string // "3kabcdefghij2" for v3 unless set; a v2 commit has one only if set
	records map[string][]byte
	// chain, when > 0, replaces the tree by that many entry-less nodes,
	// each pointing to the next, above a leaf holding the records.
	chain int
	// tree, when set, is the tree's blocks instead of the records' MST,
	// the root first.
	tree []genBlock
	// extra blocks, put after everything else and referenced by nothing.
	extra [][]byte
	// roots, when set, is the CAR header instead of the commit; the
	// string "commit" in it stands for the commit, "data" for the tree root.
	roots []string
	// corrupt names a block (by "data" or a record path) whose bytes are
	// changed after its CID was computed.
	corrupt string
}

// genRecord encodes a post.
func genRecord(tb testing.TB, i int) []byte {
	tb.Helper()
	b, err := dagcbor.Encode(map[string]any{"$type": "app.bsky.feed.post", "text": fmt.Sprintf("post %d", i), "createdAt": "2024-01-01T00:00:00Z"})
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// genPosts returns n posts keyed by TID-like paths.
func genPosts(tb testing.TB, n int) map[string][]byte {
	out := make(map[string][]byte, n)
	for i := range n {
		out[fmt.Sprintf("app.bsky.feed.post/3k%011d", i)] = genRecord(tb, i)
	}
	return out
}

type genBlock struct {
	c cid.Cid
	b []byte
}

func (g *genRepo) sortedPaths() []string {
	var ps []string
	for p := range g.records {
		ps = append(ps, p)
	}
	sort.Strings(ps)
	return ps
}

// build returns the CAR and the commit's CID.
func (g *genRepo) build(tb testing.TB) ([]byte, cid.Cid) {
	tb.Helper()
	paths := g.sortedPaths()
	var nodes []genBlock
	var leaves []mst.Leaf
	for _, p := range paths {
		leaves = append(leaves, mst.Leaf{Key: []byte(p), Value: dagcbor.SumCID(dagcbor.CodecDagCBOR, g.records[p])})
	}
	tree, err := mst.BuildTree(leaves)
	if err != nil {
		tb.Fatal(err)
	}
	data, err := tree.RootCID()
	if err != nil {
		tb.Fatal(err)
	}
	if err := tree.WriteBlocks(func(c cid.Cid, b []byte) error {
		nodes = append(nodes, genBlock{c, b})
		return nil
	}); err != nil {
		tb.Fatal(err)
	}
	if g.tree != nil {
		nodes, data = g.tree, g.tree[0].c
	}
	if g.chain > 0 {
		// Root first in the file, as exports have it.
		chain := make([]genBlock, g.chain)
		for i := g.chain - 1; i >= 0; i-- {
			b := mst.EncodeNode(&mst.NodeData{Left: data})
			data = dagcbor.SumCID(dagcbor.CodecDagCBOR, b)
			chain[i] = genBlock{data, b}
		}
		nodes = append(chain, nodes...)
	}
	version := g.version
	if version == 0 {
		version = repo.VersionCurrent
	}
	rev := g.rev
	if rev == "" && version == repo.VersionCurrent {
		rev = "3kabcdefghij2"
	}
	did := g.did
	if did == "" {
		did = "did:plc:arborrepotestsaaaaaaaaaa"
	}
	commit := &repo.Commit{DID: syntax.DID(did), Version: version, Data: data, Rev: syntax.TID(rev)}
	commit.Sig, err = g.key.HashAndSign(commit.UnsignedBytes())
	if err != nil {
		tb.Fatal(err)
	}
	cb := commit.SignedBytes()
	cc := dagcbor.SumCID(dagcbor.CodecDagCBOR, cb)
	roots := []cid.Cid{cc}
	if g.roots != nil {
		roots = nil
		for _, r := range g.roots {
			switch r {
			case "commit":
				roots = append(roots, cc)
			case "data":
				roots = append(roots, data)
			default:
				tb.Fatalf("genRepo: root %q", r)
			}
		}
	}
	var buf bytes.Buffer
	w, err := car.NewWriter(&buf, roots)
	if err != nil {
		tb.Fatal(err)
	}
	put := func(c cid.Cid, b []byte, name string) {
		if name != "" && name == g.corrupt {
			b = append(bytes.Clone(b[:len(b)-1]), b[len(b)-1]^1)
		}
		if err := w.Put(c, b); err != nil {
			tb.Fatal(err)
		}
	}
	put(cc, cb, "")
	for i, n := range nodes {
		name := ""
		if i == 0 {
			name = "data"
		}
		put(n.c, n.b, name)
	}
	for _, p := range paths {
		put(dagcbor.SumCID(dagcbor.CodecDagCBOR, g.records[p]), g.records[p], p)
	}
	for _, b := range g.extra {
		put(dagcbor.SumCID(dagcbor.CodecDagCBOR, b), b, "")
	}
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes(), cc
}

// readGen reads a generated CAR as verify does.
func readGen(tb testing.TB, b []byte, compact bool) *Archive {
	tb.Helper()
	a, err := read(bytes.NewReader(b), loadOptions{CollectBadBlocks: true, CompactNodes: compact})
	if err != nil {
		tb.Fatal(err)
	}
	return a
}
