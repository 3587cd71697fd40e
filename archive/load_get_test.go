package archive

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/arbor-atproto/arbor/car"
	"github.com/arbor-atproto/arbor/internal/testfixtures"
)

// sampleCARs lists the golden repos, the corpus CARs and the exhaustive
// mst-test-suite CARs matching exhaustive (a glob).
func sampleCARs(t *testing.T, exhaustive string) []string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join("..", "golden", "repos", "*.car"))
	more := testfixtures.Glob(t, "corpus", "*", "*", "*", "*.car")
	files = append(files, more...)
	more = testfixtures.Glob(t, "interop", "mst-test-suite", "cars", "exhaustive", exhaustive)
	files = append(files, more...)
	if len(files) < 20 {
		t.Fatalf("only %d CAR files found", len(files))
	}
	return files
}

// Get gives back every kept block's exact bytes, whatever the block order
// of the file, and the archive counts the file's distinct blocks.
func TestGetReturnsEveryBlockByteForByte(t *testing.T) {
	for _, f := range sampleCARs(t, "exhaustive_0[0-3]*.car") {
		t.Run(filepath.Base(f), func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			_, blocks, err := car.ReadAll(bytes.NewReader(raw))
			if err != nil {
				t.Fatal(err)
			}
			for _, opts := range []loadOptions{{}, {KeepBodies: true}, {CompactNodes: true}} {
				keep := opts.KeepBodies
				a, err := read(bytes.NewReader(raw), opts)
				if err != nil {
					t.Fatal(err)
				}
				if a.DistinctBlocks() != len(blocks) {
					t.Fatalf("%+v: %d distinct blocks, the file has %d", opts, a.DistinctBlocks(), len(blocks))
				}
				for c, want := range blocks {
					got, err := a.Get(c)
					if err != nil {
						if !keep && !looksLikeNode(want) && c != a.Root {
							continue // a record, not kept without KeepBodies
						}
						t.Fatalf("%+v: Get(%s): %v", opts, c, err)
					}
					if !bytes.Equal(got, want) {
						t.Fatalf("%+v: Get(%s) differs from the file's bytes", opts, c)
					}
				}
			}
		})
	}
}
