// Package testfixtures is how every test finds the reference material the
// repository carries in testdata/ at its root (interop vectors, the corpus
// of real repositories, the invalid-repository corpus), how tests that
// need something outside Go (Node, a browser) skip or fail, and the bits of
// test plumbing several packages' tests share (keys, a settable clock,
// building the binary). It imports no arbor package, so that every
// package's tests can use it.
//
// The fixtures are copies of ../shared beside the repository (see
// testdata/README.md); tests never need ../shared itself. SharedDir says
// where it is when it is there, for the test that compares the copies.
//
// Only tests import this package.
package testfixtures

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/ipfs/go-cid"
	"github.com/ipld/go-car/v2"
)

// root is the repository root, found once from the working directory.
var root = sync.OnceValues(func() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		up := filepath.Dir(dir)
		if up == dir {
			return "", os.ErrNotExist
		}
		dir = up
	}
})

// Root returns the repository root (the folder holding go.mod), searched
// upwards from the working directory; it fails the test when there is none.
func Root(tb testing.TB) string {
	tb.Helper()
	r, err := root()
	if err != nil {
		tb.Fatalf("testfixtures: no go.mod above the working directory: %v", err)
	}
	return r
}

// Dir returns the repository's testdata folder (absolute).
func Dir(tb testing.TB) string {
	tb.Helper()
	return filepath.Join(Root(tb), "testdata")
}

// MustDir is Dir for package-level variables of tests (no testing.TB
// there yet): it panics when no go.mod is above the working directory.
func MustDir() string {
	r, err := root()
	if err != nil {
		panic("testfixtures: no go.mod above the working directory: " + err.Error())
	}
	return filepath.Join(r, "testdata")
}

// Join returns the path of testdata/parts... without checking that it
// exists (for globs and for tests that look for optional files).
func Join(tb testing.TB, parts ...string) string {
	tb.Helper()
	return filepath.Join(append([]string{Dir(tb)}, parts...)...)
}

// Path returns the path of testdata/parts... and fails the test (never
// skips) when it is missing.
func Path(tb testing.TB, parts ...string) string {
	tb.Helper()
	p := Join(tb, parts...)
	if _, err := os.Stat(p); err != nil {
		tb.Fatalf("fixture missing (testdata/ at the repository root; refresh with testdata/sync.sh): %v", err)
	}
	return p
}

// Read returns the bytes of testdata/parts...; a missing or unreadable file
// fails the test.
func Read(tb testing.TB, parts ...string) []byte {
	tb.Helper()
	b, err := os.ReadFile(Path(tb, parts...))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// Cases returns the JSON list in testdata/parts... (a file of test
// vectors); a file that is missing, is not a list of T or holds none fails
// the test, so that a table cannot pass by being empty.
func Cases[T any](tb testing.TB, parts ...string) []T {
	tb.Helper()
	var cases []T
	if err := json.Unmarshal(Read(tb, parts...), &cases); err != nil {
		tb.Fatalf("%s: %v", filepath.Join(parts...), err)
	}
	if len(cases) == 0 {
		tb.Fatalf("%s: no cases", filepath.Join(parts...))
	}
	return cases
}

// Glob returns the files matching pattern under testdata (pattern parts
// are joined, then matched with filepath.Glob); no match is an empty list.
func Glob(tb testing.TB, parts ...string) []string {
	tb.Helper()
	m, err := filepath.Glob(Join(tb, parts...))
	if err != nil {
		tb.Fatalf("bad fixture pattern %q: %v", parts, err)
	}
	return m
}

// SharedDir returns ../shared beside the repository root and whether it
// holds interop/ and corpus/. Only the copy check uses it.
func SharedDir(tb testing.TB) (string, bool) {
	tb.Helper()
	d := filepath.Join(filepath.Dir(Root(tb)), "shared")
	for _, set := range []string{"interop", "corpus"} {
		if fi, err := os.Stat(filepath.Join(d, set)); err != nil || !fi.IsDir() {
			return d, false
		}
	}
	return d, true
}

// CID parses a CID written in a test; a bad one fails the test.
func CID(tb testing.TB, s string) cid.Cid {
	tb.Helper()
	c, err := cid.Decode(s)
	if err != nil {
		tb.Fatalf("bad CID %q: %v", s, err)
	}
	return c
}

// CARBlocks reads a CAR file and returns its roots and blocks in file order.
func CARBlocks(tb testing.TB, data []byte) ([]cid.Cid, []cid.Cid, map[cid.Cid][]byte) {
	tb.Helper()
	br, err := car.NewBlockReader(bytes.NewReader(data))
	if err != nil {
		tb.Fatalf("reading CAR: %v", err)
	}
	var order []cid.Cid
	blocks := map[cid.Cid][]byte{}
	for {
		blk, err := br.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			tb.Fatalf("reading CAR block %d: %v", len(order), err)
		}
		order = append(order, blk.Cid())
		blocks[blk.Cid()] = blk.RawData()
	}
	return br.Roots, order, blocks
}

// ReadCARFile reads the CAR file at path (any path, not only under
// testdata/): its roots and its blocks. A file that cannot be read or is
// not a CAR fails the test.
func ReadCARFile(tb testing.TB, path string) ([]cid.Cid, map[cid.Cid][]byte) {
	tb.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	roots, _, blocks := CARBlocks(tb, data)
	return roots, blocks
}
