package pds

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/arbor-atproto/arbor/car"
	"github.com/arbor-atproto/arbor/firehose"
	"github.com/arbor-atproto/arbor/repo"
)

// stream is a firehose consumer (firehose.Subscribe) running in a test.
type stream struct {
	t      testing.TB
	mu     sync.Mutex
	evs    []firehose.Event
	notify chan struct{}
	done   chan struct{}
	err    error
	cancel context.CancelFunc
}

// openStream subscribes to the server at url from cursor (nil: live only).
func openStream(t testing.TB, url string, cursor *int64) *stream {
	ctx, cancel := context.WithCancel(context.Background())
	s := &stream{t: t, notify: make(chan struct{}, 1), done: make(chan struct{}), cancel: cancel}
	go func() {
		defer close(s.done)
		err := firehose.Subscribe(ctx, url, cursor, func(ev firehose.Event) error {
			s.mu.Lock()
			s.evs = append(s.evs, ev)
			s.mu.Unlock()
			select {
			case s.notify <- struct{}{}:
			default:
			}
			return nil
		})
		s.mu.Lock()
		s.err = err
		s.mu.Unlock()
		select {
		case s.notify <- struct{}{}:
		default:
		}
	}()
	t.Cleanup(s.close)
	return s
}

func (s *stream) close() {
	s.cancel()
	<-s.done
}

func (s *stream) events() []firehose.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]firehose.Event(nil), s.evs...)
}

// waitFor waits until cond holds for the events received so far (or the
// stream ends), failing the test after timeout.
func (s *stream) waitFor(timeout time.Duration, what string, cond func([]firehose.Event) bool) []firehose.Event {
	s.t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		evs := s.events()
		if cond(evs) {
			return evs
		}
		select {
		case <-s.notify:
		case <-s.done:
			if evs := s.events(); cond(evs) {
				return evs
			}
			s.t.Fatalf("stream ended (%v) before %s; %d events", s.err, what, len(s.events()))
		case <-deadline.C:
			s.t.Fatalf("timed out waiting for %s; %d events, last seq %d", what, len(evs), lastSeq(evs))
		}
	}
}

// waitSeq waits for an event with seq at least seq.
func (s *stream) waitSeq(timeout time.Duration, seq int64) []firehose.Event {
	s.t.Helper()
	return s.waitFor(timeout, fmt.Sprintf("seq %d", seq), func(evs []firehose.Event) bool { return lastSeq(evs) >= seq })
}

// ended waits for the stream to end and returns Subscribe's error.
func (s *stream) ended(timeout time.Duration) error {
	s.t.Helper()
	select {
	case <-s.done:
	case <-time.After(timeout):
		s.t.Fatalf("stream still open after %v", timeout)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

func lastSeq(evs []firehose.Event) int64 {
	for i := len(evs) - 1; i >= 0; i-- {
		if n, ok := evs[i].Sequence(); ok {
			return n
		}
	}
	return 0
}

func seqsOf(evs []firehose.Event) []int64 {
	var out []int64
	for _, ev := range evs {
		if n, ok := ev.Sequence(); ok {
			out = append(out, n)
		}
	}
	return out
}

// checkExactly fails unless seqs is exactly from, from+1, ..., to.
func checkExactly(t testing.TB, who string, seqs []int64, from, to int64) {
	t.Helper()
	if int64(len(seqs)) != to-from+1 {
		t.Fatalf("%s: %d events, want %d (seq %d to %d); got %v", who, len(seqs), to-from+1, from, to, abbrev(seqs))
	}
	for i, n := range seqs {
		if n != from+int64(i) {
			t.Fatalf("%s: event %d has seq %d, want %d (a gap or a duplicate)", who, i, n, from+int64(i))
		}
	}
}

func abbrev(s []int64) []int64 {
	if len(s) > 20 {
		return append(append([]int64(nil), s[:10]...), s[len(s)-10:]...)
	}
	return s
}

func cursorAt(n int64) *int64 { return &n }

// newestSeq is the newest seq row of the server's store.
func (ts *testServer) newestSeq() int64 {
	ts.t.Helper()
	_, newest, err := ts.srv.seq.log.EventBounds(context.Background())
	if err != nil {
		ts.t.Fatal(err)
	}
	return newest
}

// waitSubscribers waits until exactly n subscribers are registered.
func (ts *testServer) waitSubscribers(n int) {
	ts.t.Helper()
	for i := 0; i < 500; i++ {
		if ts.srv.seq.stats().Subscribers == n {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	ts.t.Fatalf("%d subscribers never registered (have %d)", n, ts.srv.seq.stats().Subscribers)
}

// wantOp is an expected #commit operation.
type wantOp struct {
	action, path string
	cid, prev    string // "" for none
}

func TestSubscribeReposCommitsCarryVerifiableSyncV11Events(t *testing.T) {
	ts := startServer(t, Config{})
	st := openStream(t, ts.url, cursorAt(0))
	u := ts.createUser("alice")
	key := ts.signingKey(u.did)
	cur := map[string]string{} // path -> record CID
	col := "app.bsky.feed.post"
	type step struct {
		name  string
		write func() // the write; it updates cur
		want  func() []wantOp
	}
	create := func(rkey string) step {
		p := col + "/" + rkey
		return step{"create " + rkey, func() {
			cur[p] = ts.createRecord(u, rkey, post("hello "+rkey))["cid"].(string)
		}, func() []wantOp { return []wantOp{{"create", p, cur[p], ""}} }}
	}
	var prev string
	steps := []step{
		create("k1"),
		create("k2"),
		create("k3"),
		{"update by putRecord", func() {
			prev = cur[col+"/k1"]
			cur[col+"/k1"] = ts.ok(ts.proc("com.atproto.repo.putRecord", u.access, map[string]any{"repo": u.did, "validate": false, "collection": col, "rkey": "k1", "record": post("changed")}))["cid"].(string)
		}, func() []wantOp { return []wantOp{{"update", col + "/k1", cur[col+"/k1"], prev}} }},
		{"delete", func() {
			prev = cur[col+"/k2"]
			ts.ok(ts.proc("com.atproto.repo.deleteRecord", u.access, map[string]any{"repo": u.did, "collection": col, "rkey": "k2"}))
			delete(cur, col+"/k2")
		}, func() []wantOp { return []wantOp{{"delete", col + "/k2", "", prev}} }},
		{"applyWrites create, update and delete in one commit", func() {
			prev = cur[col+"/k1"] + " " + cur[col+"/k3"]
			out := ts.ok(ts.proc("com.atproto.repo.applyWrites", u.access, map[string]any{"repo": u.did, "validate": false, "writes": []any{
				map[string]any{"$type": "com.atproto.repo.applyWrites#create", "collection": col, "rkey": "k4", "value": post("four")},
				map[string]any{"$type": "com.atproto.repo.applyWrites#update", "collection": col, "rkey": "k1", "value": post("again")},
				map[string]any{"$type": "com.atproto.repo.applyWrites#delete", "collection": col, "rkey": "k3"},
			}}))
			res := out["results"].([]any)
			cur[col+"/k4"] = res[0].(map[string]any)["cid"].(string)
			cur[col+"/k1"] = res[1].(map[string]any)["cid"].(string)
			delete(cur, col+"/k3")
		}, func() []wantOp {
			old := strings.Fields(prev)
			return []wantOp{{"update", col + "/k1", cur[col+"/k1"], old[0]}, {"delete", col + "/k3", "", old[1]}, {"create", col + "/k4", cur[col+"/k4"], ""}}
		}},
	}
	chain := firehose.NewChain()
	// Account creation: #identity, #account, then the empty first commit.
	evs := st.waitSeq(5*time.Second, ts.newestSeq())
	if len(evs) != 3 {
		t.Fatalf("account creation: %d events, want 3", len(evs))
	}
	first, ok := evs[2].(*firehose.Commit)
	if !ok || first.Repo.String() != u.did || first.Since != nil || first.PrevData.Defined() || len(first.Ops) != 0 {
		t.Fatalf("first commit event: %#v", evs[2])
	}
	if v, err := firehose.VerifyCommit(first, key); err != nil {
		t.Fatalf("first commit: %v (%+v)", err, v)
	}
	for _, ev := range evs {
		if _, err := chain.Check(ev); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			s.write()
			_, rev := ts.head(u)
			evs := st.waitSeq(5*time.Second, ts.newestSeq())
			ev, ok := evs[len(evs)-1].(*firehose.Commit)
			if !ok {
				t.Fatalf("last event is %T, want a #commit", evs[len(evs)-1])
			}
			if ev.Repo.String() != u.did || ev.Rev.String() != rev || ev.Since == nil || !ev.PrevData.Defined() || ev.TooBig || ev.Rebase {
				t.Fatalf("commit event fields: repo %s rev %s since %v prevData %s", ev.Repo, ev.Rev, ev.Since, ev.PrevData)
			}
			var got []wantOp
			for _, o := range ev.Ops {
				w := wantOp{action: string(o.Action), path: o.Path}
				if o.CID.Defined() {
					w.cid = o.CID.String()
				}
				if o.Prev.Defined() {
					w.prev = o.Prev.String()
				}
				got = append(got, w)
			}
			want := s.want()
			sort.Slice(want, func(i, j int) bool { return want[i].path < want[j].path })
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("ops\n got %v\nwant %v", got, want)
			}
			v, err := firehose.VerifyCommit(ev, key)
			if err != nil {
				t.Fatalf("VerifyCommit: %v", err)
			}
			for _, sk := range v.Skipped {
				t.Errorf("check %s skipped: %s", sk.Check, sk.Reason)
			}
			if !slices.Contains(v.Passed, firehose.CheckInversion) || !slices.Contains(v.Passed, firehose.CheckSignature) {
				t.Fatalf("checks passed: %v", v.Passed)
			}
			if _, err := chain.Check(ev); err != nil {
				t.Fatalf("chain: %v", err)
			}
			// The frame the server sent decodes to the same bytes again
			// (canonical encoding), and its CAR has the commit as only root.
			roots, _, err := car.ReadAll(bytes.NewReader(ev.Blocks))
			if err != nil || len(roots) != 1 || roots[0] != ev.Commit {
				t.Fatalf("blocks CAR roots %v: %v", roots, err)
			}
		})
	}
	// Signed with another key, nothing verifies: the check can fail.
	other := ts.createUser("bobby")
	evs = st.waitSeq(5*time.Second, ts.newestSeq())
	last := evs[len(evs)-1].(*firehose.Commit)
	if last.Repo.String() != other.did {
		t.Fatalf("last event for %s, want %s", last.Repo, other.did)
	}
	if _, err := firehose.VerifyCommit(last, key); !errors.Is(err, repo.ErrBadSignature) {
		t.Fatalf("bob's commit checked with alice's key: %v", err)
	}
}

func TestSubscribeReposSendsIdentityAccountAndSyncEvents(t *testing.T) {
	ts := startServer(t, Config{})
	st := openStream(t, ts.url, cursorAt(0))
	u := ts.createUser("alice")
	evs := st.waitSeq(5*time.Second, ts.newestSeq())
	id, ok1 := evs[0].(*firehose.Identity)
	acct, ok2 := evs[1].(*firehose.Account)
	if !ok1 || !ok2 || id.DID.String() != u.did || id.Handle != "alice.test" || acct.DID.String() != u.did || !acct.Active {
		t.Fatalf("account creation events: %#v %#v", evs[0], evs[1])
	}

	ts.ok(ts.proc("com.atproto.identity.updateHandle", u.access, map[string]any{"handle": "alice2.test"}))
	evs = st.waitSeq(5*time.Second, ts.newestSeq())
	if id, ok := evs[len(evs)-1].(*firehose.Identity); !ok || id.DID.String() != u.did || id.Handle != "alice2.test" {
		t.Fatalf("handle change event: %#v", evs[len(evs)-1])
	}

	ts.createRecord(u, "before", post("replaced by the import"))
	imp := buildRepoCAR(t, u.did, []string{"app.bsky.feed.post/a", "app.bsky.feed.post/b"}, carOpts{})
	ts.ok(ts.do(http.MethodPost, "/xrpc/com.atproto.repo.importRepo", u.access, imp, map[string]string{"Content-Type": carContentType}))
	head, rev := ts.head(u)
	evs = st.waitSeq(5*time.Second, ts.newestSeq())
	sy, ok := evs[len(evs)-1].(*firehose.Sync)
	if !ok || sy.DID.String() != u.did || sy.Rev.String() != rev {
		t.Fatalf("import event: %#v, want #sync at rev %s", evs[len(evs)-1], rev)
	}
	v, err := firehose.VerifySync(sy, ts.signingKey(u.did))
	if err != nil || v.Commit == nil {
		t.Fatalf("VerifySync: %v", err)
	}
	if c, _ := v.Commit.CID(); c.String() != head {
		t.Fatalf("#sync commit %s, head %s", c, head)
	}
	// A commit after the import chains on it.
	ts.createRecord(u, "after", post("after the import"))
	evs = st.waitSeq(5*time.Second, ts.newestSeq())
	checkChain(t, evs, nil)
	if c := evs[len(evs)-1].(*firehose.Commit); *c.Since != rev {
		t.Fatalf("commit after import: since %s, want %s", *c.Since, rev)
	}
}

func TestSubscribeReposCursors(t *testing.T) {
	ts := startServer(t, Config{FirehoseWindow: time.Hour})
	u := ts.createUser("alice")
	for i := range 5 {
		ts.createRecord(u, fmt.Sprint("old", i), post("old"))
	}
	ts.clock.Advance(2 * time.Hour)
	u.access = ts.ok(ts.proc("com.atproto.server.createSession", "", map[string]any{"identifier": u.handle, "password": u.password}))["accessJwt"].(string)
	for i := range 5 {
		ts.createRecord(u, fmt.Sprint("new", i), post("new"))
	}
	ts.srv.seq.trim()
	oldest, _, err := ts.srv.seq.log.EventBounds(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if oldest <= 2 {
		t.Fatalf("trim kept the old events (oldest seq %d)", oldest)
	}
	cases := []struct {
		name     string
		cursor   func(newest int64) *int64
		outdated bool
		from     func(newest int64) int64 // first seq expected
		err      error
	}{
		{"no cursor: only events after connecting", func(int64) *int64 { return nil }, false, func(n int64) int64 { return n + 1 }, nil},
		{"cursor before the window: OutdatedCursor then the oldest kept", func(int64) *int64 { return cursorAt(0) }, true, func(int64) int64 { return oldest }, nil},
		{"cursor just before the oldest kept: no info", func(int64) *int64 { return cursorAt(oldest - 1) }, false, func(int64) int64 { return oldest }, nil},
		{"cursor in the window: the events after it", func(n int64) *int64 { return cursorAt(n - 2) }, false, func(n int64) int64 { return n - 1 }, nil},
		{"cursor at the newest: the next write", func(n int64) *int64 { return cursorAt(n) }, false, func(n int64) int64 { return n + 1 }, nil},
		{"cursor in the future: FutureCursor", func(n int64) *int64 { return cursorAt(n + 1) }, false, nil, firehose.ErrFutureCursor},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ts.waitSubscribers(0) // the previous case's consumer has gone
			newest := ts.newestSeq()
			st := openStream(t, ts.url, c.cursor(newest))
			if c.err != nil {
				if err := st.ended(5 * time.Second); !errors.Is(err, c.err) {
					t.Fatalf("stream ended with %v, want %v", err, c.err)
				}
				if len(st.events()) != 0 {
					t.Fatalf("events before the error frame: %d", len(st.events()))
				}
				return
			}
			ts.waitSubscribers(1)
			ts.createRecord(u, fmt.Sprint("case", i), post("live"))
			evs := st.waitSeq(5*time.Second, newest+1)
			if info, ok := evs[0].(*firehose.Info); ok != c.outdated || ok && !info.OutdatedCursor() {
				t.Fatalf("first frame %#v, outdated info wanted: %v", evs[0], c.outdated)
			}
			checkExactly(t, "stream", seqsOf(evs), c.from(newest), newest+1)
		})
	}
	// A cursor that is not a number is refused before the upgrade.
	if r := ts.query("com.atproto.sync.subscribeRepos", "", "cursor", "-1"); r.status != http.StatusBadRequest || r.errName() != "InvalidRequest" {
		t.Fatalf("cursor -1: %s", r)
	}
}

func TestSubscribeReposReplaysFromTheStoreAfterARestart(t *testing.T) {
	dir := t.TempDir()
	ts := startServer(t, Config{DataDir: dir})
	u := ts.createUser("alice")
	for i := range 10 {
		ts.createRecord(u, fmt.Sprint("k", i), post("before"))
	}
	before := ts.newestSeq()
	ts.stop()
	ts2 := startServer(t, Config{DataDir: dir})
	if got := ts2.srv.seq.stats().Last; got != before {
		t.Fatalf("sequencer starts at %d after restart, want %d", got, before)
	}
	st := openStream(t, ts2.url, cursorAt(0))
	st.waitSeq(5*time.Second, before)
	// The session is still valid: the JWT secret persisted.
	ts2.createRecord(u, "after", post("after"))
	evs := st.waitSeq(5*time.Second, before+1)
	checkExactly(t, "replay after restart", seqsOf(evs), 1, before+1)
	key := ts2.signingKey(u.did)
	checkChain(t, evs, key)
}

func TestSubscribeReposReplayThenLiveHasNoGapNorDuplicate(t *testing.T) {
	ts, u := startWithAlice(t)
	for i := range 60 {
		ts.createRecord(u, fmt.Sprint("pre", i), post("before any consumer"))
	}
	const writes = 120
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range writes {
			body := map[string]any{"repo": u.did, "validate": false, "collection": "app.bsky.feed.post", "rkey": fmt.Sprint("live", i), "record": post("while consumers join")}
			if r := ts.proc("com.atproto.repo.createRecord", u.access, body); r.status != 200 {
				t.Errorf("write %d: %s", i, r)
				return
			}
		}
	}()
	// Consumers join at different moments of the stream of writes, all
	// from cursor 0: each must replay then follow live without a seam.
	var streams []*stream
	for range 4 {
		streams = append(streams, openStream(t, ts.url, cursorAt(0)))
		time.Sleep(40 * time.Millisecond)
	}
	<-done
	newest := ts.newestSeq()
	for i, st := range streams {
		evs := st.waitSeq(10*time.Second, newest)
		checkExactly(t, fmt.Sprint("consumer ", i), seqsOf(evs), 1, newest)
	}
}

// blockingSink is a wsSink whose writes wait until released.
type blockingSink struct {
	mu      sync.Mutex
	release chan struct{}
	frames  [][]byte
	closed  bool
	delay   time.Duration // per write, once released
}

func (b *blockingSink) Write(ctx context.Context, _ websocket.MessageType, p []byte) error {
	select {
	case <-b.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	if b.delay > 0 {
		time.Sleep(b.delay)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.frames = append(b.frames, append([]byte(nil), p...))
	return nil
}

func (b *blockingSink) Close(websocket.StatusCode, string) error { return b.CloseNow() }
func (b *blockingSink) CloseNow() error {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	return nil
}

func (b *blockingSink) decoded(t *testing.T) []firehose.Event {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []firehose.Event
	for _, f := range b.frames {
		ev, err := firehose.DecodeFrame(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, ev)
	}
	return out
}

func TestSlowConsumerIsDroppedWithConsumerTooSlowWithoutStallingOthers(t *testing.T) {
	ts := startServer(t, Config{FirehoseBuffer: 8})
	u := ts.createUser("alice")
	fast := openStream(t, ts.url, nil)
	slow := &blockingSink{release: make(chan struct{})}
	served := make(chan struct{})
	go func() {
		defer close(served)
		ts.srv.seq.serve(context.Background(), slow, nil)
	}()
	ts.waitSubscribers(2)
	start := ts.newestSeq()
	const writes = 40
	for i := range writes {
		t0 := time.Now()
		ts.createRecord(u, fmt.Sprint("k", i), post("x"))
		if d := time.Since(t0); d > 2*time.Second {
			t.Fatalf("write %d took %v with a stuck consumer", i, d)
		}
		// The fast consumer keeps up with each write before the next, so
		// only the stuck one can fall 8 events behind, however loaded
		// the machine is.
		fast.waitSeq(5*time.Second, start+int64(i)+1)
	}
	// The fast consumer got everything, the slow one was dropped.
	evs := fast.waitSeq(5*time.Second, start+writes)
	checkExactly(t, "fast consumer", seqsOf(evs), start+1, start+writes)
	if s := ts.srv.seq.stats(); s.TooSlow != 1 || s.Subscribers != 1 {
		t.Fatalf("stats %+v: want one consumer dropped, one left", s)
	}
	close(slow.release)
	select {
	case <-served:
	case <-time.After(5 * time.Second):
		t.Fatal("the slow consumer's connection was not ended")
	}
	got := slow.decoded(t)
	last, ok := got[len(got)-1].(*firehose.ErrorFrame)
	if !ok || !errors.Is(last, firehose.ErrConsumerTooSlow) || !slow.closed {
		t.Fatalf("slow consumer's last frame %#v (closed %v), want ConsumerTooSlow", got[len(got)-1], slow.closed)
	}
	// What it got before is a prefix of the stream, in order.
	checkExactly(t, "slow consumer", seqsOf(got), start+1, start+int64(len(got)-1))
}

func TestReplayOutrunByWritesRegistersAgainWithoutLosingEvents(t *testing.T) {
	ts := startServer(t, Config{FirehoseBuffer: 4})
	u := ts.createUser("alice")
	for i := range 30 {
		ts.createRecord(u, fmt.Sprint("pre", i), post("stored"))
	}
	// The consumer replays slowly (5 ms a frame) while 30 writes land: its
	// 4-event live buffer overflows during the replay.
	sink := &blockingSink{release: make(chan struct{}), delay: 5 * time.Millisecond}
	close(sink.release)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan struct{})
	go func() {
		defer close(served)
		ts.srv.seq.serve(ctx, sink, cursorAt(0))
	}()
	for i := range 30 {
		ts.createRecord(u, fmt.Sprint("live", i), post("live"))
	}
	newest := ts.newestSeq()
	var got []firehose.Event
	for range 500 {
		if got = sink.decoded(t); lastSeq(got) >= newest {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-served
	checkExactly(t, "slow replayer", seqsOf(got), 1, newest)
	if s := ts.srv.seq.stats(); s.TooSlow == 0 {
		t.Fatalf("the live buffer never overflowed (stats %+v): the test did not test re-registration", s)
	}
}

// TestCommitEventRowKeepsPrevDataAsSecondRoot pins the seq row format the
// frames are built from: the stored CAR lists the commit then prevData;
// the frame's CAR lists the commit only.
func TestCommitEventRowKeepsPrevDataAsSecondRoot(t *testing.T) {
	ts, u := startWithAlice(t)
	ts.createRecord(u, "k1", post("one"))
	evs, err := ts.srv.Store().Events(context.Background(), 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		row   SeqEvent
		roots int
	}{
		{"first commit: the commit alone", evs[2], 1},
		{"later commit: the commit and prevData", evs[3], 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			roots, _, err := car.ReadAll(bytes.NewReader(c.row.CAR))
			if err != nil || len(roots) != c.roots || roots[0] != c.row.Commit {
				t.Fatalf("row CAR roots %v (%v), want %d starting with %s", roots, err, c.roots, c.row.Commit)
			}
			frame, err := eventFrame(&c.row)
			if err != nil {
				t.Fatal(err)
			}
			ev, err := firehose.DecodeFrame(frame)
			if err != nil {
				t.Fatal(err)
			}
			cm := ev.(*firehose.Commit)
			fr, _, _ := car.ReadAll(bytes.NewReader(cm.Blocks))
			if len(fr) != 1 || fr[0] != c.row.Commit {
				t.Fatalf("frame CAR roots %v", fr)
			}
			if c.roots == 2 {
				_, blocks, err := car.ReadAll(bytes.NewReader(evs[2].CAR))
				if err != nil {
					t.Fatal(err)
				}
				prev, err := repo.DecodeCommit(blocks[evs[2].Commit])
				if err != nil {
					t.Fatal(err)
				}
				if cm.PrevData != prev.Data || roots[1] != prev.Data {
					t.Fatalf("prevData %s, row's second root %s, previous commit's data %s", cm.PrevData, roots[1], prev.Data)
				}
			}
		})
	}
}
