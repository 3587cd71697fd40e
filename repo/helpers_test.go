package repo

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ipfs/go-cid"
	car "github.com/ipld/go-car/v2"

	"github.com/arbor-atproto/arbor/internal/testfixtures"
)

// sharedDir is where the interop vectors and corpus live: testdata/ at the
// repository root (copies of ../shared).
var sharedDir = testfixtures.MustDir()

// readShared reads a shared reference file; a missing file fails the test.
func readShared(tb testing.TB, parts ...string) []byte {
	tb.Helper()
	p := filepath.Join(append([]string{sharedDir}, parts...)...)
	b, err := os.ReadFile(p)
	if err != nil {
		tb.Fatalf("shared reference file missing or unreadable: %v", err)
	}
	return b
}

// syntaxLines returns the values of an interop syntax file: one per line,
// '#' comments and blank lines skipped, only the line terminator removed.
func syntaxLines(tb testing.TB, name string) []string {
	tb.Helper()
	var out []string
	for _, l := range strings.Split(string(readShared(tb, "interop", "syntax", name)), "\n") {
		l = strings.TrimSuffix(l, "\r")
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		out = append(out, l)
	}
	if len(out) == 0 {
		tb.Fatalf("%s: no values", name)
	}
	return out
}

// carBlocks reads a CAR file and returns its roots and blocks in file order.
func carBlocks(tb testing.TB, data []byte) ([]cid.Cid, []cid.Cid, map[cid.Cid][]byte) {
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
