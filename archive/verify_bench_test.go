package archive

import (
	"bytes"
	"os"
	"testing"

	"github.com/arbor-atproto/arbor/internal/testfixtures"
)

// benchArchive is a 100k-record repository read as verify and inspect
// read it (compact nodes, bad blocks collected).
func benchArchive(b *testing.B) *Archive {
	b.Helper()
	g := &genRepo{key: genKey(b), records: genPosts(b, 100_000)}
	data, _ := g.build(b)
	a := readGen(b, data, true)
	b.ReportAllocs()
	return a
}

func BenchmarkArchiveVerify100k(b *testing.B) {
	a := benchArchive(b)
	for b.Loop() {
		r, err := a.Verify(VerifyOptions{})
		if err != nil || !r.Valid() {
			b.Fatal(err, r.Problems)
		}
	}
}

func BenchmarkArchiveInspect100k(b *testing.B) {
	a := benchArchive(b)
	for b.Loop() {
		if _, err := a.Inspect(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReadArchive100k(b *testing.B) {
	g := &genRepo{key: genKey(b), records: genPosts(b, 100_000)}
	data, _ := g.build(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		readGen(b, data, true)
	}
}

// BenchmarkVerifySmallRepo is the fixed cost of one repository: read and
// verify golden/repos/ten.car (14 blocks) as arbor verify and each
// repository of verify --batch do.
func BenchmarkVerifySmallRepo(b *testing.B) {
	data, err := os.ReadFile(testfixtures.GoldenRepoPath(b, "ten", ".car"))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		a, err := Read(bytes.NewReader(data), Options{CollectBadBlocks: true})
		if err != nil {
			b.Fatal(err)
		}
		if r, err := a.Verify(VerifyOptions{}); err != nil || !r.Valid() {
			b.Fatal(err)
		}
	}
}
