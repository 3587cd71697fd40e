package pds

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// seqCount is how many seq rows (firehose events) the server has.
func (ts *testServer) seqCount() int {
	ts.t.Helper()
	evs, err := ts.srv.Store().Events(context.Background(), 0, 100000)
	if err != nil {
		ts.t.Fatal(err)
	}
	return len(evs)
}

// An identical putRecord, or an applyWrites whose every write leaves the
// repo as it was, is a no-op as in the reference: no commit in the answer,
// the head unchanged, no event.
func TestIdenticalWritesAreNoOps(t *testing.T) {
	ts, u := startWithAlice(t)
	rec := post("same")
	put := map[string]any{"repo": u.did, "validate": false, "collection": "app.bsky.feed.post", "rkey": "a", "record": rec}
	first := ts.ok(ts.proc("com.atproto.repo.putRecord", u.access, put))
	if first["commit"] == nil {
		t.Fatalf("first put: %v", first)
	}
	head, rev := ts.head(u)
	events := ts.seqCount()
	apply := map[string]any{"repo": u.did, "validate": false, "writes": []any{
		map[string]any{"$type": "com.atproto.repo.applyWrites#update", "collection": "app.bsky.feed.post", "rkey": "a", "value": rec},
	}}
	for _, tc := range []struct {
		name, nsid string
		body       map[string]any
	}{
		{"putRecord", "com.atproto.repo.putRecord", put},
		{"applyWrites", "com.atproto.repo.applyWrites", apply},
	} {
		out := ts.ok(ts.proc(tc.nsid, u.access, tc.body))
		if _, ok := out["commit"]; ok {
			t.Errorf("%s: identical write answered a commit: %v", tc.name, out)
		}
		if h, r := ts.head(u); h != head || r != rev {
			t.Errorf("%s: head moved from %s/%s to %s/%s", tc.name, head, rev, h, r)
		}
		if n := ts.seqCount(); n != events {
			t.Errorf("%s: %d events after an identical write, %d before", tc.name, n, events)
		}
	}
	if out := ts.ok(ts.proc("com.atproto.repo.putRecord", u.access, put)); out["cid"] != first["cid"] || out["uri"] != first["uri"] {
		t.Fatalf("no-op put answered %v, the first %v", out, first)
	}
	// A batch with one real change commits it, and only it.
	apply["writes"] = append(apply["writes"].([]any), map[string]any{"$type": "com.atproto.repo.applyWrites#create", "collection": "app.bsky.feed.post", "rkey": "b", "value": post("new")})
	out := ts.ok(ts.proc("com.atproto.repo.applyWrites", u.access, apply))
	if out["commit"] == nil || len(out["results"].([]any)) != 2 {
		t.Fatalf("mixed batch: %v", out)
	}
	evs, _ := ts.srv.Store().Events(context.Background(), 0, 100000)
	last := evs[len(evs)-1]
	if len(evs) != events+1 || len(last.Ops) != 1 || last.Ops[0].Path != "app.bsky.feed.post/b" {
		t.Fatalf("mixed batch: %d events (had %d), last ops %+v", len(evs), events, last.Ops)
	}
}

func TestHealthAnswers(t *testing.T) {
	ts := startServer(t, Config{})
	for _, p := range []string{"/xrpc/_health", "/_health"} {
		r := ts.do(http.MethodGet, p, "", nil, nil)
		if r.status != 200 || r.json(t)["version"] == nil {
			t.Errorf("%s: %s", p, r)
		}
	}
}

// standInRelay records the requestCrawl calls it gets.
type standInRelay struct {
	mu        sync.Mutex
	hostnames []string
	got       chan struct{}
}

func newStandInRelay(t *testing.T) (*standInRelay, string) {
	rl := &standInRelay{got: make(chan struct{}, 100)}
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/xrpc/com.atproto.sync.requestCrawl" || r.Method != http.MethodPost {
			http.NotFound(w, r)
			return
		}
		b, _ := io.ReadAll(r.Body)
		var in struct{ Hostname string }
		json.Unmarshal(b, &in)
		rl.mu.Lock()
		rl.hostnames = append(rl.hostnames, in.Hostname)
		rl.mu.Unlock()
		w.WriteHeader(http.StatusOK)
		rl.got <- struct{}{}
	}))
	t.Cleanup(hs.Close)
	return rl, hs.URL
}

func (rl *standInRelay) wait(t *testing.T, n int) {
	t.Helper()
	for range n {
		select {
		case <-rl.got:
		case <-time.After(10 * time.Second):
			t.Fatalf("no requestCrawl came")
		}
	}
}

func (rl *standInRelay) count() int {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	return len(rl.hostnames)
}

// --crawler: each relay is asked to crawl at start and after writes, at
// most once every 20 minutes, with the server's host as hostname.
func TestCrawlersAreAskedAtStartAndAfterWrites(t *testing.T) {
	rl1, url1 := newStandInRelay(t)
	rl2, url2 := newStandInRelay(t)
	ts := startServer(t, Config{Crawlers: []string{url1, url2}})
	rl1.wait(t, 1)
	rl2.wait(t, 1)
	u := ts.createUser("alice")
	ts.createRecord(u, "", post("one"))
	time.Sleep(100 * time.Millisecond)
	if n := rl1.count(); n != 1 {
		t.Fatalf("%d requestCrawl calls within 20 minutes", n)
	}
	ts.clock.Advance(crawlInterval + time.Second)
	ts.createRecord(u, "", post("two"))
	rl1.wait(t, 1)
	rl2.wait(t, 1)
	rl1.mu.Lock()
	defer rl1.mu.Unlock()
	want := strings.TrimPrefix(ts.url, "http://")
	for _, h := range rl1.hostnames {
		if h != want {
			t.Errorf("requestCrawl hostname %q, want %q", h, want)
		}
	}
}

func TestBadCrawlerURLIsRefused(t *testing.T) {
	if _, err := Open(Config{PublicURL: "http://localhost:1", Crawlers: []string{"ftp://x"}}); err == nil || !strings.Contains(err.Error(), "crawler") {
		t.Fatalf("Open with a bad crawler: %v", err)
	}
}
