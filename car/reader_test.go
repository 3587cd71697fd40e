package car

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"

	"github.com/arbor-atproto/arbor/dagcbor"
	"github.com/arbor-atproto/arbor/internal/testfixtures"
	"github.com/ipfs/go-cid"
	"github.com/multiformats/go-varint"
)

// emptyHeader is {roots: [], version: 1} with its length prefix, written out
// by hand (the same 18 bytes open interop/dag-cbor/fixtures.car).
var emptyHeader = []byte{0x11, 0xa2, 0x65, 'r', 'o', 'o', 't', 's', 0x80, 0x67, 'v', 'e', 'r', 's', 'i', 'o', 'n', 0x01}

const firstSection = int64(18) // offset of the first section after emptyHeader

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// section frames a CID (raw bytes) and data as a CAR section.
func section(cidBytes, data []byte) []byte {
	return cat(varint.ToUvarint(uint64(len(cidBytes)+len(data))), cidBytes, data)
}

func mustCast(t testing.TB, b []byte) cid.Cid {
	t.Helper()
	c, err := cid.Cast(b)
	if err != nil {
		t.Fatalf("test CID %x: %v", b, err)
	}
	return c
}

// sha256CID builds a CIDv1 with a sha2-256 digest of data, by hand.
func sha256CID(codec byte, data []byte) []byte {
	d := sha256.Sum256(data)
	return cat([]byte{0x01, codec, 0x12, 0x20}, d[:])
}

func TestReaderRejectsBadInput(t *testing.T) {
	good := []byte(`{"a":1}`)
	goodCID := sha256CID(0x71, good)
	blake3CID := cat([]byte{0x01, 0x71, 0x1e, 0x20}, bytes.Repeat([]byte{7}, 32))
	identityCID := cat([]byte{0x01, 0x71, 0x00, byte(len(good))}, good)
	d := sha256.Sum256(good)
	cidV0 := cat([]byte{0x12, 0x20}, d[:])
	dagPBCID := sha256CID(0x70, good)
	shortSHA := cat([]byte{0x01, 0x71, 0x12, 0x14}, d[:20])
	fourGB := varint.ToUvarint(4 << 30)

	type where int
	const (
		inHeader where = iota
		inBlock
	)
	tests := []struct {
		name     string
		in       []byte
		opts     []Option
		sentinel error
		where    where
		offset   int64
		cid      []byte // the CID the error must name; nil for none
		cause    error  // an extra error the chain must contain
	}{
		{"empty input", nil, nil, dagcbor.ErrTruncated, inHeader, 0, nil, nil},
		{"header length varint cut short", []byte{0x80}, nil, dagcbor.ErrTruncated, inHeader, 0, nil, nil},
		{"truncated header", emptyHeader[:9], nil, dagcbor.ErrTruncated, inHeader, 9, nil, nil},
		{"header length zero", []byte{0x00, 0xa0}, nil, ErrBadHeader, inHeader, 0, nil, nil},
		{"header length 4 GB", cat(fourGB, []byte{0xa2}), nil, ErrBadHeader, inHeader, 0, nil, nil},
		{"header length bad varint", bytes.Repeat([]byte{0xff}, 11), nil, ErrBadVarint, inHeader, 0, nil, nil},
		{"header not a map", []byte{0x01, 0x80}, nil, ErrBadHeader, inHeader, 1, nil, nil},
		{"header version 2 (CARv2 pragma)",
			[]byte{0x0a, 0xa1, 0x67, 'v', 'e', 'r', 's', 'i', 'o', 'n', 0x02}, nil, ErrBadHeader, inHeader, 10, nil, nil},
		{"header missing roots",
			[]byte{0x0a, 0xa1, 0x67, 'v', 'e', 'r', 's', 'i', 'o', 'n', 0x01}, nil, ErrBadHeader, inHeader, 1, nil, nil},
		{"header missing version",
			[]byte{0x08, 0xa1, 0x65, 'r', 'o', 'o', 't', 's', 0x80}, nil, ErrBadHeader, inHeader, 1, nil, nil},
		{"header keys out of order",
			[]byte{0x11, 0xa2, 0x67, 'v', 'e', 'r', 's', 'i', 'o', 'n', 0x01, 0x65, 'r', 'o', 'o', 't', 's', 0x80},
			nil, ErrBadHeader, inHeader, 11, nil, dagcbor.ErrKeyOrder},
		{"header unknown key",
			[]byte{0x14, 0xa3, 0x61, 'x', 0x00, 0x65, 'r', 'o', 'o', 't', 's', 0x80, 0x67, 'v', 'e', 'r', 's', 'i', 'o', 'n', 0x01},
			nil, ErrBadHeader, inHeader, 2, nil, nil},
		{"header roots not an array",
			[]byte{0x11, 0xa2, 0x65, 'r', 'o', 'o', 't', 's', 0xa0, 0x67, 'v', 'e', 'r', 's', 'i', 'o', 'n', 0x01},
			nil, ErrBadHeader, inHeader, 8, nil, nil},
		{"header root is CIDv0",
			cat([]byte{0x37, 0xa2, 0x65, 'r', 'o', 'o', 't', 's', 0x81, 0xd8, 0x2a, 0x58, 0x23, 0x00}, cidV0,
				[]byte{0x67, 'v', 'e', 'r', 's', 'i', 'o', 'n', 0x01}),
			nil, ErrBadHeader, inHeader, 9, nil, dagcbor.ErrBadLink},
		{"header trailing bytes",
			[]byte{0x12, 0xa2, 0x65, 'r', 'o', 'o', 't', 's', 0x80, 0x67, 'v', 'e', 'r', 's', 'i', 'o', 'n', 0x01, 0x00},
			nil, ErrBadHeader, inHeader, 18, nil, dagcbor.ErrTrailing},

		{"section length varint cut short", cat(emptyHeader, []byte{0x80}), nil, dagcbor.ErrTruncated, inBlock, firstSection, nil, nil},
		{"bad varint: 11 bytes of 0xff", cat(emptyHeader, bytes.Repeat([]byte{0xff}, 11)), nil, ErrBadVarint, inBlock, firstSection, nil, nil},
		{"non-minimal varint", cat(emptyHeader, []byte{0x81, 0x00}), nil, ErrBadVarint, inBlock, firstSection, nil, nil},
		{"zero-length section", cat(emptyHeader, []byte{0x00}), nil, ErrBadSection, inBlock, firstSection, nil, nil},
		{"truncated section data", cat(emptyHeader, section(goodCID, good))[:18+1+36+3], nil, dagcbor.ErrTruncated, inBlock, firstSection, goodCID, nil},
		{"truncated inside the CID", cat(emptyHeader, section(goodCID, good))[:18+1+10], nil, dagcbor.ErrTruncated, inBlock, firstSection, nil, nil},
		{"truncated second section",
			cat(emptyHeader, section(goodCID, good), section(goodCID, good)[:20]), nil, dagcbor.ErrTruncated, inBlock, firstSection + 1 + 36 + 7, nil, nil},
		{"4 GB declared section length", cat(emptyHeader, fourGB, goodCID), nil, ErrBlockTooLarge, inBlock, firstSection, goodCID, nil},
		{"4 GB declared section length, nothing after", cat(emptyHeader, fourGB), nil, ErrBlockTooLarge, inBlock, firstSection, nil, nil},
		{"block over WithMaxBlockSize", cat(emptyHeader, section(goodCID, good)), []Option{WithMaxBlockSize(6)}, ErrBlockTooLarge, inBlock, firstSection, goodCID, nil},
		{"section shorter than its CID", cat(emptyHeader, []byte{10}, goodCID[:10]), nil, ErrBadSection, inBlock, firstSection, nil, nil},
		{"garbage CID", cat(emptyHeader, section([]byte{0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, nil)), nil, ErrBadCID, inBlock, firstSection, nil, nil},
		{"block bytes do not match CID", cat(emptyHeader, section(goodCID, []byte(`{"a":2}`))), nil, ErrHashMismatch, inBlock, firstSection, goodCID, nil},
		{"blake3 hash", cat(emptyHeader, section(blake3CID, good)), nil, ErrUnsupportedCID, inBlock, firstSection, blake3CID, nil},
		{"identity hash", cat(emptyHeader, section(identityCID, good)), nil, ErrUnsupportedCID, inBlock, firstSection, identityCID, nil},
		{"CIDv0", cat(emptyHeader, section(cidV0, good)), nil, ErrUnsupportedCID, inBlock, firstSection, cidV0, nil},
		{"dag-pb codec", cat(emptyHeader, section(dagPBCID, good)), nil, ErrUnsupportedCID, inBlock, firstSection, dagPBCID, nil},
		{"sha2-256 digest of 20 bytes", cat(emptyHeader, section(shortSHA, good)), nil, ErrUnsupportedCID, inBlock, firstSection, shortSHA, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			r, herr := NewReader(bytes.NewReader(tc.in), tc.opts...)
			if herr != nil {
				err = herr
			} else {
				for {
					if _, err = r.Next(); err != nil {
						break
					}
				}
			}
			t.Log(err)
			if !errors.Is(err, tc.sentinel) {
				t.Fatalf("got %v, want %v", err, tc.sentinel)
			}
			if tc.cause != nil && !errors.Is(err, tc.cause) {
				t.Errorf("error %v does not wrap %v", err, tc.cause)
			}
			switch tc.where {
			case inHeader:
				var he *HeaderError
				if !errors.As(err, &he) {
					t.Fatalf("got %T, want *HeaderError", err)
				}
				if he.Offset != tc.offset {
					t.Errorf("offset %d, want %d (%v)", he.Offset, tc.offset, err)
				}
				if !strings.HasPrefix(err.Error(), "car: header at byte ") {
					t.Errorf("message %q", err)
				}
			case inBlock:
				var be *BlockError
				if !errors.As(err, &be) {
					t.Fatalf("got %T, want *BlockError (%v)", err, err)
				}
				if be.Offset != tc.offset {
					t.Errorf("offset %d, want %d (%v)", be.Offset, tc.offset, err)
				}
				if tc.cid == nil && be.CID.Defined() {
					t.Errorf("error names CID %s, want none", be.CID)
				}
				if tc.cid != nil {
					want := mustCast(t, tc.cid)
					if !be.CID.Equals(want) {
						t.Errorf("error names CID %s, want %s", be.CID, want)
					}
					if !strings.Contains(err.Error(), want.String()) {
						t.Errorf("message %q does not name the CID", err)
					}
				}
			}
		})
	}
}

func TestBlockErrorMessageNamesCIDOffsetAndProblem(t *testing.T) {
	good := []byte{0xa0}
	c := mustCast(t, sha256CID(0x71, good))
	in := cat(emptyHeader, section(c.Bytes(), []byte{0xa1}))
	r, err := NewReader(bytes.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.Next()
	want := "car: block " + c.String() + " at byte 18: hash mismatch"
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("got %q, want prefix %q", err, want)
	}
}

// After a hash mismatch or unsupported CID the section has been consumed,
// so the next call returns the following block.
func TestReaderContinuesAfterPerBlockErrors(t *testing.T) {
	a, b := []byte{0x01}, []byte{0x02}
	ca, cb := sha256CID(0x71, a), sha256CID(0x55, b)
	blake3CID := cat([]byte{0x01, 0x71, 0x1e, 0x20}, bytes.Repeat([]byte{7}, 32))
	in := cat(emptyHeader, section(ca, b), section(blake3CID, a), section(cb, b))
	r, err := NewReader(bytes.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	wantErrs := []error{ErrHashMismatch, ErrUnsupportedCID, nil, io.EOF}
	for i, want := range wantErrs {
		blk, err := r.Next()
		if !errors.Is(err, want) && !(want == nil && err == nil) {
			t.Fatalf("call %d: got %v, want %v", i, err, want)
		}
		if want == nil && (!blk.CID.Equals(mustCast(t, cb)) || !bytes.Equal(blk.Data, b)) {
			t.Fatalf("call %d: got %s %x", i, blk.CID, blk.Data)
		}
	}
	if r.BytesRead() != int64(len(in)) {
		t.Errorf("BytesRead %d, want %d", r.BytesRead(), len(in))
	}
}

func TestReaderFramingErrorsAreSticky(t *testing.T) {
	in := cat(emptyHeader, bytes.Repeat([]byte{0xff}, 11), section(sha256CID(0x71, nil), nil))
	r, err := NewReader(bytes.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	_, err1 := r.Next()
	_, err2 := r.Next()
	if !errors.Is(err1, ErrBadVarint) || err2 != err1 {
		t.Fatalf("got %v then %v, want the same ErrBadVarint twice", err1, err2)
	}
}

func TestFourGigabyteSectionFailsWithoutAllocating(t *testing.T) {
	if raceDetector {
		t.Skip("the race detector's own allocations would be counted")
	}
	// The input claims 4 GB but is endless zeros: reading any of it would
	// take forever, allocating it would take 4 GB.
	in := io.MultiReader(bytes.NewReader(cat(emptyHeader, varint.ToUvarint(4<<30))), zeroReader{})
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	r, err := NewReader(in)
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.Next()
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrBlockTooLarge) {
		t.Fatalf("got %v, want ErrBlockTooLarge", err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
		t.Errorf("allocated %d bytes", grew)
	}
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) { clear(p); return len(p), nil }

func TestReaderAcceptsDuplicatesAndAnyOrder(t *testing.T) {
	a, b := []byte{0xa0}, []byte{0x80}
	ca, cb := sha256CID(0x71, a), sha256CID(0x71, b)
	in := cat(emptyHeader, section(cb, b), section(ca, a), section(cb, b))
	var got []string
	r, err := NewReader(bytes.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	for _, blk := range readBlocks(t, r) {
		got = append(got, blk.CID.String())
	}
	want := []string{mustCast(t, cb).String(), mustCast(t, ca).String(), mustCast(t, cb).String()}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("got %v, want %v", got, want)
	}
	_, blocks, err := ReadAll(bytes.NewReader(in))
	if err != nil || len(blocks) != 2 {
		t.Fatalf("ReadAll: %d blocks, %v", len(blocks), err)
	}
}

func TestBlockDataOwnership(t *testing.T) {
	a, b := []byte{0x61, 0x61}, []byte{0x62, 0x62}
	in := cat(emptyHeader, section(sha256CID(0x55, a), a), section(sha256CID(0x55, b), b))
	tests := []struct {
		name      string
		opts      []Option
		wantAlias bool
	}{
		{"default: each block is a fresh slice", nil, false},
		{"WithReuseBuffer: blocks share one buffer", []Option{WithReuseBuffer()}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := NewReader(bytes.NewReader(in), tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			b1, err := r.Next()
			if err != nil {
				t.Fatal(err)
			}
			first := b1.Data
			b2, err := r.Next()
			if err != nil {
				t.Fatal(err)
			}
			if alias := &first[0] == &b2.Data[0]; alias != tc.wantAlias {
				t.Errorf("aliasing %v, want %v", alias, tc.wantAlias)
			}
			if !tc.wantAlias && !bytes.Equal(first, a) {
				t.Errorf("first block changed to %q", first)
			}
		})
	}
}

func TestRootsReturnsACopy(t *testing.T) {
	data := testfixtures.Read(t, "corpus", "indigo", "testing", "testdata", "greenground.repo.car")
	r, err := NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	want := r.Roots()[0]
	r.Roots()[0] = cid.Undef
	if !r.Roots()[0].Equals(want) {
		t.Fatal("Roots exposes the reader's slice")
	}
}

func TestReadAllStopsAtFirstError(t *testing.T) {
	a := []byte{0xa0}
	in := cat(emptyHeader, section(sha256CID(0x71, a), a), section(sha256CID(0x71, a), []byte{0xa1}))
	roots, blocks, err := ReadAll(bytes.NewReader(in))
	if !errors.Is(err, ErrHashMismatch) || roots != nil || blocks != nil {
		t.Fatalf("got %v, %v, %v", roots, blocks, err)
	}
}

func TestTruncatedLargeBlockAllocatesOnlyWhatArrived(t *testing.T) {
	if raceDetector {
		t.Skip("the race detector's own allocations would be counted")
	}
	// A section that declares the maximum block size but carries 10 bytes
	// must fail with dagcbor.ErrTruncated having allocated about one read chunk,
	// not the declared 8 MiB.
	c := sha256CID(0x71, nil)
	in := cat(emptyHeader, varint.ToUvarint(uint64(len(c)+DefaultMaxBlockSize)), c, make([]byte, 10))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	r, err := NewReader(bytes.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.Next()
	runtime.ReadMemStats(&after)
	if !errors.Is(err, dagcbor.ErrTruncated) {
		t.Fatalf("got %v, want dagcbor.ErrTruncated", err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 2*readChunk {
		t.Errorf("allocated %d bytes for a 10-byte block", grew)
	}
}

func TestMaxSizeBlockIsAccepted(t *testing.T) {
	data := bytes.Repeat([]byte{'x'}, DefaultMaxBlockSize)
	in := cat(emptyHeader, section(sha256CID(0x55, data), data))
	for _, opts := range [][]Option{nil, {WithReuseBuffer()}} {
		r, err := NewReader(bytes.NewReader(in), opts...)
		if err != nil {
			t.Fatal(err)
		}
		b, err := r.Next()
		if err != nil || !bytes.Equal(b.Data, data) {
			t.Fatalf("got %d bytes, %v", len(b.Data), err)
		}
	}
}

type failAfter struct {
	data []byte
	err  error
}

func (f *failAfter) Read(p []byte) (int, error) {
	if len(f.data) == 0 {
		return 0, f.err
	}
	n := copy(p, f.data)
	f.data = f.data[n:]
	return n, nil
}

func TestReaderPassesThroughIOErrors(t *testing.T) {
	boom := errors.New("connection reset")
	a := []byte{0xa0}
	sec := section(sha256CID(0x71, a), a)
	tests := []struct {
		name   string
		data   []byte
		header bool
		offset int64
	}{
		{"inside the header", emptyHeader[:5], true, 5},
		{"inside a block", cat(emptyHeader, sec[:len(sec)-1]), false, firstSection},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := NewReader(&failAfter{tc.data, boom})
			if !tc.header {
				if err != nil {
					t.Fatal(err)
				}
				_, err = r.Next()
			}
			if !errors.Is(err, boom) || errors.Is(err, dagcbor.ErrTruncated) {
				t.Fatalf("got %v, want the I/O error itself", err)
			}
			var he *HeaderError
			var be *BlockError
			switch {
			case tc.header && errors.As(err, &he):
				if he.Offset != tc.offset {
					t.Errorf("offset %d, want %d", he.Offset, tc.offset)
				}
			case !tc.header && errors.As(err, &be):
				if be.Offset != tc.offset {
					t.Errorf("offset %d, want %d", be.Offset, tc.offset)
				}
			default:
				t.Errorf("got %T", err)
			}
		})
	}
}

func TestWithoutCIDsGivesDigestAndCodecInstead(t *testing.T) {
	data := []byte{0xa1, 0x61, 0x61, 0x01}
	c := dagcbor.SumCID(dagcbor.CodecDagCBOR, data)
	var buf bytes.Buffer
	w, err := NewWriter(&buf, []cid.Cid{c})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Put(c, data); err != nil {
		t.Fatal(err)
	}
	w.Flush()
	r, err := NewReader(bytes.NewReader(buf.Bytes()), WithoutCIDs())
	if err != nil {
		t.Fatal(err)
	}
	b, err := r.Next()
	if err != nil {
		t.Fatal(err)
	}
	if b.CID.Defined() {
		t.Fatalf("CID %s is set with WithoutCIDs", b.CID)
	}
	if got := dagcbor.CIDFromDigest(uint64(b.Codec), b.Digest); got != c {
		t.Fatalf("digest and codec give %s, want %s", got, c)
	}
	// A bad block still names its CID.
	raw := buf.Bytes()
	raw[len(raw)-1] ^= 1
	r, _ = NewReader(bytes.NewReader(raw), WithoutCIDs())
	_, err = r.Next()
	var be *BlockError
	if !errors.As(err, &be) || be.CID != c || !errors.Is(err, ErrHashMismatch) {
		t.Fatalf("err = %v, want a hash mismatch naming %s", err, c)
	}
}

// WithoutHashCheck hands over a block whose bytes are not its CID's, and
// Block.Check then gives the error Next gives without the option, with and
// without WithoutCIDs.
func TestWithoutHashCheckLeavesTheCheckToBlockCheck(t *testing.T) {
	good := []byte(`{"a":1}`)
	c := sha256CID(0x71, good)
	for _, extra := range [][]Option{nil, {WithoutCIDs()}} {
		for _, data := range [][]byte{good, []byte(`{"a":2}`)} {
			raw := cat(emptyHeader, section(c, data))
			r, err := NewReader(bytes.NewReader(raw), WithoutCIDs())
			if err != nil {
				t.Fatal(err)
			}
			_, want := r.Next()
			r, _ = NewReader(bytes.NewReader(raw), append(extra, WithoutHashCheck())...)
			b, err := r.Next()
			if err != nil || !bytes.Equal(b.Data, data) {
				t.Fatalf("Next with WithoutHashCheck: %q, %v", b.Data, err)
			}
			if got := b.Check(); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("Check: %v, want %v", got, want)
			}
		}
	}
}

// NextAppend gives what Next gives, block by block and error by error,
// with every block's bytes appended after the last in the caller's
// buffer, and the buffer unchanged in length by a section that fails.
func TestNextAppendGivesWhatNextGives(t *testing.T) {
	a, b := []byte("first block"), bytes.Repeat([]byte{0x42}, 3000)
	ca, cb := sha256CID(0x71, a), sha256CID(0x55, b)
	blake3CID := cat([]byte{0x01, 0x71, 0x1e, 0x20}, bytes.Repeat([]byte{7}, 32))
	good := cat(emptyHeader, section(ca, a), section(ca, b), section(blake3CID, a), section(cb, b), section(ca, a))
	inputs := map[string][]byte{
		"blocks and per-block errors": good,
		"cut short inside a block":    good[:len(good)-5],
		"a bad varint":                cat(emptyHeader, section(ca, a), bytes.Repeat([]byte{0xff}, 11)),
	}
	for name, in := range inputs {
		t.Run(name, func(t *testing.T) {
			r1, err := NewReader(bytes.NewReader(in))
			if err != nil {
				t.Fatal(err)
			}
			r2, _ := NewReader(bytes.NewReader(in))
			dst := []byte("prefix:")
			var want []byte
			want = append(want, dst...)
			for i := 0; ; i++ {
				b1, err1 := r1.Next()
				b2, grown, err2 := r2.NextAppend(dst)
				if fmt.Sprint(err1) != fmt.Sprint(err2) {
					t.Fatalf("section %d: Next %v, NextAppend %v", i, err1, err2)
				}
				if err1 != nil {
					if len(grown) != len(dst) {
						t.Fatalf("section %d: failed, but the buffer grew from %d to %d bytes", i, len(dst), len(grown))
					}
					if err1 == io.EOF || (!errors.Is(err1, ErrHashMismatch) && !errors.Is(err1, ErrUnsupportedCID)) {
						break
					}
					continue
				}
				if !b1.CID.Equals(b2.CID) || b1.Offset != b2.Offset || !bytes.Equal(b1.Data, b2.Data) {
					t.Fatalf("section %d: Next %s@%d, NextAppend %s@%d", i, b1.CID, b1.Offset, b2.CID, b2.Offset)
				}
				want = append(want, b1.Data...)
				if !bytes.Equal(grown, want) || !bytes.Equal(grown[len(grown)-len(b2.Data):], b2.Data) {
					t.Fatalf("section %d: the buffer is not the blocks appended in order", i)
				}
				dst = grown
			}
			if r1.BytesRead() != r2.BytesRead() {
				t.Errorf("BytesRead: Next %d, NextAppend %d", r1.BytesRead(), r2.BytesRead())
			}
		})
	}
}
