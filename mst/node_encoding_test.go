package mst

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/arbor-atproto/arbor/dagcbor"
	"github.com/ipfs/go-cid"
)

func TestDecodeNodeRoundTripsTreeNodes(t *testing.T) {
	tr, err := BuildTree(leavesWith(keysAt(0, 40), testVal))
	if err != nil {
		t.Fatal(err)
	}
	k1 := keysAt(1, 30)
	for _, k := range k1 {
		if tr, err = tr.Insert([]byte(k), testVal); err != nil {
			t.Fatal(err)
		}
	}
	n := 0
	for c, b := range blocksOf(t, tr) {
		nd, err := DecodeNode(b)
		if err != nil {
			t.Fatalf("%s: %v", c, err)
		}
		if !bytes.Equal(EncodeNode(nd), b) {
			t.Errorf("%s: re-encoding differs", c)
		}
		n++
	}
	if n < 2 {
		t.Fatalf("only %d blocks", n)
	}
}

func TestDecodeNodeRejects(t *testing.T) {
	link := dagcbor.SumCID(dagcbor.CodecDagCBOR, []byte("x"))
	w := func(f func(w *dagcbor.Writer)) []byte {
		wr := dagcbor.NewWriter(nil)
		f(wr)
		return wr.Bytes()
	}
	entry := func(w *dagcbor.Writer, k string, p uint64) {
		w.WriteMapHeader(4)
		w.WriteString("k")
		w.WriteBytes([]byte(k))
		w.WriteString("p")
		w.WriteUint(p)
		w.WriteString("t")
		w.WriteNull()
		w.WriteString("v")
		w.WriteLink(link)
	}
	tests := []struct {
		name string
		b    []byte
		also error
	}{
		{"empty input", nil, dagcbor.ErrTruncated},
		{"not a map", w(func(w *dagcbor.Writer) { w.WriteArrayHeader(0) }), dagcbor.ErrType},
		{"missing l", w(func(w *dagcbor.Writer) { w.WriteMapHeader(1); w.WriteString("e"); w.WriteArrayHeader(0) }), nil},
		{"extra field", w(func(w *dagcbor.Writer) {
			w.WriteMapHeader(3)
			w.WriteString("e")
			w.WriteArrayHeader(0)
			w.WriteString("l")
			w.WriteNull()
			w.WriteString("x")
			w.WriteNull()
		}), nil},
		{"fields out of order", w(func(w *dagcbor.Writer) {
			w.WriteMapHeader(2)
			w.WriteString("l")
			w.WriteNull()
			w.WriteString("e")
			w.WriteArrayHeader(0)
		}), nil},
		{"unknown field instead of l", w(func(w *dagcbor.Writer) {
			w.WriteMapHeader(2)
			w.WriteString("e")
			w.WriteArrayHeader(0)
			w.WriteString("m")
			w.WriteNull()
		}), nil},
		{"l is not a link", w(func(w *dagcbor.Writer) {
			w.WriteMapHeader(2)
			w.WriteString("e")
			w.WriteArrayHeader(0)
			w.WriteString("l")
			w.WriteUint(1)
		}), dagcbor.ErrType},
		{"entry missing t", w(func(w *dagcbor.Writer) {
			w.WriteMapHeader(2)
			w.WriteString("e")
			w.WriteArrayHeader(1)
			w.WriteMapHeader(3)
			w.WriteString("k")
			w.WriteBytes([]byte("a/b"))
			w.WriteString("p")
			w.WriteUint(0)
			w.WriteString("v")
			w.WriteLink(link)
			w.WriteString("l")
			w.WriteNull()
		}), nil},
		{"k as text", w(func(w *dagcbor.Writer) {
			w.WriteMapHeader(2)
			w.WriteString("e")
			w.WriteArrayHeader(1)
			w.WriteMapHeader(4)
			w.WriteString("k")
			w.WriteString("a/b")
			w.WriteString("p")
			w.WriteUint(0)
			w.WriteString("t")
			w.WriteNull()
			w.WriteString("v")
			w.WriteLink(link)
			w.WriteString("l")
			w.WriteNull()
		}), dagcbor.ErrType},
		{"first prefix not 0", w(func(w *dagcbor.Writer) {
			w.WriteMapHeader(2)
			w.WriteString("e")
			w.WriteArrayHeader(1)
			entry(w, "a/b", 1)
			w.WriteString("l")
			w.WriteNull()
		}), nil},
		{"prefix longer than previous key", w(func(w *dagcbor.Writer) {
			w.WriteMapHeader(2)
			w.WriteString("e")
			w.WriteArrayHeader(2)
			entry(w, "a/b", 0)
			entry(w, "c", 4)
			w.WriteString("l")
			w.WriteNull()
		}), nil},
		{"v null", w(func(w *dagcbor.Writer) {
			w.WriteMapHeader(2)
			w.WriteString("e")
			w.WriteArrayHeader(1)
			w.WriteMapHeader(4)
			w.WriteString("k")
			w.WriteBytes([]byte("a/b"))
			w.WriteString("p")
			w.WriteUint(0)
			w.WriteString("t")
			w.WriteNull()
			w.WriteString("v")
			w.WriteNull()
			w.WriteString("l")
			w.WriteNull()
		}), dagcbor.ErrType},
		{"trailing bytes", append(EncodeNode(&NodeData{}), 0x00), dagcbor.ErrTrailing},
		{"array count beyond input", []byte{0xa2, 0x61, 'e', 0x9a, 0xff, 0xff, 0xff, 0xff}, dagcbor.ErrTruncated},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeNode(tc.b)
			if !errors.Is(err, ErrNotANode) {
				t.Fatalf("DecodeNode(%s) = %v, want ErrNotANode", hex.EncodeToString(tc.b), err)
			}
			if tc.also != nil && !errors.Is(err, tc.also) {
				t.Errorf("error %v does not wrap %v", err, tc.also)
			}
		})
	}
}

func TestEmptyNodeEncoding(t *testing.T) {
	// {e: [], l: null}: the empty repo's MST root, from the spec.
	want := []byte{0xa2, 0x61, 'e', 0x80, 0x61, 'l', 0xf6}
	if got := EncodeNode(&NodeData{}); !bytes.Equal(got, want) {
		t.Errorf("EncodeNode(empty) = %x, want %x", got, want)
	}
	nd, err := DecodeNode(want)
	if err != nil || len(nd.Entries) != 0 || nd.Left != cid.Undef {
		t.Errorf("DecodeNode(empty) = %+v, %v", nd, err)
	}
}

func FuzzDecodeNode(f *testing.F) {
	f.Add(EncodeNode(&NodeData{}))
	f.Add(nodeBytes(cid.Undef, e("a/b"), e("a/c"), hent{key: "a/d", p: 0}))
	f.Add(nodeBytes(testVal, er("com.example/x", testVal)))
	f.Add([]byte{0xa2, 0x61, 'e', 0x9a, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		nd, err := DecodeNode(b)
		// The raw decoder makes the same decision with the same error,
		// and the same links as bytes.
		raw := RawNode{Entries: make([]RawEntry, 3)} // reused capacity, stale contents
		rerr := DecodeNodeRaw(b, &raw)
		if (rerr == nil) != (err == nil) || (err != nil && rerr.Error() != err.Error()) {
			t.Fatalf("DecodeNodeRaw: %v; DecodeNode: %v", rerr, err)
		}
		if err == nil {
			if got := EncodeNodeRaw(nil, &raw); !bytes.Equal(got, b) {
				t.Fatalf("raw round trip: %x → %x", b, got)
			}
			if !bytes.Equal(raw.Left, nd.Left.Bytes()) || len(raw.Entries) != len(nd.Entries) {
				t.Fatalf("raw node %+v differs from %+v", raw, nd)
			}
			for i, e := range nd.Entries {
				r := raw.Entries[i]
				if r.Prefix != e.Prefix || !bytes.Equal(r.Suffix, e.Suffix) || !bytes.Equal(r.Value, e.Value.Bytes()) || !bytes.Equal(r.Right, e.Right.Bytes()) {
					t.Fatalf("entry %d: raw %+v, decoded %+v", i, r, e)
				}
			}
		}
		if err != nil {
			if !errors.Is(err, ErrNotANode) {
				t.Fatalf("error %v does not wrap ErrNotANode", err)
			}
			return
		}
		if got := EncodeNode(nd); !bytes.Equal(got, b) {
			t.Fatalf("round trip: %x → %x", b, got)
		}
		// A decodable node must not crash Verify or Load either.
		m := MapSource{}
		c := put(m, b)
		if _, err := Verify(m, c, nil); err != nil {
			t.Fatalf("Verify: %v", err)
		}
		if tr, err := Load(m, c); err == nil {
			_ = tr.Walk(func([]byte, cid.Cid) error { return nil })
			_, _ = tr.Insert([]byte("a/b"), testVal)
			_, _ = tr.Delete([]byte("a/b"))
		}
	})
}
