package car

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/ipfs/go-cid"
	gocar "github.com/ipld/go-car/v2"

	"github.com/arbor-atproto/arbor/internal/testfixtures"
)

// corpusCARs lists every CAR under shared/corpus with the block count
// PROVENANCE.md states for it; -1 means PROVENANCE gives no count and the
// test takes go-car's count instead.
var corpusCARs = []struct {
	path   []string
	blocks int
}{
	{[]string{"corpus", "indigo", "testing", "testdata", "greenground.repo.car"}, 4},
	{[]string{"corpus", "indigo", "testing", "testdata", "fakermaker.repo.car"}, 690},
	{[]string{"corpus", "indigo", "testing", "testdata", "paul_staging.repo.car"}, 458},
	{[]string{"corpus", "indigo", "testing", "testdata", "divy.repo"}, 9},
	{[]string{"corpus", "indigo", "testing", "testdata", "bafyreieovfuizojpw3zresz7sx3nk4trm2by23pt5rxbey3jme4uo5ogiu.car"}, 10},
	{[]string{"corpus", "indigo", "testing", "testdata", "repo_slice.car"}, 5}, // commit + 3 MST nodes + 1 record
	{[]string{"corpus", "indigo", "atproto", "repo", "testdata", "bnewbold.robocracy.org.20250310005405.car"}, 56},
	{[]string{"corpus", "rsky", "rsky-repo", "resources", "test", "valid_repo.car"}, 12},
	{[]string{"corpus", "arroba", "arroba", "tests", "snarfed2.car"}, 8},
	{[]string{"corpus", "dnproto", "test", "mst", "msttest-01-new.car"}, -1},
	{[]string{"corpus", "dnproto", "test", "mst", "msttest-02-login.car"}, -1},
	{[]string{"corpus", "dnproto", "test", "mst", "msttest-03-setprofile.car"}, -1},
	{[]string{"corpus", "dnproto", "test", "mst", "msttest-04-firstpost.car"}, -1},
	{[]string{"corpus", "dnproto", "test", "mst", "msttest-05-firstlike.car"}, -1},
	{[]string{"corpus", "dnproto", "test", "mst", "msttest-06-reply.car"}, -1},
	{[]string{"corpus", "dnproto", "test", "mst", "msttest-07-handlechange.car"}, -1},
}

type goCarBlock struct {
	cid    cid.Cid
	data   []byte
	offset int64
}

// readWithGoCar reads a CAR with go-car/v2's BlockReader (which verifies
// every hash it knows) and takes each section's offset from a second pass
// with SkipNext.
func readWithGoCar(t testing.TB, data []byte) (roots []cid.Cid, blocks []goCarBlock) {
	t.Helper()
	roots, order, byCID := testfixtures.CARBlocks(t, data)
	for _, c := range order {
		blocks = append(blocks, goCarBlock{cid: c, data: byCID[c]})
	}
	sk, err := gocar.NewBlockReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	for i := range blocks {
		md, err := sk.SkipNext()
		if err != nil {
			t.Fatalf("go-car SkipNext %d: %v", i, err)
		}
		if !md.Cid.Equals(blocks[i].cid) {
			t.Fatalf("go-car passes disagree at %d", i)
		}
		blocks[i].offset = int64(md.SourceOffset)
	}
	return roots, blocks
}

// isAtprotoCID is the rule the reader enforces, restated for the test.
func isAtprotoCID(c cid.Cid) bool {
	p := c.Prefix()
	return p.Version == 1 && p.MhType == 0x12 && p.MhLength == 32 && (p.Codec == 0x71 || p.Codec == 0x55)
}

// compareWithGoCar reads data with our Reader and checks it yields go-car's
// (CID, bytes, offset) sequence, with ErrUnsupportedCID (and the reader
// moving on) exactly for the blocks atproto does not allow. It returns the
// number of blocks returned and of blocks rejected as unsupported.
func compareWithGoCar(t *testing.T, data []byte) (ok, unsupported int) {
	t.Helper()
	wantRoots, want := readWithGoCar(t, data)
	r, err := NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("NewReader: %v", err)
	}
	if got := r.Roots(); len(got) != len(wantRoots) {
		t.Fatalf("roots: got %d, go-car %d", len(got), len(wantRoots))
	} else {
		for i := range got {
			if !got[i].Equals(wantRoots[i]) {
				t.Errorf("root %d: got %s, go-car %s", i, got[i], wantRoots[i])
			}
		}
	}
	for i, w := range want {
		b, err := r.Next()
		if !isAtprotoCID(w.cid) {
			var be *BlockError
			if !errors.Is(err, ErrUnsupportedCID) || !errors.As(err, &be) {
				t.Fatalf("block %d (%s): want ErrUnsupportedCID, got %v", i, w.cid, err)
			}
			if !be.CID.Equals(w.cid) || be.Offset != w.offset {
				t.Fatalf("block %d: error names %s at %d, want %s at %d", i, be.CID, be.Offset, w.cid, w.offset)
			}
			unsupported++
			continue
		}
		if err != nil {
			t.Fatalf("block %d (%s): %v", i, w.cid, err)
		}
		if !b.CID.Equals(w.cid) || !bytes.Equal(b.Data, w.data) || b.Offset != w.offset {
			t.Fatalf("block %d: got (%s, %d bytes, offset %d), go-car (%s, %d bytes, offset %d)",
				i, b.CID, len(b.Data), b.Offset, w.cid, len(w.data), w.offset)
		}
		ok++
	}
	if _, err := r.Next(); err != io.EOF {
		t.Fatalf("after %d blocks: want io.EOF, got %v", len(want), err)
	}
	if r.BytesRead() != int64(len(data)) {
		t.Errorf("BytesRead = %d, file has %d bytes", r.BytesRead(), len(data))
	}
	return ok, unsupported
}

func TestCorpusCARsReadFullyWithProvenanceBlockCounts(t *testing.T) {
	for _, tc := range corpusCARs {
		name := tc.path[len(tc.path)-1]
		t.Run(name, func(t *testing.T) {
			data := testfixtures.Read(t, tc.path...)
			want := tc.blocks
			if want < 0 {
				_, gb := readWithGoCar(t, data)
				want = len(gb)
			}
			roots, blocks, err := ReadAll(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			r, _ := NewReader(bytes.NewReader(data))
			n := 0
			for {
				if _, err := r.Next(); err == io.EOF {
					break
				} else if err != nil {
					t.Fatal(err)
				}
				n++
			}
			if n != want {
				t.Errorf("read %d blocks, want %d", n, want)
			}
			if len(blocks) > n || len(blocks) == 0 {
				t.Errorf("ReadAll map has %d distinct blocks for %d sections", len(blocks), n)
			}
			if len(roots) != 1 {
				t.Fatalf("got %d roots, want 1 (a repo export)", len(roots))
			}
			if _, ok := blocks[roots[0]]; !ok {
				t.Errorf("root %s is not among the blocks", roots[0])
			}
		})
	}
}

func TestCARNamedByRootCIDHasThatRoot(t *testing.T) {
	const name = "bafyreieovfuizojpw3zresz7sx3nk4trm2by23pt5rxbey3jme4uo5ogiu"
	r, err := NewReader(bytes.NewReader(testfixtures.Read(t, "corpus", "indigo", "testing", "testdata", name+".car")))
	if err != nil {
		t.Fatal(err)
	}
	if roots := r.Roots(); len(roots) != 1 || roots[0].String() != name {
		t.Fatalf("roots = %v, want [%s]", roots, name)
	}
}

func TestReaderMatchesGoCarOnCorpus(t *testing.T) {
	for _, tc := range corpusCARs {
		t.Run(tc.path[len(tc.path)-1], func(t *testing.T) {
			ok, unsupported := compareWithGoCar(t, testfixtures.Read(t, tc.path...))
			if unsupported != 0 || ok == 0 {
				t.Errorf("%d blocks read, %d unsupported; want all supported", ok, unsupported)
			}
		})
	}
}

func TestReaderMatchesGoCarOnExhaustiveMSTCars(t *testing.T) {
	dir := testfixtures.Path(t, "interop", "mst-test-suite", "cars", "exhaustive")
	files, err := filepath.Glob(filepath.Join(dir, "exhaustive_*.car"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 128 {
		t.Fatalf("found %d exhaustive CARs, README says 128", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if ok, unsupported := compareWithGoCar(t, data); unsupported != 0 || ok == 0 {
				t.Errorf("%d blocks read, %d unsupported; want all supported", ok, unsupported)
			}
		})
	}
}

// fixtures.car holds every ipld/codec-fixtures variant: dag-cbor and also
// dag-json, dag-pb, CIDv0 and other hashes. The reader must return the
// atproto-kind blocks exactly as go-car does and reject each other one with
// ErrUnsupportedCID without losing its place.
func TestReaderOnCodecFixturesRejectsNonAtprotoCIDsAndContinues(t *testing.T) {
	data := testfixtures.Read(t, "interop", "dag-cbor", "fixtures.car")
	r, err := NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(r.Roots()); n != 0 {
		t.Fatalf("got %d roots, README says zero", n)
	}
	ok, unsupported := compareWithGoCar(t, data)
	if ok+unsupported != 273 {
		t.Errorf("%d + %d blocks, README says 273", ok, unsupported)
	}
	if ok == 0 || unsupported == 0 {
		t.Errorf("%d supported, %d unsupported: expected both kinds in the fixtures", ok, unsupported)
	}
	t.Logf("fixtures.car: %d atproto blocks, %d rejected as unsupported", ok, unsupported)
}

type carFileFixture struct {
	Root   string `json:"root"`
	Blocks []struct {
		CID   string `json:"cid"`
		Bytes string `json:"bytes"`
	} `json:"blocks"`
	CAR string `json:"car"`
}

func decodeB64(t *testing.T, s string) []byte {
	t.Helper()
	for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.StdEncoding, base64.RawURLEncoding, base64.URLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b
		}
	}
	t.Fatalf("cannot decode base64 %q", s)
	return nil
}

func loadCarFileFixtures(t *testing.T) []carFileFixture {
	var fx []carFileFixture
	if err := json.Unmarshal(testfixtures.Read(t, "corpus", "atproto", "packages", "repo", "tests", "car-file-fixtures.json"), &fx); err != nil {
		t.Fatal(err)
	}
	if len(fx) == 0 {
		t.Fatal("no fixtures")
	}
	return fx
}

func TestWriterMatchesReferenceImplementationBytes(t *testing.T) {
	for i, f := range loadCarFileFixtures(t) {
		root, err := cid.Decode(f.Root)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		w, err := NewWriter(&buf, []cid.Cid{root})
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range f.Blocks {
			c, err := cid.Decode(b.CID)
			if err != nil {
				t.Fatal(err)
			}
			if err := w.Put(c, decodeB64(t, b.Bytes)); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		if want := decodeB64(t, f.CAR); !bytes.Equal(buf.Bytes(), want) {
			t.Errorf("fixture %d: wrote %x\nwant %x", i, buf.Bytes(), want)
		}
	}
}

func TestReaderReadsReferenceImplementationCAR(t *testing.T) {
	for i, f := range loadCarFileFixtures(t) {
		r, err := NewReader(bytes.NewReader(decodeB64(t, f.CAR)))
		if err != nil {
			t.Fatal(err)
		}
		if roots := r.Roots(); len(roots) != 1 || roots[0].String() != f.Root {
			t.Errorf("fixture %d: roots %v, want [%s]", i, roots, f.Root)
		}
		for j, want := range f.Blocks {
			b, err := r.Next()
			if err != nil {
				t.Fatalf("fixture %d block %d: %v", i, j, err)
			}
			if b.CID.String() != want.CID || !bytes.Equal(b.Data, decodeB64(t, want.Bytes)) {
				t.Errorf("fixture %d block %d: got %s", i, j, b.CID)
			}
		}
		if _, err := r.Next(); err != io.EOF {
			t.Errorf("fixture %d: want io.EOF after the blocks, got %v", i, err)
		}
	}
}

// Re-writing a corpus CAR's roots and blocks in file order must reproduce
// the file: the header encoding and section framing are canonical.
func TestWriterReproducesCorpusFilesByteForByte(t *testing.T) {
	for _, tc := range corpusCARs {
		t.Run(tc.path[len(tc.path)-1], func(t *testing.T) {
			data := testfixtures.Read(t, tc.path...)
			r, err := NewReader(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			w, err := NewWriter(&buf, r.Roots())
			if err != nil {
				t.Fatal(err)
			}
			for _, b := range readBlocks(t, r) {
				if err := w.Put(b.CID, b.Data); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(buf.Bytes(), data) {
				t.Errorf("rewritten file differs (%d vs %d bytes)", buf.Len(), len(data))
			}
		})
	}
}
