package diff

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/ipfs/go-cid"

	"github.com/arbor-atproto/arbor/dagcbor"
	"github.com/arbor-atproto/arbor/mst"
)

// val returns a record CID standing for value v.
func val(v int) cid.Cid {
	return dagcbor.SumCID(dagcbor.CodecDagCBOR, fmt.Appendf(nil, "record %d", v))
}

// testTree is a tree built with the mst package, with its leaves and nodes
// as plain maps for brute-force comparisons.
type testTree struct {
	root   cid.Cid
	leaves map[string]cid.Cid
	nodes  map[cid.Cid]bool
}

// build builds the tree of leaves, stores its nodes in src.
func build(t testing.TB, src mst.MapSource, leaves map[string]cid.Cid) testTree {
	t.Helper()
	keys := slices.Sorted(maps.Keys(leaves))
	ls := make([]mst.Leaf, len(keys))
	for i, k := range keys {
		ls[i] = mst.Leaf{Key: []byte(k), Value: leaves[k]}
	}
	tr, err := mst.BuildTree(ls)
	if err != nil {
		t.Fatal(err)
	}
	nodes := map[cid.Cid]bool{}
	if err := tr.WriteBlocks(func(c cid.Cid, b []byte) error { src[c] = b; nodes[c] = true; return nil }); err != nil {
		t.Fatal(err)
	}
	root, err := tr.RootCID()
	if err != nil {
		t.Fatal(err)
	}
	return testTree{root: root, leaves: leaves, nodes: nodes}
}

func keyPool(n int) []string {
	out := make([]string, n)
	colls := []string{"app.bsky.feed.like", "app.bsky.feed.post", "app.bsky.graph.follow"}
	for i := range out {
		out[i] = fmt.Sprintf("%s/3k%09dz", colls[i%len(colls)], i*7919%1000003)
	}
	return out
}

// randomPair returns two random trees over a shared key pool: B is A with
// about nOps creates, updates and deletes.
func randomPair(t testing.TB, rng *rand.Rand, src mst.MapSource, size, nOps int) (testTree, testTree) {
	pool := keyPool(size + nOps)
	a := map[string]cid.Cid{}
	for _, k := range pool[:size] {
		a[k] = val(rng.IntN(1 << 30))
	}
	b := maps.Clone(a)
	for range nOps {
		k := pool[rng.IntN(len(pool))]
		switch rng.IntN(3) {
		case 0:
			delete(b, k)
		default:
			b[k] = val(rng.IntN(1 << 30))
		}
	}
	return build(t, src, a), build(t, src, b)
}

// bruteOps compares two leaf maps directly.
func bruteOps(a, b map[string]cid.Cid) []Op {
	var ops []Op
	for k, v := range a {
		if w, ok := b[k]; !ok {
			ops = append(ops, Op{Path: k, Old: v})
		} else if w != v {
			ops = append(ops, Op{Path: k, Old: v, New: w})
		}
	}
	for k, w := range b {
		if _, ok := a[k]; !ok {
			ops = append(ops, Op{Path: k, New: w})
		}
	}
	slices.SortFunc(ops, func(x, y Op) int { return bytes.Compare([]byte(x.Path), []byte(y.Path)) })
	return ops
}

func bruteNodes(a, b map[cid.Cid]bool) []cid.Cid {
	s := cidSet{}
	for c := range a {
		if !b[c] {
			s.add(c)
		}
	}
	return s.sorted()
}

func applyOps(t testing.TB, src mst.BlockSource, root cid.Cid, ops []Op) cid.Cid {
	t.Helper()
	tr, err := mst.Load(src, root)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range ops {
		if o.New.Defined() {
			tr, err = tr.Insert([]byte(o.Path), o.New)
		} else {
			tr, err = tr.Delete([]byte(o.Path))
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	r, err := tr.RootCID()
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func opsString(ops []Op) []string {
	out := make([]string, len(ops))
	for i, o := range ops {
		out[i] = fmt.Sprintf("%s %s %s>%s", o.Action(), o.Path, defOrEmpty(o.Old), defOrEmpty(o.New))
	}
	return out
}

// Random trees: the diff equals a brute-force comparison of the leaves and
// of the node sets, applying it to A gives B, it mirrors diff(B, A), and the
// #commit blocks alone invert it in random orders.
func TestRandomTreesDiffMatchesBruteForceAndRoundTrips(t *testing.T) {
	for seed := range uint64(60) {
		rng := rand.New(rand.NewPCG(seed, 42))
		size := []int{0, 1, 3, 20, 150, 600}[seed%6]
		nOps := []int{0, 1, 2, 5, 40}[seed%5]
		t.Run(fmt.Sprintf("seed%d_size%d_ops%d", seed, size, nOps), func(t *testing.T) {
			src := mst.MapSource{}
			a, b := randomPair(t, rng, src, size, nOps)
			res, err := Compare(src, a.root, src, b.root)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := opsString(res.Ops), opsString(bruteOps(a.leaves, b.leaves)); !slices.Equal(got, want) {
				t.Fatalf("ops:\n got %v\nwant %v", got, want)
			}
			if got, want := strs(res.CreatedNodes), strs(bruteNodes(b.nodes, a.nodes)); !slices.Equal(got, want) {
				t.Errorf("created nodes %v, want %v", got, want)
			}
			if got, want := strs(res.DeletedNodes), strs(bruteNodes(a.nodes, b.nodes)); !slices.Equal(got, want) {
				t.Errorf("deleted nodes %v, want %v", got, want)
			}
			// Ops walks the same way; its sets come unsorted until SortSets.
			quick, err := Ops(src, a.root, src, b.root)
			if err != nil {
				t.Fatal(err)
			}
			quick.SortSets()
			if !slices.Equal(opsString(quick.Ops), opsString(res.Ops)) || !slices.Equal(strs(quick.CreatedNodes), strs(res.CreatedNodes)) ||
				!slices.Equal(strs(quick.DeletedNodes), strs(res.DeletedNodes)) || !slices.Equal(strs(quick.CreatedRecords), strs(res.CreatedRecords)) ||
				!slices.Equal(strs(quick.DeletedRecords), strs(res.DeletedRecords)) {
				t.Errorf("Ops then SortSets differs from Compare")
			}
			if r := applyOps(t, src, a.root, res.Ops); r != b.root {
				t.Errorf("applying the diff to A gives %s, want B %s", r, b.root)
			}
			back, err := Compare(src, b.root, src, a.root)
			if err != nil {
				t.Fatal(err)
			}
			if len(back.Ops) != len(res.Ops) {
				t.Fatalf("diff(B,A) has %d ops, diff(A,B) %d", len(back.Ops), len(res.Ops))
			}
			for i, o := range back.Ops {
				f := res.Ops[i]
				if o.Path != f.Path || o.Old != f.New || o.New != f.Old {
					t.Fatalf("diff(B,A) op %d = %v, not the mirror of %v", i, o, f)
				}
			}
			if !slices.Equal(strs(back.CreatedNodes), strs(res.DeletedNodes)) || !slices.Equal(strs(back.DeletedNodes), strs(res.CreatedNodes)) {
				t.Errorf("node sets do not mirror")
			}
			if !slices.Equal(strs(back.CreatedRecords), strs(res.DeletedRecords)) {
				t.Errorf("record sets do not mirror")
			}
			proof := subset(t, src, res.CreatedNodes, res.CoveringProof)
			for range 5 {
				ops := slices.Clone(res.Ops)
				rng.Shuffle(len(ops), func(i, j int) { ops[i], ops[j] = ops[j], ops[i] })
				if err := CheckInversion(proof, b.root, a.root, ops); err != nil {
					t.Fatalf("inversion with the covering proof only: %v", err)
				}
			}
			// The inductive proof alone (with the created nodes) inverts
			// in descending order, as the suite defines it.
			ind := subset(t, src, res.CreatedNodes, res.InductiveProofNodes)
			if r, _, err := Invert(ind, b.root, res.Ops, true); err != nil || r != a.root {
				t.Errorf("inverting with the inductive proof: %s, %v; want %s", r, err, a.root)
			}
		})
	}
}

func TestDiffOfATreeWithItselfIsEmptyAndReadsNothing(t *testing.T) {
	src := mst.MapSource{}
	a, _ := randomPair(t, rand.New(rand.NewPCG(7, 7)), src, 500, 0)
	res, err := Compare(src, a.root, src, a.root)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Identical() || len(res.CreatedNodes)+len(res.DeletedNodes)+len(res.ProofNodes)+len(res.CoveringProof) != 0 {
		t.Fatalf("diff(A, A) = %+v, want empty", res)
	}
	if res.OldVisited+res.NewVisited != 0 {
		t.Errorf("diff(A, A) read %d+%d nodes, want none", res.OldVisited, res.NewVisited)
	}
}

// depth returns the number of node levels of a tree.
func depth(t testing.TB, src mst.BlockSource, root cid.Cid) int {
	t.Helper()
	b, err := src.Get(root)
	if err != nil {
		t.Fatal(err)
	}
	n, err := mst.DecodeNode(b)
	if err != nil {
		t.Fatal(err)
	}
	d := 0
	for _, c := range append([]cid.Cid{n.Left}, func() []cid.Cid {
		var r []cid.Cid
		for _, e := range n.Entries {
			r = append(r, e.Right)
		}
		return r
	}()...) {
		if c.Defined() {
			d = max(d, depth(t, src, c))
		}
	}
	return d + 1
}

// One changed record in a 5,000-record tree: the walk reads a few nodes
// per level on each side, not the tree.
func TestSingleChangeVisitsOnlyTheChangedPaths(t *testing.T) {
	for _, kind := range []string{"create", "update", "delete"} {
		t.Run(kind, func(t *testing.T) {
			src := mst.MapSource{}
			pool := keyPool(5001)
			leaves := map[string]cid.Cid{}
			for i, k := range pool[:5000] {
				leaves[k] = val(i)
			}
			a := build(t, src, leaves)
			nl := maps.Clone(leaves)
			switch kind {
			case "create":
				nl[pool[5000]] = val(-1)
			case "update":
				nl[pool[2500]] = val(-1)
			case "delete":
				delete(nl, pool[2500])
			}
			b := build(t, src, nl)
			res, err := Compare(src, a.root, src, b.root)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Ops) != 1 {
				t.Fatalf("ops %v", res.Ops)
			}
			d := max(depth(t, src, a.root), depth(t, src, b.root))
			if limit := 3 * d; res.OldVisited > limit || res.NewVisited > limit {
				t.Errorf("visited %d old and %d new nodes for one change in a depth-%d tree of %d nodes (limit %d each)",
					res.OldVisited, res.NewVisited, d, len(a.nodes), limit)
			}
		})
	}
}

// Malformed and incomplete trees give errors naming the node, never a
// panic.
func TestBadTreesAreErrorsNotPanics(t *testing.T) {
	src := mst.MapSource{}
	a, b := randomPair(t, rand.New(rand.NewPCG(3, 3)), src, 300, 10)
	// A child node of B that A does not share.
	res, err := Compare(src, a.root, src, b.root)
	if err != nil {
		t.Fatal(err)
	}
	var child cid.Cid
	for _, c := range res.CreatedNodes {
		if c != b.root {
			child = c
			break
		}
	}
	if !child.Defined() {
		t.Fatal("no created child node to break")
	}
	unsorted := func() []byte {
		// Two entries in the wrong order, on layer 0.
		k1, k2 := []byte("app.bsky.feed.post/b"), []byte("app.bsky.feed.post/a")
		for mst.Height(k1) != 0 {
			k1 = append(k1, 'x')
		}
		for mst.Height(k2) != 0 {
			k2 = append(k2, 'y')
		}
		return mst.EncodeNode(&mst.NodeData{Entries: []mst.EntryData{{Suffix: k1, Value: val(1)}, {Suffix: k2, Value: val(2)}}})
	}()
	cases := []struct {
		name  string
		root  cid.Cid
		block []byte // replaces the block at root/child; nil: remove it
		want  error
	}{
		{"missing child", child, nil, mst.ErrMissingBlock},
		{"missing root", b.root, nil, mst.ErrMissingBlock},
		{"child not a node", child, []byte{0xa1, 0x61, 0x78, 0x01}, mst.ErrNotANode},
		{"child garbage", child, []byte{0xff, 0x00}, mst.ErrNotANode},
		{"root unsorted", b.root, unsorted, ErrBadTree},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			bad := maps.Clone(src)
			if c.block == nil {
				delete(bad, c.root)
			} else {
				bad[c.root] = c.block
			}
			_, err := Compare(src, a.root, bad, b.root)
			if !errors.Is(err, c.want) {
				t.Fatalf("error %v, want %v", err, c.want)
			}
			var te *TreeError
			if !errors.As(err, &te) || te.Side != "new" || te.CID != c.root {
				t.Errorf("error %v does not name the new tree's node %s", err, c.root)
			}
		})
	}
}

// FuzzCompare replaces one node of the new tree with arbitrary bytes: the
// walk must return (a result or an error), never panic or loop.
func FuzzCompare(f *testing.F) {
	src := mst.MapSource{}
	a, b := randomPair(f, rand.New(rand.NewPCG(5, 5)), src, 200, 8)
	res, err := Compare(src, a.root, src, b.root)
	if err != nil {
		f.Fatal(err)
	}
	targets := res.CreatedNodes
	for _, c := range targets {
		f.Add(uint8(0), src[c])
	}
	f.Add(uint8(1), []byte{0xa2, 0x61, 0x65, 0x80, 0x61, 0x6c, 0xf6})
	f.Fuzz(func(t *testing.T, which uint8, block []byte) {
		bad := maps.Clone(src)
		bad[targets[int(which)%len(targets)]] = block
		_, _ = Compare(src, a.root, bad, b.root)
		_, _ = Compare(bad, b.root, src, a.root)
	})
}
