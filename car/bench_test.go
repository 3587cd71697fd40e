package car

import (
	"bytes"
	"fmt"
	"io"
	"testing"

	"github.com/arbor-atproto/arbor/dagcbor"
	"github.com/ipfs/go-cid"
	gocar "github.com/ipld/go-car/v2"
)

// syntheticCAR builds a CAR of about size bytes of small DAG-CBOR records
// (100 to 400 bytes, like atproto posts and MST nodes).
func syntheticCAR(b *testing.B, size int) (data []byte, blocks int) {
	b.Helper()
	var buf bytes.Buffer
	buf.Grow(size + size/8)
	rec := dagcbor.NewWriter(nil)
	var w *Writer
	for i := 0; buf.Len() < size; i++ {
		rec.Reset()
		rec.WriteMapHeader(3)
		rec.WriteString("text")
		rec.WriteString(fmt.Sprintf("%0*d", 80+(i*7919)%300, i))
		rec.WriteString("$type")
		rec.WriteString("app.bsky.feed.post")
		rec.WriteString("createdAt")
		rec.WriteString("2025-03-10T00:54:05.000Z")
		c := dagcbor.SumCID(dagcbor.CodecDagCBOR, rec.Bytes())
		if w == nil {
			var err error
			if w, err = NewWriter(&buf, []cid.Cid{c}); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Put(c, rec.Bytes()); err != nil {
			b.Fatal(err)
		}
		blocks++
		if i%1024 == 0 {
			if err := w.Flush(); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes(), blocks
}

const benchCARSize = 50 << 20

// benchmarkBlocks reads the synthetic CAR to its end with the reader open
// makes (next returns io.EOF at the end), checking the block count.
func benchmarkBlocks(b *testing.B, open func(io.Reader) (next func() error, err error)) {
	data, want := syntheticCAR(b, benchCARSize)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		next, err := open(bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for {
			err := next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n != want {
			b.Fatalf("read %d blocks, want %d", n, want)
		}
	}
	b.ReportMetric(float64(want), "blocks/op")
}

func benchmarkOurReader(b *testing.B, opts ...Option) {
	benchmarkBlocks(b, func(in io.Reader) (func() error, error) {
		r, err := NewReader(in, opts...)
		if err != nil {
			return nil, err
		}
		return func() error { _, err := r.Next(); return err }, nil
	})
}

func BenchmarkReader(b *testing.B)            { benchmarkOurReader(b) }
func BenchmarkReaderReuseBuffer(b *testing.B) { benchmarkOurReader(b, WithReuseBuffer()) }

func BenchmarkGoCarBlockReader(b *testing.B) {
	benchmarkBlocks(b, func(in io.Reader) (func() error, error) {
		br, err := gocar.NewBlockReader(in)
		if err != nil {
			return nil, err
		}
		return func() error { _, err := br.Next(); return err }, nil
	})
}

func BenchmarkWriter(b *testing.B) {
	data, want := syntheticCAR(b, benchCARSize)
	r, err := NewReader(bytes.NewReader(data))
	if err != nil {
		b.Fatal(err)
	}
	blocks := readBlocks(b, r)
	if len(blocks) != want {
		b.Fatalf("read %d blocks, want %d", len(blocks), want)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		w, err := NewWriter(io.Discard, r.Roots())
		if err != nil {
			b.Fatal(err)
		}
		for _, blk := range blocks {
			if err := w.Put(blk.CID, blk.Data); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Flush(); err != nil {
			b.Fatal(err)
		}
	}
}
