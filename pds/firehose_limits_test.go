package pds

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// waitStats polls the sequencer's counters until cond holds (at most 10 s).
func (ts *testServer) waitStats(what string, cond func(sequencerStats) bool) sequencerStats {
	ts.t.Helper()
	for range 1000 {
		if st := ts.srv.seq.stats(); cond(st) {
			return st
		}
		time.Sleep(10 * time.Millisecond)
	}
	ts.t.Fatalf("never %s: %+v", what, ts.srv.seq.stats())
	return sequencerStats{}
}

// Over MaxSubscribers the upgrade is refused with a plain 503; a place
// freed by a consumer that goes away is taken again.
func TestSubscriberCapRefusesTheNextBeforeUpgrade(t *testing.T) {
	ts := startServer(t, Config{MaxSubscribers: 2})
	wsURL := "ws" + strings.TrimPrefix(ts.url, "http") + "/xrpc/com.atproto.sync.subscribeRepos"
	a := openStream(t, ts.url, nil)
	openStream(t, ts.url, nil)
	ts.waitStats("two connections served", func(s sequencerStats) bool { return s.Serving == 2 && s.Subscribers == 2 })

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, res, err := websocket.Dial(ctx, wsURL, nil)
	if err == nil {
		c.CloseNow()
		t.Fatal("a third subscriber was accepted over a cap of 2")
	}
	if res == nil || res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") == "" {
		t.Fatalf("third subscriber: %v (answer %v), want 503 with Retry-After", err, res)
	}
	body, _ := io.ReadAll(res.Body)
	if !strings.Contains(string(body), "TooManySubscribers") {
		t.Fatalf("third subscriber's answer %s", body)
	}
	if s := ts.srv.seq.stats(); s.Refused != 1 || s.Serving != 2 {
		t.Fatalf("stats %+v: want one refused, two served", s)
	}

	a.close()
	ts.waitStats("the closed consumer's place freed", func(s sequencerStats) bool { return s.Serving == 1 && s.Subscribers == 1 })
	c, _, err = websocket.Dial(ctx, wsURL, nil)
	if err != nil {
		t.Fatalf("after one consumer left, a new one was refused: %v", err)
	}
	ts.waitStats("the new consumer served", func(s sequencerStats) bool { return s.Serving == 2 })
	c.CloseNow()
	ts.waitStats("every place freed", func(s sequencerStats) bool { return s.Serving == 1 && s.Subscribers == 1 })
}

// A live consumer that never reads is dropped once the frames waiting for
// it reach FirehoseBufferBytes, long before FirehoseBuffer events, and
// nothing of it is kept once its connection ends.
func TestNeverReadingConsumerQueueIsBoundedInBytes(t *testing.T) {
	const maxBytes = 16 << 10
	ts := startServer(t, Config{FirehoseBuffer: 100000, FirehoseBufferBytes: maxBytes})
	u := ts.createUser("alice")
	stuck := &blockingSink{release: make(chan struct{})}
	served := make(chan struct{})
	go func() {
		defer close(served)
		ts.srv.seq.serve(context.Background(), stuck, nil)
	}()
	ts.waitSubscribers(1)
	writes := 0
	for ; writes < 300 && ts.srv.seq.stats().TooSlow == 0; writes++ {
		ts.createRecord(u, fmt.Sprint("k", writes), post(strings.Repeat("y", 300)) /* the longest text a post may have */)
		if writes%10 == 9 {
			time.Sleep(20 * time.Millisecond) // let the pump hand them out
		}
	}
	st := ts.waitStats("the stuck consumer dropped", func(s sequencerStats) bool { return s.TooSlow == 1 })
	if st.PeakQueuedBytes > maxBytes || st.PeakQueued >= 100000 || st.PeakQueued == 0 {
		t.Fatalf("stats %+v: the stuck consumer's queue went past %d bytes", st, maxBytes)
	}
	if writes >= 300 {
		t.Fatalf("a stuck consumer with a %d-byte queue still registered after %d writes", maxBytes, writes)
	}
	close(stuck.release)
	select {
	case <-served:
	case <-time.After(10 * time.Second):
		t.Fatal("the stuck consumer's connection was not ended")
	}
	if s := ts.srv.seq.stats(); s.Subscribers != 0 {
		t.Fatalf("stats %+v: a registration outlived its connection", s)
	}
}

// A consumer replaying from cursor 0 holds one page of rows at a time,
// bounded in bytes, however little it reads; small pages still replay
// every event once, in order.
func TestReplayHoldsOnePageBoundedInBytes(t *testing.T) {
	ts, u := startWithAlice(t)
	for i := range 60 {
		ts.createRecord(u, fmt.Sprint("k", i), post(strings.Repeat("z", 300)))
	}
	const pageBytes = 4 << 10
	ts.srv.seq.replayBytes = pageBytes
	evs, err := ts.srv.Store().Events(context.Background(), 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	largest, total := 0, 0
	for _, ev := range evs {
		largest, total = max(largest, len(ev.CAR)), total+len(ev.CAR)
	}
	if total < 4*pageBytes {
		t.Fatalf("only %d bytes of events: the test needs several pages", total)
	}
	sink := &blockingSink{release: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan struct{})
	go func() {
		defer close(served)
		ts.srv.seq.serve(ctx, sink, cursorAt(0))
	}()
	// Stuck on its first frame: one page read.
	st := ts.waitStats("a replay page read", func(s sequencerStats) bool { return s.PeakReplayBytes > 0 })
	if st.PeakReplayBytes >= pageBytes+largest {
		t.Fatalf("a stuck replay holds %d bytes of rows, want under %d + one row (%d)", st.PeakReplayBytes, pageBytes, largest)
	}
	close(sink.release)
	newest := ts.newestSeq()
	for range 1000 {
		if lastSeq(sink.decoded(t)) >= newest {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-served
	checkExactly(t, "paged replay", seqsOf(sink.decoded(t)), 1, newest)
	if st := ts.srv.seq.stats(); st.PeakReplayBytes >= pageBytes+largest {
		t.Fatalf("replay pages reached %d bytes, want under %d + one row (%d)", st.PeakReplayBytes, pageBytes, largest)
	}
}
