// Command genrecords writes N synthetic records as JSON lines in the form
// `arbor create` reads ({"collection", "rkey", "record"}), shaped like real
// Bluesky data: half posts, three tenths likes, two tenths follows. The output
// is deterministic for a given N and seed, so benchmark runs are comparable.
//
//	go run ./bench/genrecords -n 1000000 > records.jsonl
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"time"
)

const b32 = "234567abcdefghijklmnopqrstuvwxyz"

// tid renders a TID for a microsecond timestamp and clock id.
func tid(micros uint64, clock uint64) string {
	v := (micros&(1<<53-1))<<10 | clock&0x3ff
	var out [13]byte
	for i := 12; i >= 0; i-- {
		out[i] = b32[v&31]
		v >>= 5
	}
	return string(out[:])
}

func main() {
	n := flag.Int("n", 1000000, "number of records")
	seed := flag.Uint64("seed", 1, "random seed")
	flag.Parse()
	rng := rand.New(rand.NewPCG(*seed, *seed^0x9e3779b97f4a7c15))
	w := bufio.NewWriterSize(os.Stdout, 1<<20)
	defer w.Flush()
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	start := time.Date(2023, 6, 1, 0, 0, 0, 0, time.UTC)
	words := []string{"atproto", "bluesky", "merkle", "search", "tree", "arbor", "repo", "commit", "signed", "record", "firehose", "relay", "the", "a", "of", "and", "to", "in", "is", "it"}
	type line struct {
		Collection string         `json:"collection"`
		Rkey       string         `json:"rkey"`
		Record     map[string]any `json:"record"`
	}
	for i := 0; i < *n; i++ {
		t := start.Add(time.Duration(i) * 1371 * time.Millisecond)
		created := t.Format("2006-01-02T15:04:05.000Z")
		rkey := tid(uint64(t.UnixMicro()), uint64(i%1024))
		var l line
		switch k := i % 10; {
		case k < 5:
			text := ""
			for j := 0; j < 5+rng.IntN(30); j++ {
				text += words[rng.IntN(len(words))] + " "
			}
			rec := map[string]any{"$type": "app.bsky.feed.post", "text": text, "createdAt": created, "langs": []string{"en"}}
			if i%7 == 0 {
				rec["reply"] = map[string]any{
					"root":   map[string]any{"uri": fmt.Sprintf("at://did:plc:%024d/app.bsky.feed.post/%s", rng.IntN(1e9), tid(uint64(t.UnixMicro())-1e6, 1)), "cid": "bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm"},
					"parent": map[string]any{"uri": fmt.Sprintf("at://did:plc:%024d/app.bsky.feed.post/%s", rng.IntN(1e9), tid(uint64(t.UnixMicro())-2e6, 2)), "cid": "bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm"},
				}
			}
			l = line{"app.bsky.feed.post", rkey, rec}
		case k < 8:
			l = line{"app.bsky.feed.like", rkey, map[string]any{
				"$type":     "app.bsky.feed.like",
				"createdAt": created,
				"subject": map[string]any{
					"uri": fmt.Sprintf("at://did:plc:%024d/app.bsky.feed.post/%s", rng.IntN(1e9), tid(uint64(t.UnixMicro())-3e6, 3)),
					"cid": "bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm",
				},
			}}
		default:
			l = line{"app.bsky.graph.follow", rkey, map[string]any{
				"$type":     "app.bsky.graph.follow",
				"createdAt": created,
				"subject":   fmt.Sprintf("did:plc:%024d", rng.IntN(1e9)),
			}}
		}
		if err := enc.Encode(l); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
}
