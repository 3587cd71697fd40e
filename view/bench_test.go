package view

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/arbor-atproto/arbor/archive"

	"github.com/ipfs/go-cid"

	"github.com/arbor-atproto/arbor/car"
	"github.com/arbor-atproto/arbor/dagcbor"
	"github.com/arbor-atproto/arbor/mst"
)

// benchRecords is the size of the generated repository:
// ARBOR_VIEW_BENCH_RECORDS, 100,000 by default.
func benchRecords(b *testing.B) int {
	if s := os.Getenv("ARBOR_VIEW_BENCH_RECORDS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			b.Fatalf("ARBOR_VIEW_BENCH_RECORDS=%q", s)
		}
		return n
	}
	return 100_000
}

// benchCAR builds a bare-tree CAR of n post-like records in four
// collections (mst.BuildTree + car.Writer).
func benchCAR(b *testing.B, n int) []byte {
	b.Helper()
	colls := []string{"app.bsky.feed.like", "app.bsky.feed.post", "app.bsky.graph.follow", "app.bsky.graph.list"}
	type rec struct {
		key  string
		c    cid.Cid
		body []byte
	}
	recs := make([]rec, 0, n)
	for ci, coll := range colls {
		for i := ci; i < n; i += len(colls) {
			body, err := dagcbor.Encode(map[string]any{
				"$type":     coll,
				"text":      fmt.Sprintf("record %d of the benchmark repository", i),
				"createdAt": "2024-01-01T00:00:00.000Z",
			})
			if err != nil {
				b.Fatal(err)
			}
			recs = append(recs, rec{fmt.Sprintf("%s/3k%011d", coll, i), dagcbor.SumCID(cid.DagCBOR, body), body})
		}
	}
	leaves := make([]mst.Leaf, len(recs))
	for i, r := range recs {
		leaves[i] = mst.Leaf{Key: []byte(r.key), Value: r.c}
	}
	t, err := mst.BuildTree(leaves)
	if err != nil {
		b.Fatal(err)
	}
	root, err := t.RootCID()
	if err != nil {
		b.Fatal(err)
	}
	var buf bytes.Buffer
	w, err := car.NewWriter(&buf, []cid.Cid{root})
	if err != nil {
		b.Fatal(err)
	}
	if err := t.WriteBlocks(w.Put); err != nil {
		b.Fatal(err)
	}
	for _, r := range recs {
		if err := w.Put(r.c, r.body); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

type benchFixture struct {
	car  []byte
	path string // the CAR written to a file, read Lazy as arbor view does
	a    *archive.Lazy
	srv  *Server
	http *httptest.Server
	// nodes are CIDs of nodes at every depth, to expand.
	nodes []string
}

// fixture builds the repository, writes it to a file, reads it and starts
// a server; it logs the start-up time and the heap the archive and server
// keep.
func fixture(b *testing.B) *benchFixture {
	b.Helper()
	f := &benchFixture{car: benchCAR(b, benchRecords(b))}
	f.path = filepath.Join(b.TempDir(), "bench.car")
	if err := os.WriteFile(f.path, f.car, 0o644); err != nil {
		b.Fatal(err)
	}
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	a := readLazy(b, f.path)
	read := time.Since(start)
	srv, err := NewServer([]Input{{Name: "bench.car", Archive: a}}, Options{})
	if err != nil {
		b.Fatal(err)
	}
	ready := time.Since(start)
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	b.Logf("%d records, CAR %d bytes: read %v, server ready %v after start; heap kept %d bytes",
		benchRecords(b), len(f.car), read, ready, int64(after.HeapAlloc)-int64(before.HeapAlloc))
	f.a, f.srv, f.http = a, srv, httptest.NewServer(srv)
	b.Cleanup(f.http.Close)
	// Nodes down a few paths, at every depth.
	tree := NewBrowser(a, a.Data)
	var rec func(c cid.Cid, depth int)
	rec = func(c cid.Cid, depth int) {
		n, err := tree.Node(c)
		if err != nil {
			b.Fatal(err)
		}
		f.nodes = append(f.nodes, c.String())
		if depth < 3 && len(n.Entries) > 0 && n.Entries[len(n.Entries)/2].Right.Defined() {
			rec(n.Entries[len(n.Entries)/2].Right, depth+1)
		}
		if n.Left.Defined() {
			rec(n.Left, depth+1)
		}
	}
	rec(a.Data, 0)
	return f
}

func fetch(b *testing.B, url string) {
	resp, err := http.Get(url)
	if err != nil {
		b.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		b.Fatalf("%s: %d", url, resp.StatusCode)
	}
}

// BenchmarkViewStartup: reading the CAR and preparing the server (what
// happens before the URL is printed).
func BenchmarkViewStartup(b *testing.B) {
	f := fixture(b)
	b.SetBytes(int64(len(f.car)))
	b.ResetTimer()
	for b.Loop() {
		fh, err := os.Open(f.path)
		if err != nil {
			b.Fatal(err)
		}
		a, err := archive.ReadLazy(fh, archive.Options{})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := NewServer([]Input{{Name: "bench.car", Archive: a}}, Options{}); err != nil {
			b.Fatal(err)
		}
		fh.Close()
	}
}

// BenchmarkViewFirstPage: every request the page makes before it is ready
// (HTML, script, style, commit, collections, root node).
func BenchmarkViewFirstPage(b *testing.B) {
	f := fixture(b)
	u := f.http.URL
	for b.Loop() {
		for _, p := range []string{"/", "/app.js", "/style.css", "/api/commit", "/api/collections", "/api/node"} {
			fetch(b, u+p)
		}
	}
}

// BenchmarkViewExpandNode: one /api/node request, for nodes at every depth.
func BenchmarkViewExpandNode(b *testing.B) {
	f := fixture(b)
	i := 0
	for b.Loop() {
		fetch(b, f.http.URL+"/api/node?cid="+f.nodes[i%len(f.nodes)])
		i++
	}
}

// BenchmarkViewRecordsPage: one page of 100 records from the middle of a
// collection.
func BenchmarkViewRecordsPage(b *testing.B) {
	f := fixture(b)
	for b.Loop() {
		fetch(b, f.http.URL+"/api/records?collection=app.bsky.feed.post&cursor=app.bsky.feed.post/3k00000050001&limit=100")
	}
}

// BenchmarkViewRecord: one record, its body read from the file and
// hash-checked.
func BenchmarkViewRecord(b *testing.B) {
	f := fixture(b)
	for b.Loop() {
		fetch(b, f.http.URL+"/api/record?path=app.bsky.feed.post/3k00000050001")
	}
}

// BenchmarkViewPath: the search path of one key.
func BenchmarkViewPath(b *testing.B) {
	f := fixture(b)
	for b.Loop() {
		fetch(b, f.http.URL+"/api/path?key=app.bsky.graph.follow/3k00000077778")
	}
}
