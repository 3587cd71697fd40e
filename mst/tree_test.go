package mst

import (
	"errors"
	"fmt"
	"math/rand"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/arbor-atproto/arbor/dagcbor"
	"github.com/arbor-atproto/arbor/internal/testfixtures"
	indigomst "github.com/bluesky-social/indigo/atproto/repo/mst"
	"github.com/ipfs/go-cid"
)

func randomPairs(rng *rand.Rand, n int) []kv {
	colls := []string{"app.bsky.feed.post", "app.bsky.feed.like", "app.bsky.graph.follow"}
	seen := map[string]bool{}
	var out []kv
	for len(out) < n {
		c := colls[rng.Intn(len(colls))]
		k := fmt.Sprintf("%s/%x", c, rng.Int63n(1<<40))
		if seen[k] {
			continue
		}
		seen[k] = true
		v := dagcbor.SumCID(dagcbor.CodecDagCBOR, []byte(k+"#"+fmt.Sprint(rng.Int())))
		out = append(out, kv{k, v})
	}
	return out
}

func indigoRoot(t testing.TB, pairs []kv) cid.Cid {
	t.Helper()
	it := indigomst.NewEmptyTree()
	for _, p := range pairs {
		if _, err := it.Insert([]byte(p.key), p.val); err != nil {
			t.Fatal(err)
		}
	}
	c, err := it.RootCID()
	if err != nil {
		t.Fatal(err)
	}
	return *c
}

func TestRandomTreesMatchIndigoAndAreOrderIndependent(t *testing.T) {
	rng := rand.New(rand.NewSource(42))
	for _, n := range []int{0, 1, 2, 3, 10, 50, 200, 1000} {
		for round := 0; round < 3; round++ {
			pairs := randomPairs(rng, n)
			t.Run(fmt.Sprintf("n=%d/%d", n, round), func(t *testing.T) {
				want := indigoRoot(t, pairs)
				built, err := BuildTree(leavesOf(pairs))
				if err != nil {
					t.Fatal(err)
				}
				if got := rootOf(t, built); got != want {
					t.Fatalf("BuildTree root %s, indigo %s", got, want)
				}
				if got, blocks := builderRoot(t, leavesOf(pairs)); got != want {
					t.Errorf("Builder root %s, indigo %s", got, want)
				} else if !sameBlocks(blocks, blocksOf(t, built)) {
					t.Errorf("Builder and BuildTree emit different blocks")
				}
				tr := NewEmpty()
				for _, i := range rng.Perm(n) {
					if tr, err = tr.Insert([]byte(pairs[i].key), pairs[i].val); err != nil {
						t.Fatal(err)
					}
				}
				if got := rootOf(t, tr); got != want {
					t.Errorf("random-order Insert root %s, indigo %s", got, want)
				}
				// delete a random half, in random order, and compare to
				// indigo on the rest
				perm := rng.Perm(n)
				del := perm[:n/2]
				for _, i := range del {
					if tr, err = tr.Delete([]byte(pairs[i].key)); err != nil {
						t.Fatal(err)
					}
				}
				var rest []kv
				for _, i := range perm[n/2:] {
					rest = append(rest, pairs[i])
				}
				if got, want := rootOf(t, tr), indigoRoot(t, rest); got != want {
					t.Errorf("after deleting %d keys root %s, indigo %s", len(del), got, want)
				}
				verifyClean(t, blocksOf(t, tr), rootOf(t, tr))
				for _, i := range perm[n/2:] {
					if tr, err = tr.Delete([]byte(pairs[i].key)); err != nil {
						t.Fatal(err)
					}
				}
				if got, want := rootOf(t, tr), rootOf(t, NewEmpty()); got != want {
					t.Errorf("deleting everything gives %s, want the empty root %s", got, want)
				}
			})
		}
	}
}

func TestInsertLeavesOldTreeUnchanged(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	pairs := randomPairs(rng, 300)
	base, err := BuildTree(leavesOf(pairs[:200]))
	if err != nil {
		t.Fatal(err)
	}
	baseRoot := rootOf(t, base)
	baseLeaves := walkAll(t, base)
	cur := base
	for _, p := range pairs[200:] {
		if cur, err = cur.Insert([]byte(p.key), p.val); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range pairs[:50] {
		if cur, err = cur.Delete([]byte(p.key)); err != nil {
			t.Fatal(err)
		}
		if cur, err = cur.Insert([]byte(p.key+"x"), p.val); err != nil {
			t.Fatal(err)
		}
	}
	if got := rootOf(t, base); got != baseRoot {
		t.Errorf("base root changed: %s → %s", baseRoot, got)
	}
	// recompute from scratch: a rebuilt tree of the same leaves has the same root
	again, err := BuildTree(leavesOf(walkAll(t, base)))
	if err != nil {
		t.Fatal(err)
	}
	if rootOf(t, again) != baseRoot || len(walkAll(t, base)) != len(baseLeaves) {
		t.Errorf("base tree content changed")
	}
}

func TestGetInsertReplaceDelete(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	pairs := randomPairs(rng, 500)
	tr, err := BuildTree(leavesOf(pairs))
	if err != nil {
		t.Fatal(err)
	}
	// through a lazily loaded copy too
	loaded, err := Load(blocksOf(t, tr), rootOf(t, tr))
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range []*Tree{tr, loaded} {
		for _, p := range pairs {
			v, ok, err := x.Get([]byte(p.key))
			if err != nil || !ok || v != p.val {
				t.Fatalf("Get(%s) = %v %v %v, want %s", p.key, v, ok, err, p.val)
			}
		}
		if _, ok, err := x.Get([]byte("app.bsky.feed.post/absent")); ok || err != nil {
			t.Errorf("Get(absent) = %v, %v", ok, err)
		}
	}
	newVal := dagcbor.SumCID(dagcbor.CodecDagCBOR, []byte("new"))
	replaced, err := loaded.Insert([]byte(pairs[0].key), newVal)
	if err != nil {
		t.Fatal(err)
	}
	if v, _, _ := replaced.Get([]byte(pairs[0].key)); v != newVal {
		t.Errorf("Insert did not replace the value")
	}
	if v, _, _ := loaded.Get([]byte(pairs[0].key)); v != pairs[0].val {
		t.Errorf("Insert changed the old tree")
	}
	p2 := append([]kv{{pairs[0].key, newVal}}, pairs[1:]...)
	if got, want := rootOf(t, replaced), indigoRoot(t, p2); got != want {
		t.Errorf("replace root %s, indigo %s", got, want)
	}
	same, err := loaded.Insert([]byte(pairs[1].key), pairs[1].val)
	if err != nil || rootOf(t, same) != rootOf(t, loaded) {
		t.Errorf("re-inserting the same value changed the root (%v)", err)
	}
	if _, err := loaded.Delete([]byte("app.bsky.feed.post/absent")); !errors.Is(err, ErrKeyNotFound) {
		t.Errorf("Delete(absent) = %v, want ErrKeyNotFound", err)
	}
	if _, err := NewEmpty().Delete([]byte("a/b")); !errors.Is(err, ErrKeyNotFound) {
		t.Errorf("Delete on empty = %v, want ErrKeyNotFound", err)
	}
}

func TestTreeRejectsBadInput(t *testing.T) {
	tr := NewEmpty()
	if _, err := tr.Insert([]byte("no-slash"), testVal); !errors.Is(err, ErrBadKey) {
		t.Errorf("Insert bad key: %v", err)
	}
	if _, err := tr.Insert([]byte("a/b"), cid.Undef); err == nil {
		t.Errorf("Insert undefined value: no error")
	}
	if _, _, err := tr.Get([]byte("")); !errors.Is(err, ErrBadKey) {
		t.Errorf("Get empty key: %v", err)
	}
	if _, err := tr.Delete([]byte("a//b")); !errors.Is(err, ErrBadKey) {
		t.Errorf("Delete bad key: %v", err)
	}
	for name, leaves := range map[string][]Leaf{
		"unsorted":  {{[]byte("a/b"), testVal}, {[]byte("a/a"), testVal}},
		"duplicate": {{[]byte("a/b"), testVal}, {[]byte("a/b"), testVal}},
		"bad key":   {{[]byte("a/b/c"), testVal}},
	} {
		if _, err := BuildTree(leaves); err == nil {
			t.Errorf("BuildTree %s: no error", name)
		}
		b := NewBuilder(nil)
		var err error
		for _, l := range leaves {
			if err = b.Add(l.Key, l.Value); err != nil {
				break
			}
		}
		if err == nil {
			t.Errorf("Builder %s: no error", name)
		}
	}
	b := NewBuilder(nil)
	if err := b.Add([]byte("a/b"), testVal); err != nil {
		t.Fatal(err)
	}
	if err := b.Add([]byte("a/a"), testVal); !errors.Is(err, ErrUnsorted) {
		t.Errorf("Builder unsorted: %v", err)
	}
	if err := b.Add([]byte("a/b"), testVal); !errors.Is(err, ErrDuplicateKey) {
		t.Errorf("Builder duplicate: %v", err)
	}
	if _, err := b.Finish(); err != nil {
		t.Fatal(err)
	}
	if err := b.Add([]byte("a/c"), testVal); err == nil {
		t.Errorf("Add after Finish: no error")
	}
}

func TestLoadReportsBadNodesLazily(t *testing.T) {
	k1 := keysAt(1, 1)
	m := MapSource{}
	fake := dagcbor.SumCID(dagcbor.CodecDagCBOR, []byte("missing"))
	root := put(m, nodeBytes(fake, e(k1[0])))
	tr, err := Load(m, root)
	if err != nil {
		t.Fatal(err)
	}
	var p Problem
	if err := tr.Walk(func([]byte, cid.Cid) error { return nil }); !errors.Is(err, ErrMissingBlock) || !errors.As(err, &p) || p.CID != fake {
		t.Errorf("Walk over a missing subtree: %v", err)
	}
	if _, err := Load(m, fake); !errors.Is(err, ErrMissingBlock) {
		t.Errorf("Load of a missing root: %v", err)
	}
	bad := put(m, []byte{0xa1, 0x61, 'e', 0x80})
	if _, err := Load(m, bad); !errors.Is(err, ErrNotANode) {
		t.Errorf("Load of a non-node: %v", err)
	}
	low := put(m, nodeBytes(cid.Undef, e(keysAt(0, 1)[0])))
	untrimmed := put(m, nodeBytes(low))
	if _, err := Load(m, untrimmed); !errors.Is(err, ErrEmptyNode) {
		t.Errorf("Load of an untrimmed root: %v", err)
	}
}

func TestWalkIsInKeyOrder(t *testing.T) {
	rng := rand.New(rand.NewSource(11))
	pairs := randomPairs(rng, 400)
	tr := NewEmpty()
	var err error
	for _, p := range pairs {
		if tr, err = tr.Insert([]byte(p.key), p.val); err != nil {
			t.Fatal(err)
		}
	}
	got := walkAll(t, tr)
	want := append([]kv(nil), pairs...)
	sort.Slice(want, func(i, j int) bool { return want[i].key < want[j].key })
	if len(got) != len(want) {
		t.Fatalf("walked %d leaves, want %d", len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("leaf %d = %v, want %v", i, got[i], want[i])
		}
	}
}

// WalkSource sees what Load and Tree.Walk see, leaf for leaf and error for
// error: on the exhaustive mst-test-suite trees and on broken ones.
func TestWalkSourceMatchesLoadThenWalk(t *testing.T) {
	type tc struct {
		name string
		src  MapSource
		root cid.Cid
	}
	var cases []tc
	files, _ := filepath.Glob(filepath.Join(testfixtures.Path(t, "interop", "mst-test-suite", "cars", "exhaustive"), "exhaustive_00[0-9]*.car"))
	if len(files) < 10 {
		t.Fatalf("only %d exhaustive CARs", len(files))
	}
	for _, f := range files {
		root, src := readCAR(t, f)
		cases = append(cases, tc{filepath.Base(f), src, root})
	}
	k0, k1 := keysAt(0, 3), keysAt(1, 1)
	fake := dagcbor.SumCID(dagcbor.CodecDagCBOR, []byte("missing"))
	broken := map[string]func(m MapSource) cid.Cid{
		"missing subtree": func(m MapSource) cid.Cid { return put(m, nodeBytes(fake, e(k1[0]))) },
		"missing root":    func(m MapSource) cid.Cid { return fake },
		"not a node":      func(m MapSource) cid.Cid { return put(m, []byte{0xa1, 0x61, 'e', 0x80}) },
		"unsorted node":   func(m MapSource) cid.Cid { return put(m, nodeBytes(cid.Undef, e(k0[1]), e(k0[0]))) },
		"wrong layer":     func(m MapSource) cid.Cid { return put(m, nodeBytes(cid.Undef, e(k0[0]), e(k1[0]))) },
		"below layer 0": func(m MapSource) cid.Cid {
			low := put(m, nodeBytes(cid.Undef, e(k0[2])))
			return put(m, nodeBytes(cid.Undef, er(k0[0], low)))
		},
		"untrimmed root": func(m MapSource) cid.Cid {
			low := put(m, nodeBytes(cid.Undef, e(k0[0])))
			return put(m, nodeBytes(low))
		},
	}
	for name, build := range broken {
		m := MapSource{}
		cases = append(cases, tc{name, m, build(m)})
	}
	describe := func(walk func(fn func([]byte, cid.Cid) error) error) string {
		var b strings.Builder
		err := walk(func(k []byte, v cid.Cid) error {
			fmt.Fprintf(&b, "%s %s\n", k, v)
			return nil
		})
		fmt.Fprintf(&b, "error: %v", err)
		return b.String()
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			want := describe(func(fn func([]byte, cid.Cid) error) error {
				tr, err := Load(c.src, c.root)
				if err != nil {
					return err
				}
				return tr.Walk(fn)
			})
			got := describe(func(fn func([]byte, cid.Cid) error) error { return WalkSource(c.src, c.root, fn) })
			if got != want {
				t.Errorf("WalkSource:\n%s\nLoad+Walk:\n%s", got, want)
			}
		})
	}
}
