package repo

import (
	"bytes"
	"errors"
	"testing"

	"github.com/arbor-atproto/arbor/internal/testfixtures"
)

// FuzzDecodeCommit: DecodeCommit never panics, every error wraps
// ErrNotACommit, and accepted input re-encodes to exactly itself.
func FuzzDecodeCommit(f *testing.F) {
	for _, cc := range corpusCommits {
		roots, _, blocks := testfixtures.CARBlocks(f, testfixtures.Read(f, "corpus", cc.file))
		f.Add(blocks[roots[0]])
	}
	f.Add(mapOf(v3Fields()...))
	f.Add(mapOf(v2Fields()...))
	f.Add(mapOf(with(v2Fields(), "rev", str("3jzfcijpj2z2a"))...))
	f.Add([]byte{0xa0})
	f.Add([]byte{})
	key := otherKey(f, "k256")
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := DecodeCommit(b)
		if err != nil {
			if !errors.Is(err, ErrNotACommit) {
				t.Fatalf("error %v does not wrap ErrNotACommit", err)
			}
			return
		}
		out, err := c.Bytes()
		if err != nil {
			t.Fatalf("accepted commit does not encode: %v", err)
		}
		if !bytes.Equal(out, b) {
			t.Fatalf("round trip changed the bytes\n in %x\nout %x", b, out)
		}
		if _, err := c.CID(); err != nil {
			t.Fatal(err)
		}
		_ = c.VerifySignature(key) // must not panic
	})
}
