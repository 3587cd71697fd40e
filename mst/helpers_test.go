package mst

import (
	"bytes"
	"errors"
	"io"
	"os"
	"sort"
	"testing"

	"github.com/arbor-atproto/arbor/dagcbor"
	"github.com/ipfs/go-cid"
	car "github.com/ipld/go-car/v2"
)

// readCAR loads a CAR with go-car (independent of our car package).
func readCAR(t testing.TB, path string) (cid.Cid, MapSource) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	br, err := car.NewBlockReader(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(br.Roots) == 0 {
		t.Fatalf("%s: no roots", path)
	}
	src := MapSource{}
	for {
		blk, err := br.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		src[blk.Cid()] = blk.RawData()
	}
	return br.Roots[0], src
}

type kv struct {
	key string
	val cid.Cid
}

func walkAll(t testing.TB, tr *Tree) []kv {
	t.Helper()
	var out []kv
	if err := tr.Walk(func(k []byte, v cid.Cid) error {
		out = append(out, kv{string(k), v})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func rootOf(t testing.TB, tr *Tree) cid.Cid {
	t.Helper()
	c, err := tr.RootCID()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func blocksOf(t testing.TB, tr *Tree) MapSource {
	t.Helper()
	m := MapSource{}
	if err := tr.WriteBlocks(func(c cid.Cid, data []byte) error {
		if got := dagcbor.SumCID(dagcbor.CodecDagCBOR, data); got != c {
			t.Fatalf("WriteBlocks: CID %s for bytes hashing to %s", c, got)
		}
		m[c] = data
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return m
}

func leavesOf(pairs []kv) []Leaf {
	s := append([]kv(nil), pairs...)
	sort.Slice(s, func(i, j int) bool { return s[i].key < s[j].key })
	out := make([]Leaf, len(s))
	for i, p := range s {
		out[i] = Leaf{Key: []byte(p.key), Value: p.val}
	}
	return out
}

func builderRoot(t testing.TB, leaves []Leaf) (cid.Cid, MapSource) {
	t.Helper()
	m := MapSource{}
	b := NewBuilder(func(c cid.Cid, data []byte) error {
		if got := dagcbor.SumCID(dagcbor.CodecDagCBOR, data); got != c {
			t.Fatalf("Builder: CID %s for bytes hashing to %s", c, got)
		}
		m[c] = data
		return nil
	})
	for _, l := range leaves {
		if err := b.Add(l.Key, l.Value); err != nil {
			t.Fatal(err)
		}
	}
	c, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	return c, m
}

func verifyClean(t testing.TB, src BlockSource, root cid.Cid) []kv {
	t.Helper()
	var got []kv
	probs, err := Verify(src, root, func(k []byte, v cid.Cid) error {
		got = append(got, kv{string(k), v})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range probs {
		t.Errorf("unexpected problem: %v", p)
	}
	return got
}

func sameBlocks(a, b MapSource) bool {
	if len(a) != len(b) {
		return false
	}
	for c, d := range a {
		if e, ok := b[c]; !ok || !bytes.Equal(d, e) {
			return false
		}
	}
	return true
}
