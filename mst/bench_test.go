package mst

import (
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/arbor-atproto/arbor/dagcbor"
	"github.com/ipfs/go-cid"
)

// benchLeaves makes n sorted TID-like keys in one collection.
func benchLeaves(n int) []Leaf {
	out := make([]Leaf, n)
	var d [8]byte
	for i := range out {
		binary.BigEndian.PutUint64(d[:], uint64(i))
		out[i] = Leaf{
			Key:   []byte(fmt.Sprintf("app.bsky.feed.post/3l%011d", i)),
			Value: dagcbor.SumCID(dagcbor.CodecDagCBOR, d[:]),
		}
	}
	return out
}

// nodeBlocks returns the encoded nodes of a 2,000-key tree and sets the
// benchmark's bytes per operation to their average size.
func nodeBlocks(b *testing.B) [][]byte {
	tr, err := BuildTree(benchLeaves(2000))
	if err != nil {
		b.Fatal(err)
	}
	var blocks [][]byte
	size := 0
	if err := tr.WriteBlocks(func(c cid.Cid, data []byte) error {
		blocks = append(blocks, data)
		size += len(data)
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(size / len(blocks)))
	b.ReportAllocs()
	return blocks
}

func BenchmarkDecodeNode(b *testing.B) {
	blocks := nodeBlocks(b)
	for i := 0; b.Loop(); i++ {
		if _, err := DecodeNode(blocks[i%len(blocks)]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeNodeRaw(b *testing.B) {
	blocks := nodeBlocks(b)
	var n RawNode
	for i := 0; b.Loop(); i++ {
		if err := DecodeNodeRaw(blocks[i%len(blocks)], &n); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBuilder1M(b *testing.B) {
	leaves := benchLeaves(1_000_000)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		bl := NewBuilder(func(cid.Cid, []byte) error { return nil })
		for _, l := range leaves {
			if err := bl.Add(l.Key, l.Value); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := bl.Finish(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e6, "ns/key")
}

func BenchmarkBuildTree1M(b *testing.B) {
	leaves := benchLeaves(1_000_000)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		tr, err := BuildTree(leaves)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := tr.RootCID(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e6, "ns/key")
}

func BenchmarkVerify100k(b *testing.B) {
	tr, err := BuildTree(benchLeaves(100_000))
	if err != nil {
		b.Fatal(err)
	}
	m := MapSource{}
	if err := tr.WriteBlocks(func(c cid.Cid, data []byte) error { m[c] = data; return nil }); err != nil {
		b.Fatal(err)
	}
	root, _ := tr.RootCID()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		probs, err := Verify(m, root, nil)
		if err != nil || len(probs) != 0 {
			b.Fatal(err, probs)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e5, "ns/key")
}

func BenchmarkInsert100k(b *testing.B) {
	leaves := benchLeaves(100_000)
	tr, err := BuildTree(leaves)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := tr.RootCID(); err != nil {
		b.Fatal(err)
	}
	keys := make([][]byte, 4096)
	for i := range keys {
		keys[i] = []byte(fmt.Sprintf("app.bsky.feed.like/3m%011d", i*7919))
	}
	b.Run("insert", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := tr.Insert(keys[i%len(keys)], testVal); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("insert+RootCID", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			t2, err := tr.Insert(keys[i%len(keys)], testVal)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := t2.RootCID(); err != nil {
				b.Fatal(err)
			}
		}
	})
}
