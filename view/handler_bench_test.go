package view

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// The handler benchmarks time one request through the server's handler
// alone, without the loopback round trip the Benchmark*View* ones include
// (most of their time): what a change to view or mst makes faster or
// slower shows here.

func serveDirect(b *testing.B, h http.Handler, target string) {
	req := httptest.NewRequest(http.MethodGet, target, nil)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != http.StatusOK {
		b.Fatalf("%s: %d %s", target, w.Code, w.Body.String())
	}
}

// BenchmarkHandlerPath: /api/path, the search path of one key.
func BenchmarkHandlerPath(b *testing.B) {
	f := fixture(b)
	for b.Loop() {
		serveDirect(b, f.srv, "/api/path?key=app.bsky.graph.follow/3k00000077778")
	}
}

// BenchmarkHandlerRecord: /api/record, one body read from the file and
// hash-checked.
func BenchmarkHandlerRecord(b *testing.B) {
	f := fixture(b)
	for b.Loop() {
		serveDirect(b, f.srv, "/api/record?path=app.bsky.feed.post/3k00000050001")
	}
}

// BenchmarkHandlerRecordsPage: /api/records, 100 records from the middle
// of a collection.
func BenchmarkHandlerRecordsPage(b *testing.B) {
	f := fixture(b)
	for b.Loop() {
		serveDirect(b, f.srv, "/api/records?collection=app.bsky.feed.post&cursor=app.bsky.feed.post/3k00000050001&limit=100")
	}
}

// BenchmarkHandlerExpandNode: /api/node for nodes at every depth.
func BenchmarkHandlerExpandNode(b *testing.B) {
	f := fixture(b)
	i := 0
	for b.Loop() {
		serveDirect(b, f.srv, "/api/node?cid="+f.nodes[i%len(f.nodes)])
		i++
	}
}
