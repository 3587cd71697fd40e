package build

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"
)

// benchLines makes n JSON lines shaped like Bluesky records: posts, likes
// and follows, with TID-like rkeys.
func benchLines(n int) []byte {
	var b strings.Builder
	for i := range n {
		rkey := string(tidForBench(i))
		switch i % 10 {
		case 0, 1, 2, 3, 4:
			fmt.Fprintf(&b, `{"collection":"app.bsky.feed.post","rkey":"%s","record":{"$type":"app.bsky.feed.post","text":"post number %d about atproto repositories and merkle search trees","createdAt":"2024-01-01T00:00:00.000Z","langs":["en"]}}`+"\n", rkey, i)
		case 5, 6, 7:
			fmt.Fprintf(&b, `{"collection":"app.bsky.feed.like","rkey":"%s","record":{"$type":"app.bsky.feed.like","subject":{"uri":"at://did:plc:ewvi7nxzyoun6zhxrhs64oiz/app.bsky.feed.post/3k%011d","cid":"bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm"},"createdAt":"2024-01-01T00:00:00.000Z"}}`+"\n", rkey, i)
		default:
			fmt.Fprintf(&b, `{"collection":"app.bsky.graph.follow","rkey":"%s","record":{"$type":"app.bsky.graph.follow","subject":"did:plc:%024d","createdAt":"2024-01-01T00:00:00.000Z"}}`+"\n", rkey, i)
		}
	}
	return []byte(b.String())
}

// tidForBench spreads rkeys like real TIDs (13 base32-sortable chars).
func tidForBench(i int) string {
	const b32 = "234567abcdefghijklmnopqrstuvwxyz"
	v := uint64(1700000000000000+uint64(i)*1371000) << 10
	var out [13]byte
	for j := 12; j >= 0; j-- {
		out[j] = b32[v&31]
		v >>= 5
	}
	return string(out[:])
}

// BenchmarkCreate100k: JSON lines to a signed CAR, 100k records (parse,
// validate, encode, hash, sort, build the MST, sign, write), the way
// arbor create does it: ReadJSONLines and CreateFromSet.
func BenchmarkCreate100k(b *testing.B) {
	lines := benchLines(100_000)
	key := testKeys(b)["k256"].key
	b.SetBytes(int64(len(lines)))
	b.ReportAllocs()
	var size int64
	for b.Loop() {
		set, err := ReadJSONLines(bytes.NewReader(lines), "bench")
		if err != nil {
			b.Fatal(err)
		}
		res, err := CreateFromSet(io.Discard, set, CreateOptions{DID: testDID, Key: key, Rev: "3ktt5626c222b"})
		if err != nil {
			b.Fatal(err)
		}
		size = res.Bytes
	}
	b.ReportMetric(float64(size), "car-bytes")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/100_000, "ns/record")
}

// BenchmarkCreateRecords100k: the same through the []Record API
// (LoadJSONLines and Create), which gives every record its own allocation.
func BenchmarkCreateRecords100k(b *testing.B) {
	lines := benchLines(100_000)
	key := testKeys(b)["k256"].key
	b.SetBytes(int64(len(lines)))
	b.ReportAllocs()
	for b.Loop() {
		recs, err := LoadJSONLines(bytes.NewReader(lines), "bench")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Create(io.Discard, recs, CreateOptions{DID: testDID, Key: key, Rev: "3ktt5626c222b"}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRewriteKey100k: re-sign a 100k-record CAR (read, verify, write).
func BenchmarkRewriteKey100k(b *testing.B) {
	recs, err := LoadJSONLines(bytes.NewReader(benchLines(100_000)), "bench")
	if err != nil {
		b.Fatal(err)
	}
	keys := testKeys(b)
	var car bytes.Buffer
	if _, err := Create(&car, recs, CreateOptions{DID: testDID, Key: keys["k256"].key, Rev: "3ktt5626c222b"}); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(car.Len()))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Rewrite(bytes.NewReader(car.Bytes()), io.Discard, RewriteOptions{Key: keys["p256"].key, Rev: "3ku22222222b2"}); err != nil {
			b.Fatal(err)
		}
	}
}
