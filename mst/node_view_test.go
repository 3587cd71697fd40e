package mst

import (
	"bytes"
	"errors"
	"testing"

	"github.com/arbor-atproto/arbor/dagcbor"
	"github.com/ipfs/go-cid"
)

// viewTree is a tree of three layers and its blocks, for the node view's
// tests.
func viewTree(t *testing.T) (*Tree, MapSource, cid.Cid) {
	t.Helper()
	tr, err := BuildTree(leavesWith(append(keysAt(0, 60), append(keysAt(1, 12), keysAt(2, 3)...)...), testVal))
	if err != nil {
		t.Fatal(err)
	}
	return tr, blocksOf(t, tr), rootOf(t, tr)
}

// mapNodes is a NodeSource over a MapSource, with no checks.
type mapNodes struct {
	src   MapSource
	r     NodeReader
	reads int
}

func (m *mapNodes) Node(link []byte, _ int) (*Node, error) {
	m.reads++
	n, derr, err := m.r.Read(m.src, LinkCID(link))
	if err == nil {
		err = derr
	}
	return n, err
}

func TestNodeReaderRebuildsTheKeysTheTreeHolds(t *testing.T) {
	tr, src, _ := viewTree(t)
	var got [][]byte
	var r NodeReader
	for c, b := range src {
		n, err := r.Decode(c, b)
		if err != nil {
			t.Fatalf("%s: %v", c, err)
		}
		for i, e := range n.Entries {
			if i > 0 && bytes.Compare(n.Entries[i-1].Key, e.Key) >= 0 {
				t.Fatalf("%s: keys out of order", c)
			}
			if Height(e.Key) != n.Layer {
				t.Fatalf("%s: key %s not on layer %d", c, e.Key, n.Layer)
			}
			got = append(got, e.Key)
		}
	}
	want := walkAll(t, tr)
	if len(got) != len(want) {
		t.Fatalf("%d keys in the nodes, %d in the tree", len(got), len(want))
	}
	// Every key decoded earlier is still intact: the reader never rewrites.
	seen := map[string]bool{}
	for _, k := range got {
		seen[string(k)] = true
	}
	for _, kv := range want {
		if !seen[kv.key] {
			t.Errorf("key %s of the tree not found in its nodes", kv.key)
		}
	}
}

func TestNodeReaderRefusesKeysLongerThanAnyValidKey(t *testing.T) {
	long := bytes.Repeat([]byte("a"), MaxKeyLen+1)
	b := EncodeNode(&NodeData{Entries: []EntryData{{Suffix: long, Value: testVal}, {Prefix: len(long), Value: testVal}}})
	var r NodeReader
	if _, err := r.Decode(testVal, b); !errors.Is(err, ErrBadKey) {
		t.Fatalf("error %v, want ErrBadKey", err)
	}
}

func TestSearchPathEndsWhereTheKeyIsOrWouldBe(t *testing.T) {
	tr, src, root := viewTree(t)
	keys := walkAll(t, tr)
	absent := [][]byte{[]byte("a/0"), []byte("zzzz/9"), append([]byte(keys[10].key), '0')}
	for _, mode := range []PathMode{PathToLayer, PathBelowLayer, PathToGap} {
		for _, kv := range keys {
			path, found, err := SearchPath(&mapNodes{src: src}, root, []byte(kv.key), mode)
			if err != nil || !found {
				t.Fatalf("mode %d: %s: found %v, %v", mode, kv.key, found, err)
			}
			last := path[len(path)-1]
			i, ok := last.Search([]byte(kv.key))
			if !ok || last.Entries[i].ValueCID() != testVal {
				t.Fatalf("mode %d: %s: the path's last node does not hold it", mode, kv.key)
			}
		}
		for _, k := range absent {
			path, found, err := SearchPath(&mapNodes{src: src}, root, k, mode)
			if err != nil || found || len(path) == 0 {
				t.Fatalf("mode %d: absent %s: found %v, %d nodes, %v", mode, k, found, len(path), err)
			}
			last := path[len(path)-1]
			i, _ := last.Search(k)
			if mode == PathToGap && last.Gap(i) != nil {
				t.Errorf("PathToGap: absent %s: path ends above a non-empty gap", k)
			}
			if mode == PathBelowLayer && last.Gap(i) != nil && Height(k) <= last.Layer {
				t.Errorf("PathBelowLayer: absent %s: path ends above a gap it could be in", k)
			}
			if mode == PathToLayer && last.Gap(i) != nil && Height(k) < last.Layer {
				t.Errorf("PathToLayer: absent %s: path ends above the key's layer", k)
			}
		}
	}
}

func TestProveGivesThePathBlocksAndTheValue(t *testing.T) {
	tr, src, root := viewTree(t)
	key := []byte(walkAll(t, tr)[7].key)
	p, err := Prove(src, root, key, PathToGap)
	if err != nil {
		t.Fatal(err)
	}
	if !p.Found || p.Value != testVal || p.Nodes[0].CID != root {
		t.Fatalf("proof %+v", p)
	}
	for _, b := range p.Nodes {
		if !bytes.Equal(src[b.CID], b.Data) {
			t.Errorf("block %s is not the tree's", b.CID)
		}
	}
	// The proof alone is enough to look the key up.
	only := MapSource{}
	for _, b := range p.Nodes {
		only[b.CID] = b.Data
	}
	got, found, err := mustLoad(t, only, root).Get(key)
	if err != nil || !found || got != testVal {
		t.Fatalf("lookup in the proof alone: %v %v %v", got, found, err)
	}
	if _, err := Prove(MapSource{}, root, key, PathToGap); !errors.Is(err, ErrMissingBlock) {
		t.Errorf("no blocks: error %v, want ErrMissingBlock", err)
	}
}

func mustLoad(t *testing.T, src BlockSource, root cid.Cid) *Tree {
	t.Helper()
	tr, err := Load(src, root)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func TestSearchPathRefusesPathsDeeperThanAnyTree(t *testing.T) {
	src := MapSource{}
	leaf := EncodeNode(&NodeData{Entries: Entries([]string{"a/b"}, []cid.Cid{testVal}, nil)})
	c := sumNode(src, leaf)
	for range MaxDepth {
		c = sumNode(src, EncodeNode(&NodeData{Left: c}))
	}
	_, _, err := SearchPath(&mapNodes{src: src}, c, []byte("a/a"), PathToGap)
	var p Problem
	if !errors.As(err, &p) || !errors.Is(err, ErrWrongLayer) {
		t.Fatalf("error %v, want a Problem wrapping ErrWrongLayer", err)
	}
}

func sumNode(src MapSource, b []byte) cid.Cid {
	c := dagcbor.SumCID(dagcbor.CodecDagCBOR, b)
	src[c] = b
	return c
}

func TestNeighboursAreTheKeysAroundAKey(t *testing.T) {
	tr, src, root := viewTree(t)
	keys := walkAll(t, tr)
	for i, kv := range keys {
		pred, succ, err := Neighbours(&mapNodes{src: src}, root, []byte(kv.key))
		if err != nil {
			t.Fatal(err)
		}
		want := func(j int) string {
			if j < 0 || j >= len(keys) {
				return ""
			}
			return keys[j].key
		}
		if string(pred) != want(i-1) || string(succ) != want(i+1) {
			t.Errorf("%s: neighbours %q %q, want %q %q", kv.key, pred, succ, want(i-1), want(i+1))
		}
	}
}

func TestCompactFormRoundTrips(t *testing.T) {
	_, src, _ := viewTree(t)
	for c, b := range src {
		var n RawNode
		if err := DecodeNodeRaw(b, &n); err != nil {
			t.Fatal(err)
		}
		// The table: links by number.
		var table [][]byte
		cb := AppendCompact(nil, &n, func(l []byte) uint64 {
			table = append(table, bytes.Clone(l))
			return uint64(len(table))
		})
		var back RawNode
		values := 0
		DecodeCompact(cb, &back, nil, func(buf []byte, ref uint64, value bool) []byte {
			if value {
				values++
			}
			return append(buf, table[ref-1]...)
		})
		if got := EncodeNodeRaw(nil, &back); !bytes.Equal(got, b) {
			t.Fatalf("%s: compact form does not round-trip", c)
		}
		if values != len(n.Entries) {
			t.Errorf("%s: %d values reported, want %d", c, values, len(n.Entries))
		}
		var r NodeReader
		view, _ := r.Decode(c, b)
		i := 0
		left, _ := WalkCompact(cb, nil, func(key []byte, val, right uint64) {
			e := view.Entries[i]
			if !bytes.Equal(key, e.Key) || !bytes.Equal(table[val-1], e.Value) || (right == 0) != (e.Right == nil) {
				t.Errorf("%s: entry %d: %s, want %s", c, i, key, e.Key)
			}
			i++
		})
		if (left == 0) != (view.Left == nil) || i != len(view.Entries) {
			t.Errorf("%s: WalkCompact saw %d entries, left %d", c, i, left)
		}
	}
}
