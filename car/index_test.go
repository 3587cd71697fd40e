package car

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"testing"

	"github.com/ipfs/go-cid"
	"github.com/multiformats/go-varint"

	"github.com/arbor-atproto/arbor/dagcbor"
	"github.com/arbor-atproto/arbor/internal/testfixtures"
)

// readerVerdict runs a Reader over in as archive.Read does and returns
// its roots and the first error other than ErrHashMismatch (nil at a clean
// end): the verdict an Index must reach when it is opened.
func readerVerdict(in []byte, opts ...Option) ([]cid.Cid, error) {
	r, err := NewReader(bytes.NewReader(in), opts...)
	if err != nil {
		return nil, err
	}
	for {
		_, err := r.Next()
		if err == io.EOF {
			return r.Roots(), nil
		}
		if err != nil && !errors.Is(err, ErrHashMismatch) {
			return nil, err
		}
	}
}

func TestIndexRejectsBadFramingAsReaderDoes(t *testing.T) {
	good := []byte(`{"a":1}`)
	goodCID := sha256CID(0x71, good)
	d := sha256.Sum256(good)
	cidV0 := cat([]byte{0x12, 0x20}, d[:])
	blake3CID := cat([]byte{0x01, 0x71, 0x1e, 0x20}, bytes.Repeat([]byte{7}, 32))
	fourGB := varint.ToUvarint(4 << 30)
	tests := []struct {
		name     string
		in       []byte
		opts     []Option
		sentinel error
		offset   int64
	}{
		{"empty input", nil, nil, dagcbor.ErrTruncated, 0},
		{"header length varint cut short", []byte{0x80}, nil, dagcbor.ErrTruncated, 0},
		{"truncated header", emptyHeader[:9], nil, dagcbor.ErrTruncated, 9},
		{"header length zero", []byte{0x00, 0xa0}, nil, ErrBadHeader, 0},
		{"header length 4 GB", cat(fourGB, []byte{0xa2}), nil, ErrBadHeader, 0},
		{"header not a map", []byte{0x01, 0x80}, nil, ErrBadHeader, 1},
		{"header version 2", []byte{0x0a, 0xa1, 0x67, 'v', 'e', 'r', 's', 'i', 'o', 'n', 0x02}, nil, ErrBadHeader, 10},
		{"section length varint cut short", cat(emptyHeader, []byte{0x80}), nil, dagcbor.ErrTruncated, firstSection},
		{"11-byte varint", cat(emptyHeader, bytes.Repeat([]byte{0xff}, 11)), nil, ErrBadVarint, firstSection},
		{"non-minimal varint", cat(emptyHeader, []byte{0x81, 0x00}), nil, ErrBadVarint, firstSection},
		{"zero-length section", cat(emptyHeader, []byte{0x00}), nil, ErrBadSection, firstSection},
		{"truncated block", cat(emptyHeader, section(goodCID, good))[:18+1+36+3], nil, dagcbor.ErrTruncated, firstSection},
		{"truncated inside the CID", cat(emptyHeader, section(goodCID, good))[:18+1+10], nil, dagcbor.ErrTruncated, firstSection},
		{"truncated second section", cat(emptyHeader, section(goodCID, good), section(goodCID, good)[:20]), nil, dagcbor.ErrTruncated, firstSection + 44},
		{"4 GB section", cat(emptyHeader, fourGB, goodCID), nil, ErrBlockTooLarge, firstSection},
		{"block over WithMaxBlockSize", cat(emptyHeader, section(goodCID, good)), []Option{WithMaxBlockSize(6)}, ErrBlockTooLarge, firstSection},
		{"section shorter than its CID", cat(emptyHeader, []byte{10}, goodCID[:10]), nil, ErrBadSection, firstSection},
		{"garbage CID", cat(emptyHeader, section([]byte{0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, nil)), nil, ErrBadCID, firstSection},
		{"CIDv0", cat(emptyHeader, section(cidV0, good)), nil, ErrUnsupportedCID, firstSection},
		{"blake3 after a bad hash", cat(emptyHeader, section(goodCID, []byte(`{"a":2}`)), section(blake3CID, good)), nil, ErrUnsupportedCID, firstSection + 44},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, want := readerVerdict(tc.in, tc.opts...)
			ix, err := IndexBytes(tc.in, tc.opts...)
			if ix != nil || err == nil {
				t.Fatalf("IndexBytes accepted the input (Reader says %v)", want)
			}
			if !errors.Is(err, tc.sentinel) {
				t.Fatalf("got %v, want %v", err, tc.sentinel)
			}
			var off int64 = -1
			var he *HeaderError
			var be *BlockError
			switch {
			case errors.As(err, &he):
				off = he.Offset
			case errors.As(err, &be):
				off = be.Offset
			}
			if off != tc.offset {
				t.Errorf("offset %d, want %d (%v)", off, tc.offset, err)
			}
			if want == nil || err.Error() != want.Error() {
				t.Errorf("error %q, Reader says %q", err, want)
			}
			// In the background, opening reports only header problems;
			// Settle and Wait report the rest, identically.
			bg, berr := IndexBytes(tc.in, append(tc.opts, WithBackgroundScan())...)
			if he != nil {
				if berr == nil || berr.Error() != err.Error() {
					t.Errorf("background open: %v, want %v", berr, err)
				}
				return
			}
			if berr != nil {
				t.Fatalf("background open failed on a section problem: %v", berr)
			}
			defer bg.Close()
			if serr := bg.Settle(); serr == nil || serr.Error() != err.Error() {
				t.Errorf("Settle: %v, want %v", serr, err)
			}
			if werr := bg.Wait(); werr == nil || werr.Error() != err.Error() {
				t.Errorf("Wait: %v, want %v", werr, err)
			}
		})
	}
}

func TestIndexGetChecksEveryBlockItReturns(t *testing.T) {
	good, bad, raw := []byte{0xa1, 0x61, 'a', 0x01}, []byte{0xa1, 0x61, 'a', 0x02}, []byte("raw bytes")
	goodCID, badCID, rawCID := sha256CID(0x71, good), sha256CID(0x71, []byte{0xa1, 0x61, 'a', 0x03}), sha256CID(0x55, raw)
	in := cat(emptyHeader, section(goodCID, good), section(badCID, bad), section(rawCID, raw))
	ix, err := IndexBytes(in)
	if err != nil {
		t.Fatalf("a hash mismatch must not fail the index: %v", err)
	}
	absent := sha256CID(0x71, []byte{0xa0})
	asDagCBOR := cat([]byte{0x01, 0x71}, rawCID[2:]) // raw's digest under another codec
	tests := []struct {
		name     string
		cid      []byte
		want     []byte
		sentinel error
		offset   int64
	}{
		{"a good block", goodCID, good, nil, 0},
		{"a raw block", rawCID, raw, nil, 0},
		{"bytes that do not match the CID", badCID, nil, ErrHashMismatch, firstSection + 1 + 36 + 4},
		{"a CID the file lacks", absent, nil, ErrNotFound, 0},
		{"a known digest under another codec", asDagCBOR, nil, ErrNotFound, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := mustCast(t, tc.cid)
			got, err := ix.Get(c)
			if tc.sentinel == nil {
				if err != nil || !bytes.Equal(got, tc.want) || !ix.Has(c) {
					t.Fatalf("Get: %q, %v; Has %v", got, err, ix.Has(c))
				}
				return
			}
			if !errors.Is(err, tc.sentinel) {
				t.Fatalf("Get: %v, want %v", err, tc.sentinel)
			}
			var be *BlockError
			if tc.offset != 0 && (!errors.As(err, &be) || be.Offset != tc.offset || be.CID != c) {
				t.Errorf("error %v does not name offset %d and the CID", err, tc.offset)
			}
			if tc.sentinel == ErrNotFound && ix.Has(c) {
				t.Errorf("Has reports a block Get cannot find")
			}
		})
	}
}

// Every block a Reader returns from a file, the Index gives back with the
// same bytes, with the same roots, from the mapped file.
func TestIndexHoldsWhatReaderReads(t *testing.T) {
	var files []string
	for _, tc := range corpusCARs {
		files = append(files, testfixtures.Path(t, tc.path...))
	}
	diffs, _ := filepath.Glob(filepath.Join("..", "golden", "diffs", "*", "*.car"))
	exh := testfixtures.Glob(t, "interop", "mst-test-suite", "cars", "exhaustive", "exhaustive_0[0-3]*.car")
	if len(diffs) == 0 || len(exh) == 0 {
		t.Fatal("golden diffs or exhaustive CARs missing")
	}
	files = append(append(files, diffs...), exh...)
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			roots, blocks, err := ReadAll(bytes.NewReader(raw))
			if err != nil {
				t.Fatal(err)
			}
			ix, err := OpenIndex(path)
			if err != nil {
				t.Fatal(err)
			}
			defer ix.Close()
			if !slices.Equal(ix.Roots(), roots) || ix.Size() != int64(len(raw)) {
				t.Fatalf("roots %v size %d, want %v and %d", ix.Roots(), ix.Size(), roots, len(raw))
			}
			for c, want := range blocks {
				got, err := ix.Get(c)
				if err != nil || !bytes.Equal(got, want) {
					t.Fatalf("Get(%s): %v", c, err)
				}
			}
			if ix.NodeBlocks() > len(blocks) {
				t.Errorf("%d node blocks of %d", ix.NodeBlocks(), len(blocks))
			}
		})
	}
}

// A file that cannot be mapped (here a pipe) is read whole instead.
func TestOpenIndexReadsPipes(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("/dev/fd paths are a Linux feature")
	}
	data := []byte{0xa0}
	in := cat(emptyHeader, section(sha256CID(0x71, data), data))
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	go func() { _, _ = w.Write(in); w.Close() }()
	ix, err := OpenIndex("/dev/fd/" + strconv.Itoa(int(r.Fd())))
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	if got, err := ix.Get(mustCast(t, sha256CID(0x71, data))); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("Get: %x, %v", got, err)
	}
}

// Records are indexed on first need; after Close nothing is found and
// nothing crashes.
func TestIndexFindsRecordsOnDemandAndNothingAfterClose(t *testing.T) {
	node := []byte{0xa2, 0x61, 'e', 0x80, 0x61, 'l', 0xf6} // {e: [], l: null}
	rec := []byte{0xa1, 0x65, '$', 't', 'y', 'p', 'e', 0x61, 'x'}
	nodeCID, recCID := mustCast(t, sha256CID(0x71, node)), mustCast(t, sha256CID(0x71, rec))
	path := filepath.Join(t.TempDir(), "x.car")
	if err := os.WriteFile(path, cat(emptyHeader, section(nodeCID.Bytes(), node), section(recCID.Bytes(), rec)), 0o644); err != nil {
		t.Fatal(err)
	}
	ix, err := OpenIndex(path)
	if err != nil {
		t.Fatal(err)
	}
	if ix.NodeBlocks() != 1 || ix.Sections() != 2 {
		t.Errorf("%d node blocks of %d sections, want 1 of 2", ix.NodeBlocks(), ix.Sections())
	}
	for _, c := range []cid.Cid{nodeCID, recCID} {
		if _, err := ix.Get(c); err != nil {
			t.Errorf("Get(%s): %v", c, err)
		}
	}
	if err := ix.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := ix.Get(recCID); !errors.Is(err, ErrNotFound) || ix.Has(nodeCID) {
		t.Errorf("after Close: Get %v, Has %v", err, ix.Has(nodeCID))
	}
}

// pausingCAR builds a CAR whose only node-shaped block comes first, then
// more than PauseGap bytes of raw blocks, then a second node, then tail.
func pausingCAR(t *testing.T, tail []byte) (in []byte, first, last cid.Cid, raws []cid.Cid) {
	t.Helper()
	node := []byte{0xa2, 0x61, 'e', 0x80, 0x61, 'l', 0xf6} // {e: [], l: null}
	first = mustCast(t, sha256CID(0x71, node))
	parts := [][]byte{emptyHeader, section(first.Bytes(), node)}
	for i := 0; i < PauseGap/(64<<10)+4; i++ {
		raw := bytes.Repeat([]byte{byte(i), byte(i >> 8)}, 32<<10)
		c := mustCast(t, sha256CID(0x55, raw))
		raws = append(raws, c)
		parts = append(parts, section(c.Bytes(), raw))
	}
	// A second node that differs from the first: an entry-less node with a
	// left link (not a valid MST, but node-shaped, which is all the index
	// looks at).
	second := cat([]byte{0xa2, 0x61, 'e', 0x80, 0x61, 'l', 0xd8, 0x2a, 0x58, 0x25, 0x00}, first.Bytes())
	last = mustCast(t, sha256CID(0x71, second))
	parts = append(parts, section(last.Bytes(), second), tail)
	return cat(parts...), first, last, raws
}

// A background scan stops a little past the last node it met, before the
// end of the file, and goes on when a block past it is asked for.
func TestBackgroundScanPausesAfterTheNodesAndResumesOnDemand(t *testing.T) {
	in, first, last, raws := pausingCAR(t, []byte{0x80}) // a length varint cut short at the end
	ix, err := IndexBytes(in, WithBackgroundScan())
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	if _, err := ix.Get(first); err != nil {
		t.Fatalf("Get(first node): %v", err)
	}
	if err := ix.Settle(); err != nil {
		t.Fatalf("Settle reported %v: the scan should have paused before the bad end", err)
	}
	ix.mu.Lock()
	paused := ix.paused
	ix.mu.Unlock()
	if !paused || ix.done.Load() {
		t.Fatalf("after Settle: paused %v, done %v; want a paused scan", paused, ix.done.Load())
	}
	if got, err := ix.Get(last); err != nil || len(got) == 0 {
		t.Fatalf("Get(node after the gap): %v", err)
	}
	if err := ix.Settle(); !errors.Is(err, dagcbor.ErrTruncated) {
		t.Errorf("Settle after reading past the gap: %v, want the truncated end", err)
	}
	if err := ix.Wait(); !errors.Is(err, dagcbor.ErrTruncated) {
		t.Errorf("Wait: %v, want dagcbor.ErrTruncated", err)
	}
	if _, err := ix.Get(raws[3]); err != nil {
		t.Errorf("Get(record before the bad end): %v", err)
	}
	absent := mustCast(t, sha256CID(0x71, []byte{0xa0}))
	if _, err := ix.Get(absent); !errors.Is(err, dagcbor.ErrTruncated) || errors.Is(err, ErrNotFound) {
		t.Errorf("Get(absent) in a truncated file: %v, want the truncation, not ErrNotFound", err)
	}
}

// Close ends a paused or running background scan without hanging, and
// Gets from several goroutines during the scan all succeed.
func TestBackgroundScanConcurrentGetsAndClose(t *testing.T) {
	in, first, last, raws := pausingCAR(t, nil)
	for _, closeEarly := range []bool{false, true} {
		ix, err := IndexBytes(in, WithBackgroundScan())
		if err != nil {
			t.Fatal(err)
		}
		if closeEarly {
			if err := ix.Close(); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want := append([]cid.Cid{first, last}, raws...)
		errs := make(chan error, len(want))
		for _, c := range want {
			go func() {
				_, err := ix.Get(c)
				errs <- err
			}()
		}
		for range want {
			if err := <-errs; err != nil {
				t.Error(err)
			}
		}
		if err := ix.Wait(); err != nil {
			t.Errorf("Wait: %v", err)
		}
		if ix.NodeBlocks() != 2 || ix.Sections() != len(want) {
			t.Errorf("%d nodes of %d sections, want 2 of %d", ix.NodeBlocks(), ix.Sections(), len(want))
		}
		if err := ix.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// FuzzIndexBytes: on any input, IndexBytes never panics and reaches the
// verdict of a Reader (the same roots, or the same error), and every block
// the Reader returns intact, Get returns with the same bytes.
func FuzzIndexBytes(f *testing.F) {
	a := []byte{0xa0}
	f.Add(cat(emptyHeader, section(sha256CID(0x71, a), a), section(sha256CID(0x55, a), a)))
	f.Add(cat(emptyHeader, section(sha256CID(0x71, a), []byte{0xa1})))
	f.Add(cat(emptyHeader, bytes.Repeat([]byte{0xff}, 11)))
	f.Add(cat(emptyHeader, varint.ToUvarint(1<<17), sha256CID(0x71, a)))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, in []byte) {
		roots, want := readerVerdict(in, WithMaxBlockSize(1<<16))
		ix, err := IndexBytes(in, WithMaxBlockSize(1<<16))
		if (err == nil) != (want == nil) || (err != nil && err.Error() != want.Error()) {
			t.Fatalf("IndexBytes: %v; Reader: %v", err, want)
		}
		// The background scan reaches the same verdict.
		if bg, berr := IndexBytes(in, WithMaxBlockSize(1<<16), WithBackgroundScan()); berr == nil {
			berr = bg.Wait()
			bg.Close()
			if (berr == nil) != (want == nil) || (berr != nil && berr.Error() != want.Error()) {
				t.Fatalf("background scan: %v; Reader: %v", berr, want)
			}
		} else if want == nil || berr.Error() != want.Error() {
			t.Fatalf("background IndexBytes: %v; Reader: %v", berr, want)
		}
		if err != nil {
			return
		}
		if !slices.Equal(ix.Roots(), roots) {
			t.Fatalf("roots %v, Reader %v", ix.Roots(), roots)
		}
		r, _ := NewReader(bytes.NewReader(in))
		for {
			b, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				continue // a hash mismatch: the index reports it on Get
			}
			got, gerr := ix.Get(b.CID)
			if gerr != nil && !errors.Is(gerr, ErrHashMismatch) { // an earlier bad copy of the CID is what Get reads
				t.Fatalf("Get(%s): %v", b.CID, gerr)
			}
			if gerr == nil && !bytes.Equal(got, b.Data) {
				t.Fatalf("Get(%s) = %x, want %x", b.CID, got, b.Data)
			}
		}
	})
}

// Counting the blocks of a paused background scan finishes the scan
// rather than waiting for it forever.
func TestBackgroundScanCountsFinishAPausedScan(t *testing.T) {
	in, first, _, raws := pausingCAR(t, nil)
	ix, err := IndexBytes(in, WithBackgroundScan())
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	if _, err := ix.Get(first); err != nil {
		t.Fatal(err)
	}
	if err := ix.Settle(); err != nil {
		t.Fatal(err)
	}
	if ix.NodeBlocks() != 2 || ix.Sections() != len(raws)+2 {
		t.Errorf("%d node blocks of %d sections, want 2 of %d", ix.NodeBlocks(), ix.Sections(), len(raws)+2)
	}
}
