package car

import (
	"io"
	"testing"
)

// readBlocks reads every remaining block of r, in file order; any error
// but the end of the input fails the test.
func readBlocks(tb testing.TB, r *Reader) []Block {
	tb.Helper()
	var blocks []Block
	for {
		blk, err := r.Next()
		if err == io.EOF {
			return blocks
		}
		if err != nil {
			tb.Fatal(err)
		}
		blocks = append(blocks, blk)
	}
}
