package archive

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/ipfs/go-cid"

	"github.com/arbor-atproto/arbor/car"
	"github.com/arbor-atproto/arbor/dagcbor"
)

// pipelineCAR is a CAR of n record blocks, large enough to span many of
// the read's batches, whose blocks at the indexes in bad carry bytes other
// than their CID's; truncate cuts the last section short.
func pipelineCAR(t *testing.T, n int, bad map[int]bool, truncate bool) []byte {
	t.Helper()
	var buf bytes.Buffer
	root := dagcbor.SumCID(dagcbor.CodecDagCBOR, []byte("not in the file"))
	w, err := car.NewWriter(&buf, []cid.Cid{root})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		rec := genRecord(t, i)
		c := dagcbor.SumCID(dagcbor.CodecDagCBOR, rec)
		if bad[i] {
			rec = genRecord(t, i+n) // same length, other bytes
		}
		if err := w.Put(c, rec); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	out := buf.Bytes()
	if truncate {
		out = out[:len(out)-3]
	}
	return out
}

// sequentialErrors reads b with car.Reader, which checks every block in
// file order on one goroutine: the verdicts the read's pipeline must give.
func sequentialErrors(t *testing.T, b []byte) (bad []*car.BlockError, final error) {
	t.Helper()
	cr, err := car.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	for {
		_, err := cr.Next()
		var be *car.BlockError
		switch {
		case err == nil:
		case errors.Is(err, car.ErrHashMismatch) && errors.As(err, &be):
			bad = append(bad, be)
		default:
			if err == io.EOF {
				err = nil
			}
			return bad, err
		}
	}
}

// The read hashes blocks on several goroutines and indexes them on one:
// its verdicts must be those of one goroutine reading in file order, the
// first bad block ending the read (before a later framing error), or every
// bad block listed in file order under CollectBadBlocks.
func TestReadChecksBlocksInFileOrderAcrossBatches(t *testing.T) {
	const n = 30000 // about four batches of 8192 blocks
	tests := []struct {
		name     string
		n        int
		bad      map[int]bool
		truncate bool
	}{
		{"one bad block, file cut short later", n, map[int]bool{12345: true}, true},
		{"bad blocks in several batches", n, map[int]bool{3: true, 8191: true, 8192: true, 20000: true, n - 1: true}, false},
		{"bad first block, file cut short", n, map[int]bool{0: true}, true},
		{"no bad block, file cut short", n, nil, true},
		// Small enough, read from a file, to be checked by the indexer.
		{"small file, bad blocks", 2000, map[int]bool{5: true, 1999: true}, false},
		{"small file, bad block, cut short", 2000, map[int]bool{700: true}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := tc.n
			b := pipelineCAR(t, n, tc.bad, tc.truncate)
			open := func() io.Reader { return bytes.NewReader(b) }
			if n < 8192 {
				path := filepath.Join(t.TempDir(), "small.car")
				if err := os.WriteFile(path, b, 0o600); err != nil {
					t.Fatal(err)
				}
				if len(b) >= inlineBelow {
					t.Fatalf("a %d-byte file is not checked inline", len(b))
				}
				open = func() io.Reader {
					f, err := os.Open(path)
					if err != nil {
						t.Fatal(err)
					}
					t.Cleanup(func() { f.Close() })
					return f
				}
			}
			seqBad, seqFinal := sequentialErrors(t, b)
			if len(seqBad) != len(tc.bad) {
				t.Fatalf("car.Reader found %d bad blocks, the test made %d", len(seqBad), len(tc.bad))
			}

			_, err := Read(open(), Options{})
			var want error = seqFinal
			if len(seqBad) > 0 {
				want = seqBad[0]
			}
			if fmt.Sprint(err) != fmt.Sprint(want) {
				t.Errorf("Read: %v, want %v", err, want)
			}

			a, err := Read(open(), Options{CollectBadBlocks: true})
			if fmt.Sprint(err) != fmt.Sprint(seqFinal) {
				t.Fatalf("Read collecting bad blocks: %v, want %v", err, seqFinal)
			}
			if err != nil {
				return
			}
			if len(a.Problems) != len(seqBad) || a.BlockCount != n {
				t.Fatalf("%d problems, %d blocks; want %d and %d", len(a.Problems), a.BlockCount, len(seqBad), n)
			}
			for i, p := range a.Problems {
				if p.Offset != seqBad[i].Offset || p.CID != seqBad[i].CID || !errors.Is(p.Err, car.ErrHashMismatch) {
					t.Errorf("problem %d: %v at %d, want %s at %d", i, p, p.Offset, seqBad[i].CID, seqBad[i].Offset)
				}
			}
		})
	}
}
