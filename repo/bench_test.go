package repo

import (
	"testing"

	"github.com/arbor-atproto/arbor/internal/testfixtures"
)

func BenchmarkDecodeCommit(b *testing.B) {
	// A real v3 commit.
	const file = "indigo/atproto/repo/testdata/bnewbold.robocracy.org.20250310005405.car"
	roots, _, blocks := testfixtures.CARBlocks(b, testfixtures.Read(b, "corpus", file))
	raw := blocks[roots[0]]
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeCommit(raw); err != nil {
			b.Fatal(err)
		}
	}
}

func benchmarkVerify(b *testing.B, typ string) {
	priv := generateKey(b, typ)
	pub, err := priv.PublicKey()
	if err != nil {
		b.Fatal(err)
	}
	c := testCommit()
	if err := c.Sign(priv); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := c.VerifySignature(pub); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifySignatureK256(b *testing.B) { benchmarkVerify(b, "k256") }
func BenchmarkVerifySignatureP256(b *testing.B) { benchmarkVerify(b, "p256") }
