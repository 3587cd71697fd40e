package car

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/arbor-atproto/arbor/dagcbor"
	"github.com/arbor-atproto/arbor/internal/testfixtures"
	"github.com/ipfs/go-cid"
)

func TestWriterZeroRootsHeaderMatchesCodecFixturesCAR(t *testing.T) {
	// fixtures.car (zero roots, written by go-car) opens with the header.
	want := testfixtures.Read(t, "interop", "dag-cbor", "fixtures.car")[:len(emptyHeader)]
	var buf bytes.Buffer
	w, err := NewWriter(&buf, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), want) || !bytes.Equal(want, emptyHeader) {
		t.Fatalf("wrote %x, fixtures.car starts %x", buf.Bytes(), want)
	}
}

func TestWriterRejectsCIDsTheReaderWouldReject(t *testing.T) {
	data := []byte{0xa0}
	blake3 := mustCast(t, cat([]byte{0x01, 0x71, 0x1e, 0x20}, bytes.Repeat([]byte{7}, 32)))
	d := sha256CID(0x71, data)
	v0 := mustCast(t, d[2:])
	dagpb := mustCast(t, sha256CID(0x70, data))
	tests := []struct {
		name string
		c    cid.Cid
	}{
		{"undefined", cid.Undef},
		{"CIDv0", v0},
		{"blake3", blake3},
		{"dag-pb codec", dagpb},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			w, err := NewWriter(&buf, nil)
			if err != nil {
				t.Fatal(err)
			}
			err = w.Put(tc.c, data)
			var be *BlockError
			if !errors.Is(err, ErrUnsupportedCID) || !errors.As(err, &be) || be.Offset != int64(len(emptyHeader)) {
				t.Fatalf("got %v, want ErrUnsupportedCID at byte %d", err, len(emptyHeader))
			}
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(buf.Bytes(), emptyHeader) {
				t.Errorf("rejected block was written: %x", buf.Bytes())
			}
		})
	}
}

func TestNewWriterRejectsBadRoots(t *testing.T) {
	d := sha256CID(0x71, nil)
	tests := []struct {
		name  string
		roots []cid.Cid
		want  error
	}{
		{"undefined root", []cid.Cid{cid.Undef}, ErrRootUndefined},
		{"CIDv0 root", []cid.Cid{mustCast(t, d[2:])}, ErrUnsupportedCID},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := NewWriter(io.Discard, tc.roots); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

type failWriter struct{ err error }

func (f failWriter) Write([]byte) (int, error) { return 0, f.err }

func TestWriterErrorsAreStickyAndWrapTheCause(t *testing.T) {
	boom := errors.New("disk full")
	w, err := NewWriter(failWriter{boom}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); !errors.Is(err, boom) {
		t.Fatalf("Flush: got %v, want %v", err, boom)
	}
	data := []byte{0xa0}
	if err := w.Put(dagcbor.SumCID(dagcbor.CodecDagCBOR, data), data); !errors.Is(err, boom) {
		t.Fatalf("Put after failure: got %v", err)
	}
}

func TestWriterRoundTripsThroughReader(t *testing.T) {
	type blk struct {
		codec uint64
		data  []byte
	}
	var in []blk
	for i := range 300 {
		codec := uint64(dagcbor.CodecDagCBOR)
		if i%3 == 0 {
			codec = dagcbor.CodecRaw
		}
		// sizes straddle the writer's and reader's 64 KiB buffers
		in = append(in, blk{codec, bytes.Repeat([]byte{byte(i)}, (i*i*37)%200000)})
	}
	root := dagcbor.SumCID(dagcbor.CodecDagCBOR, in[0].data)
	var buf bytes.Buffer
	w, err := NewWriter(&buf, []cid.Cid{root, root})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range in {
		if err := w.Put(dagcbor.SumCID(b.codec, b.data), b.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	// Cross-check with go-car, then with our reader.
	_, gc := readWithGoCar(t, buf.Bytes())
	if len(gc) != len(in) {
		t.Fatalf("go-car reads %d blocks, wrote %d", len(gc), len(in))
	}
	if ok, unsupported := compareWithGoCar(t, buf.Bytes()); ok != len(in) || unsupported != 0 {
		t.Fatalf("read %d (+%d unsupported) of %d", ok, unsupported, len(in))
	}
	r, err := NewReader(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if roots := r.Roots(); len(roots) != 2 || !roots[0].Equals(root) || !roots[1].Equals(root) {
		t.Fatalf("roots %v", roots)
	}
}
