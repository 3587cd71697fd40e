package archive

import (
	"bytes"
	"os"
	"testing"

	"github.com/arbor-atproto/arbor/internal/testfixtures"
	"github.com/arbor-atproto/arbor/lexicon"
)

// benchArchive is a 100k-record repository read as verify and inspect
// read it (compact nodes, bad blocks collected).
func benchArchive(b *testing.B) *Archive {
	b.Helper()
	g := &genRepo{key: testfixtures.NewKey(b, false), records: genPosts(b, 100_000)}
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
	g := &genRepo{key: testfixtures.NewKey(b, false), records: genPosts(b, 100_000)}
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

// BenchmarkReadVerify100k and BenchmarkReadVerifyLexicon100k are arbor
// verify and arbor verify --lexicon on a 100k-post repository, reading
// included (the lexicon check runs as the blocks stream): the ratio of
// the two is what docs/performance.md bounds. The catalog is loaded once,
// outside the loop (arbor loads it once per run).
func BenchmarkReadVerify100k(b *testing.B) {
	benchReadVerify(b, nil)
}

func BenchmarkReadVerifyLexicon100k(b *testing.B) {
	cat, err := lexicon.Load()
	if err != nil {
		b.Fatal(err)
	}
	benchReadVerify(b, cat)
}

func benchReadVerify(b *testing.B, cat *lexicon.Catalog) {
	g := &genRepo{key: testfixtures.NewKey(b, false), records: genPosts(b, 100_000)}
	data, _ := g.build(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		opts := Options{CollectBadBlocks: true}
		if cat != nil {
			opts.Lexicon = lexicon.NewRepoCheck(cat)
		}
		a, err := Read(bytes.NewReader(data), opts)
		if err != nil {
			b.Fatal(err)
		}
		r, err := a.Verify(VerifyOptions{})
		if err != nil || !r.Valid() {
			b.Fatal(err, r.Problems)
		}
		if cat != nil && (r.Lexicon == nil || r.Lexicon.Valid != 100_000) {
			b.Fatalf("lexicon %+v", r.Lexicon)
		}
	}
}
