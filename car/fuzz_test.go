package car

import (
	"bytes"
	"errors"
	"io"
	"os"
	"testing"

	"github.com/arbor-atproto/arbor/dagcbor"
	gocar "github.com/ipld/go-car/v2"

	"github.com/arbor-atproto/arbor/internal/testfixtures"
)

// FuzzReader feeds arbitrary bytes to the Reader. It must never panic,
// every error must be a *HeaderError or *BlockError, every block returned
// must hash to its CID, and a file we read without error must read the same
// with go-car (we are at least as strict).
func FuzzReader(f *testing.F) {
	for _, tc := range corpusCARs {
		if b, err := os.ReadFile(testfixtures.Join(f, tc.path...)); err == nil && len(b) < 4<<10 {
			f.Add(b)
		}
	}
	a := []byte{0xa0}
	f.Add(cat(emptyHeader, section(sha256CID(0x71, a), a), section(sha256CID(0x55, a), a)))
	f.Add(cat(emptyHeader, section(sha256CID(0x71, a), []byte{0xa1})))
	f.Add(cat(emptyHeader, bytes.Repeat([]byte{0xff}, 11)))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, in []byte) {
		r, err := NewReader(bytes.NewReader(in), WithMaxBlockSize(1<<16))
		if err != nil {
			var he *HeaderError
			if !errors.As(err, &he) || he.Offset < 0 || he.Offset > int64(len(in)) {
				t.Fatalf("header error %T %v", err, err)
			}
			_ = err.Error()
			return
		}
		var got []Block
		clean := true
		last := int64(-1)
		for {
			b, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				var be *BlockError
				if !errors.As(err, &be) || be.Offset < 0 || be.Offset > int64(len(in)) {
					t.Fatalf("block error %T %v", err, err)
				}
				_ = err.Error()
				clean = false
				if errors.Is(err, ErrHashMismatch) || errors.Is(err, ErrUnsupportedCID) {
					continue
				}
				break
			}
			if b.Offset <= last || b.Offset >= int64(len(in)) {
				t.Fatalf("block offset %d after %d", b.Offset, last)
			}
			last = b.Offset
			if want := dagcbor.SumCID(b.CID.Prefix().Codec, b.Data); !want.Equals(b.CID) {
				t.Fatalf("block %s has bytes hashing to %s", b.CID, want)
			}
			got = append(got, b)
		}
		if r.BytesRead() > int64(len(in)) {
			t.Fatalf("BytesRead %d > input %d", r.BytesRead(), len(in))
		}
		if !clean {
			return
		}
		if r.BytesRead() != int64(len(in)) {
			t.Fatalf("clean end at %d of %d bytes", r.BytesRead(), len(in))
		}
		br, err := gocar.NewBlockReader(bytes.NewReader(in))
		if err != nil {
			t.Fatalf("we read it, go-car rejects the header: %v", err)
		}
		for i := 0; ; i++ {
			b, err := br.Next()
			if err == io.EOF {
				if i != len(got) {
					t.Fatalf("go-car reads %d blocks, we read %d", i, len(got))
				}
				return
			}
			if err != nil {
				t.Fatalf("we read it, go-car fails at block %d: %v", i, err)
			}
			if i >= len(got) || !b.Cid().Equals(got[i].CID) || !bytes.Equal(b.RawData(), got[i].Data) {
				t.Fatalf("go-car block %d differs", i)
			}
		}
	})
}
