package repo

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

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
