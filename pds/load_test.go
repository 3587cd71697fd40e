package pds

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/atcrypto"
	"github.com/coder/websocket"

	"github.com/arbor-atproto/arbor/firehose"
)

// xrpcClient calls a server from many goroutines without the testing.T
// helpers (which must not fail a test from another goroutine).
type xrpcClient struct {
	base string
	hc   *http.Client
}

func newXRPCClient(base string, conns int) *xrpcClient {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost = conns, conns
	return &xrpcClient{base: base, hc: &http.Client{Transport: tr, Timeout: 30 * time.Second}}
}

// call sends a procedure (body non-nil) or a query (params) and decodes a
// 200 answer's JSON into a map.
func (c *xrpcClient) call(nsid, token string, body any, params url.Values) (map[string]any, error) {
	method, u := http.MethodGet, c.base+"/xrpc/"+nsid
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		method, rd = http.MethodPost, bytes.NewReader(b)
	}
	if len(params) > 0 {
		u += "?" + params.Encode()
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, err
	}
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %d %s", nsid, res.StatusCode, b)
	}
	out := map[string]any{}
	if len(b) > 0 {
		err = json.Unmarshal(b, &out)
	}
	return out, err
}

// createRecord writes one post and returns its CID. A key that is no TID
// asks for no validation, as testServer.createRecord does.
func (c *xrpcClient) createRecord(did, token, rkey, text string) (string, error) {
	body := map[string]any{"repo": did, "collection": "app.bsky.feed.post", "rkey": rkey, "record": post(text)}
	if !isTID(rkey) {
		body["validate"] = false
	}
	out, err := c.call("com.atproto.repo.createRecord", token, body, nil)
	if err != nil {
		return "", err
	}
	s, _ := out["cid"].(string)
	return s, nil
}

// records lists every post of a repository: path -> CID.
func (c *xrpcClient) records(did string) (map[string]string, error) {
	out := map[string]string{}
	cursor := ""
	for range 10000 {
		q := url.Values{"repo": {did}, "collection": {"app.bsky.feed.post"}, "limit": {"100"}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		page, err := c.call("com.atproto.repo.listRecords", "", nil, q)
		if err != nil {
			return nil, err
		}
		recs, _ := page["records"].([]any)
		for _, r := range recs {
			m := r.(map[string]any)
			u, _ := m["uri"].(string)
			out[u[len("at://"+did+"/"):]], _ = m["cid"].(string)
		}
		cursor, _ = page["cursor"].(string)
		if cursor == "" || len(recs) == 0 {
			return out, nil
		}
	}
	return nil, fmt.Errorf("listRecords of %s never ended", did)
}

// ack is one acknowledged write.
type ack struct {
	did, path, cid string
}

func TestLoadManyWritersEveryWriteSeenOnceByEveryConsumer(t *testing.T) {
	if testing.Short() {
		t.Skip("load test")
	}
	const (
		ownClients   = 50
		ownWrites    = 8
		sharedClient = 10
		sharedWrites = 20
	)
	ts := startServer(t, Config{})
	cl := newXRPCClient(ts.url, ownClients+sharedClient)
	// Accounts: one per own-repo client and the shared one.
	users := make([]*user, ownClients+1)
	var wg sync.WaitGroup
	errs := make(chan error, ownClients+sharedClient+1)
	slots := make(chan struct{}, 4) // bcrypt is CPU-bound: a few at a time
	for i := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			slots <- struct{}{}
			defer func() { <-slots }()
			name := fmt.Sprintf("load%03d", i)
			out, err := cl.call("com.atproto.server.createAccount", "", map[string]any{"handle": name + ".test", "password": "pw"}, nil)
			if err != nil {
				errs <- err
				return
			}
			users[i] = &user{did: out["did"].(string), handle: name + ".test", access: out["accessJwt"].(string)}
		}()
	}
	wg.Wait()
	select {
	case err := <-errs:
		t.Fatal(err)
	default:
	}
	shared := users[ownClients]

	// Consumers: two from the start of the stream, one live from before
	// the writes, and one joining from cursor 0 in the middle of them.
	before := ts.newestSeq()
	consumers := []*stream{openStream(t, ts.url, cursorAt(0)), openStream(t, ts.url, cursorAt(0)), openStream(t, ts.url, nil)}
	ts.waitSubscribers(len(consumers))

	var (
		mu    sync.Mutex
		acks  []ack
		count atomic.Int64
	)
	write := func(u *user, rkey string) {
		c, err := cl.createRecord(u.did, u.access, rkey, "load "+rkey)
		if err != nil {
			errs <- fmt.Errorf("%s %s: %w", u.handle, rkey, err)
			return
		}
		mu.Lock()
		acks = append(acks, ack{u.did, "app.bsky.feed.post/" + rkey, c})
		mu.Unlock()
		count.Add(1)
	}
	for i := range ownClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range ownWrites {
				write(users[i], fmt.Sprintf("own%02d", n))
			}
		}()
	}
	for i := range sharedClient {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range sharedWrites {
				write(shared, fmt.Sprintf("c%02dn%02d", i, n))
			}
		}()
	}
	for range 300 {
		if count.Load() >= (ownClients*ownWrites+sharedClient*sharedWrites)/2 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	consumers = append(consumers, openStream(t, ts.url, cursorAt(0)))
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	total := ownClients*ownWrites + sharedClient*sharedWrites
	if len(acks) != total {
		t.Fatalf("%d writes acknowledged, want %d", len(acks), total)
	}
	newest := ts.newestSeq()
	if newest != before+int64(total) {
		t.Fatalf("newest seq %d, want %d + %d writes", newest, before, total)
	}

	// No lost write: every acknowledged record is in its repository.
	byRepo := map[string]map[string]string{}
	for _, a := range acks {
		if byRepo[a.did] == nil {
			if byRepo[a.did], _ = cl.records(a.did); byRepo[a.did] == nil {
				t.Fatalf("listing %s failed", a.did)
			}
		}
		if got := byRepo[a.did][a.path]; got != a.cid {
			t.Fatalf("%s %s: acknowledged %s, repository holds %q", a.did, a.path, a.cid, got)
		}
	}
	if n := len(byRepo[shared.did]); n != sharedClient*sharedWrites {
		t.Fatalf("shared repository holds %d records, want %d", n, sharedClient*sharedWrites)
	}

	// Every consumer saw every event once; every commit builds on the one
	// before in its repository and verifies.
	for i, st := range consumers {
		evs := st.waitSeq(20*time.Second, newest)
		from := int64(1)
		if i == 2 {
			from = before + 1 // the live consumer
		}
		checkExactly(t, fmt.Sprint("consumer ", i), seqsOf(evs), from, newest)
		if i != 0 {
			continue
		}
		chain := firehose.NewChain()
		created := map[string]string{}
		keys := map[string]atcrypto.PublicKey{}
		for _, ev := range evs {
			if _, err := chain.Check(ev); err != nil {
				t.Fatalf("chain: %v", err)
			}
			c, ok := ev.(*firehose.Commit)
			if !ok {
				continue
			}
			if keys[c.Repo.String()] == nil {
				keys[c.Repo.String()] = ts.signingKey(c.Repo.String())
			}
			if _, err := firehose.VerifyCommit(c, keys[c.Repo.String()]); err != nil {
				t.Fatalf("seq %d: %v", c.Seq, err)
			}
			for _, op := range c.Ops {
				created[c.Repo.String()+" "+op.Path] = op.CID.String()
			}
		}
		for _, a := range acks {
			if created[a.did+" "+a.path] != a.cid {
				t.Fatalf("%s %s: no #commit created it with %s", a.did, a.path, a.cid)
			}
		}
	}
}

// BenchmarkFirehose measures, while 20 clients write to their own
// repositories over HTTP, the events per second delivered to 0, 1 and 100
// subscribers (raw WebSocket readers that count frames) and the write
// latency (mean and p99). Run: go test ./pds -run '^$' -bench Firehose
// -benchtime 2000x.
func BenchmarkFirehose(b *testing.B) {
	for _, subs := range []int{0, 1, 100} {
		b.Run(fmt.Sprintf("subscribers=%d", subs), func(b *testing.B) {
			benchFirehose(b, subs)
		})
	}
}

func benchFirehose(b *testing.B, subs int) {
	const writers = 20
	ts := startServer(b, Config{})
	cl := newXRPCClient(ts.url, writers)
	users := make([]*user, writers)
	for i := range users {
		users[i] = ts.createUser(fmt.Sprintf("bench%02d", i))
	}
	start := ts.newestSeq()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var delivered atomic.Int64
	var readers sync.WaitGroup
	target := start + int64(b.N)
	lastAt := make([]time.Time, subs)
	for i := range subs {
		u, _ := firehose.SubscribeURL(ts.url, nil)
		conn, _, err := websocket.Dial(ctx, u, nil)
		if err != nil {
			b.Fatal(err)
		}
		conn.SetReadLimit(firehose.MaxFrameSize)
		readers.Add(1)
		go func() {
			defer readers.Done()
			defer conn.CloseNow()
			for n := int64(0); n < int64(b.N); n++ {
				if _, _, err := conn.Read(ctx); err != nil {
					return
				}
				delivered.Add(1)
			}
			lastAt[i] = time.Now()
		}()
	}
	ts.waitSubscribers(subs)
	lat := make([]time.Duration, b.N)
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	t0 := time.Now()
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				s := time.Now()
				if _, err := cl.createRecord(users[w].did, users[w].access, fmt.Sprintf("r%09d", i), "bench"); err != nil {
					b.Error(err)
					return
				}
				lat[i] = time.Since(s)
			}
		}()
	}
	wg.Wait()
	writeTime := time.Since(t0)
	done := make(chan struct{})
	go func() { readers.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		b.Fatalf("subscribers got %d of %d events", delivered.Load(), int64(subs)*int64(b.N))
	}
	b.StopTimer()
	if got := ts.newestSeq(); got != target {
		b.Fatalf("newest seq %d, want %d", got, target)
	}
	end := t0.Add(writeTime)
	for _, t := range lastAt {
		if t.After(end) {
			end = t
		}
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	var sum time.Duration
	for _, d := range lat {
		sum += d
	}
	b.ReportMetric(float64(b.N)/writeTime.Seconds(), "writes/s")
	b.ReportMetric(float64(sum.Microseconds())/float64(b.N), "write-µs-mean")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "write-µs-p99")
	if subs > 0 {
		b.ReportMetric(float64(delivered.Load())/end.Sub(t0).Seconds(), "events/s-delivered")
	}
}
