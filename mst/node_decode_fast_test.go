package mst

import (
	"bytes"
	"strings"
	"testing"

	"github.com/arbor-atproto/arbor/dagcbor"
	"github.com/ipfs/go-cid"
	"github.com/multiformats/go-multihash"
)

// generalRaw decodes b as DecodeNodeRaw did before the fast path: with the
// general reader only.
func generalRaw(b []byte) (RawNode, error) {
	var n RawNode
	err := decodeNode(b, &n)
	return n, err
}

func sameRaw(a, b RawNode) bool {
	if !bytes.Equal(a.Left, b.Left) || len(a.Entries) != len(b.Entries) {
		return false
	}
	for i, e := range a.Entries {
		f := b.Entries[i]
		if e.Prefix != f.Prefix || !bytes.Equal(e.Suffix, f.Suffix) || !bytes.Equal(e.Value, f.Value) || !bytes.Equal(e.Right, f.Right) {
			return false
		}
	}
	return true
}

func TestDecodeNodeFastReadsTheCommonForms(t *testing.T) {
	sub := dagcbor.SumCID(dagcbor.CodecDagCBOR, []byte("subtree"))
	blob := dagcbor.SumCID(dagcbor.CodecRaw, []byte("raw value"))
	long := strings.Repeat("x", 200)
	tests := []struct {
		name string
		b    []byte
	}{
		{"empty node", EncodeNode(&NodeData{})},
		{"leaf entries", nodeBytes(cid.Undef, e("a/b"), e("a/c"), e("app.bsky.feed.post/3k2a"))},
		{"left and right links", nodeBytes(sub, er("com.example/x", sub), e("com.example/y"))},
		{"suffix of 24 bytes and more (two-byte head)", nodeBytes(cid.Undef, e("c/"+long), e("c/"+long+"z"))},
		{"prefix of 24 and more", nodeBytes(cid.Undef, e("c/"+long[:30]), e("c/"+long[:30]+"q"))},
		{"raw-codec value", EncodeNode(&NodeData{Entries: []EntryData{{Suffix: []byte("k/1"), Value: blob}}})},
		{"24 entries (two-byte array head)", nodeBytes(cid.Undef, keysHent(24)...)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var n RawNode
			if !decodeNodeFast(tc.b, &n) {
				t.Fatalf("the fast path gave up on %x", tc.b)
			}
			want, err := generalRaw(tc.b)
			if err != nil {
				t.Fatalf("general decoder: %v", err)
			}
			if !sameRaw(n, want) {
				t.Fatalf("fast %+v, general %+v", n, want)
			}
		})
	}
}

func keysHent(n int) []hent {
	var hs []hent
	for i := range n {
		hs = append(hs, e("k/"+string(rune('a'+i/10))+string(rune('a'+i%10))))
	}
	return hs
}

func mustSum(t *testing.T, b []byte) multihash.Multihash {
	h, err := multihash.Sum(b, multihash.SHA2_512, -1)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestDecodeNodeFastLeavesOtherFormsToTheGeneralDecoder(t *testing.T) {
	sha512 := cid.NewCidV1(cid.DagCBOR, mustSum(t, []byte("x")))
	long := strings.Repeat("y", 300)
	good := nodeBytes(cid.Undef, e("a/b"))
	tests := []struct {
		name      string
		b         []byte
		decodable bool // by the general decoder
	}{
		{"suffix of 256 bytes or more", nodeBytes(cid.Undef, e("c/"+long)), true},
		{"prefix of 256 or more", nodeBytes(cid.Undef, e("c/"+long), e("c/"+long+"z")), true},
		{"link with another hash", EncodeNode(&NodeData{Entries: []EntryData{{Suffix: []byte("k/1"), Value: sha512}}}), true},
		{"trailing byte", append(bytes.Clone(good), 0), false},
		{"cut short", good[:len(good)-1], false},
		{"prefix beyond the previous key", nodeBytes(cid.Undef, hent{key: "a/b", p: 1}), false},
		{"non-minimal suffix head", bytes.Replace(nodeBytes(cid.Undef, e("a/b")), []byte{0x61, 'k', 0x43}, []byte{0x61, 'k', 0x58, 0x03}, 1), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var n RawNode
			if decodeNodeFast(tc.b, &n) {
				t.Fatalf("the fast path read %x", tc.b)
			}
			_, err := generalRaw(tc.b)
			if (err == nil) != tc.decodable {
				t.Fatalf("general decoder: %v, want decodable %v", err, tc.decodable)
			}
			// DecodeNodeRaw still decides as the general decoder does.
			if rerr := DecodeNodeRaw(tc.b, &n); (rerr == nil) != (err == nil) {
				t.Fatalf("DecodeNodeRaw: %v; general: %v", rerr, err)
			}
		})
	}
}

func TestDecodeNodeFastReadsEveryExhaustiveSuiteNode(t *testing.T) {
	n := 0
	for _, tc := range loadExhaustive(t) {
		for c, b := range tc.src {
			var raw RawNode
			if !decodeNodeFast(b, &raw) {
				t.Fatalf("%s: block %s: the fast path gave up", tc.name, c)
			}
			want, err := generalRaw(b)
			if err != nil || !sameRaw(raw, want) {
				t.Fatalf("%s: block %s: fast %+v, general %+v (%v)", tc.name, c, raw, want, err)
			}
			n++
		}
	}
	if n < 128 {
		t.Fatalf("only %d nodes", n)
	}
}

// FuzzDecodeNodeFastMatchesGeneral: whatever the fast path reads, the
// general decoder reads the same way.
func FuzzDecodeNodeFastMatchesGeneral(f *testing.F) {
	sub := dagcbor.SumCID(dagcbor.CodecDagCBOR, []byte("subtree"))
	f.Add(EncodeNode(&NodeData{}))
	f.Add(nodeBytes(sub, er("com.example/x", sub), e("com.example/y")))
	f.Add(nodeBytes(cid.Undef, e("c/"+strings.Repeat("x", 40)), e("c/"+strings.Repeat("x", 40)+"z")))
	f.Fuzz(func(t *testing.T, b []byte) {
		n := RawNode{Entries: make([]RawEntry, 0, 2)} // reused capacity, as DecodeNodeRaw passes it
		if !decodeNodeFast(b, &n) {
			return
		}
		want, err := generalRaw(b)
		if err != nil {
			t.Fatalf("fast path read %x, general decoder: %v", b, err)
		}
		if !sameRaw(n, want) {
			t.Fatalf("%x: fast %+v, general %+v", b, n, want)
		}
	})
}
