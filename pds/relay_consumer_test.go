package pds

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	comatproto "github.com/bluesky-social/indigo/api/atproto"
	"github.com/bluesky-social/indigo/atproto/identity"
	irepo "github.com/bluesky-social/indigo/atproto/repo"
	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/coder/websocket"
	"github.com/fxamacker/cbor/v2"
)

// relayConsumer checks every firehose frame as indigo's relay does with
// sync 1.1 validation (cmd/relay/relay/verify.go: VerifyRepoCommit's
// strict path and VerifyRepoSync, account.go's PDS host check), built on
// indigo's atproto/repo (from the Go module proxy): the commit's
// signature against the DID document, prevData and since against the
// previous commit of the repo, revs increasing, no tooBig or rebase, the
// MST inversion of every op (repo.VerifyCommitMessage), #sync signatures,
// and a PDS endpoint the relay accepts (a named host; localhost with a
// port).
type relayConsumer struct {
	t    *testing.T
	dir  identity.Directory
	mu   sync.Mutex
	prev map[string]struct{ data, rev string }
	seen map[string]int // frames by type
	last int64
	errs []string
}

func (rc *relayConsumer) fail(seq int64, format string, args ...any) {
	rc.errs = append(rc.errs, fmt.Sprintf("seq %d: ", seq)+fmt.Sprintf(format, args...))
}

func (rc *relayConsumer) frame(ctx context.Context, b []byte) {
	var hdr struct {
		Op int    `cbor:"op"`
		T  string `cbor:"t"`
	}
	rest, err := cbor.UnmarshalFirst(b, &hdr)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if err != nil || hdr.Op != 1 {
		rc.fail(rc.last, "frame header %+v: %v", hdr, err)
		return
	}
	rc.seen[hdr.T]++
	switch hdr.T {
	case "#commit":
		var evt comatproto.SyncSubscribeRepos_Commit
		if err := evt.UnmarshalCBOR(bytes.NewReader(rest)); err != nil {
			rc.fail(rc.last, "#commit: %v", err)
			return
		}
		rc.last = evt.Seq
		rc.commit(ctx, &evt)
	case "#sync":
		var evt comatproto.SyncSubscribeRepos_Sync
		if err := evt.UnmarshalCBOR(bytes.NewReader(rest)); err != nil {
			rc.fail(rc.last, "#sync: %v", err)
			return
		}
		rc.last = evt.Seq
		c, err := irepo.VerifySyncMessage(ctx, rc.dir, &evt)
		if err != nil {
			rc.fail(evt.Seq, "#sync of %s: %v", evt.Did, err)
			return
		}
		rc.prev[evt.Did] = struct{ data, rev string }{c.Data.String(), c.Rev}
	case "#account":
		var evt comatproto.SyncSubscribeRepos_Account
		if err := evt.UnmarshalCBOR(bytes.NewReader(rest)); err != nil {
			rc.fail(rc.last, "#account: %v", err)
			return
		}
		rc.last = evt.Seq
		if _, err := syntax.ParseDatetime(evt.Time); err != nil {
			rc.fail(evt.Seq, "#account time: %v", err)
		}
		if evt.Status != nil && *evt.Status == "deleted" {
			delete(rc.prev, evt.Did)
		}
	case "#identity":
		var evt comatproto.SyncSubscribeRepos_Identity
		if err := evt.UnmarshalCBOR(bytes.NewReader(rest)); err != nil {
			rc.fail(rc.last, "#identity: %v", err)
			return
		}
		rc.last = evt.Seq
		rc.checkHost(ctx, evt.Seq, evt.Did)
	default:
		rc.fail(rc.last, "unexpected frame %s", hdr.T)
	}
}

func (rc *relayConsumer) checkHost(ctx context.Context, seq int64, did string) {
	ident, err := rc.dir.LookupDID(ctx, syntax.DID(did))
	if err != nil {
		rc.fail(seq, "resolving %s: %v", did, err)
		return
	}
	u, err := url.Parse(ident.PDSEndpoint())
	if err != nil {
		rc.fail(seq, "PDS endpoint %q: %v", ident.PDSEndpoint(), err)
		return
	}
	if net.ParseIP(u.Hostname()) != nil || (u.Hostname() == "localhost") != (u.Port() != "") {
		rc.fail(seq, "PDS endpoint invalid: %s (the relay wants a named host, or localhost with a port)", ident.PDSEndpoint())
	}
}

func (rc *relayConsumer) commit(ctx context.Context, evt *comatproto.SyncSubscribeRepos_Commit) {
	commit, _, err := irepo.LoadCommitFromCAR(ctx, bytes.NewReader(evt.Blocks))
	if err != nil {
		rc.fail(evt.Seq, "loading commit: %v", err)
		return
	}
	if err := irepo.VerifyCommitSignature(ctx, rc.dir, evt); err != nil {
		rc.fail(evt.Seq, "signature: %v", err)
	}
	if evt.Repo != commit.DID || evt.Rev != commit.Rev {
		rc.fail(evt.Seq, "event repo/rev %s/%s, commit %s/%s", evt.Repo, evt.Rev, commit.DID, commit.Rev)
	}
	if evt.TooBig || evt.Rebase || len(evt.Blocks) == 0 {
		rc.fail(evt.Seq, "tooBig %v rebase %v blocks %d", evt.TooBig, evt.Rebase, len(evt.Blocks))
	}
	if _, err := syntax.ParseDatetime(evt.Time); err != nil {
		rc.fail(evt.Seq, "time: %v", err)
	}
	prev, known := rc.prev[evt.Repo]
	if known || evt.PrevData != nil {
		switch {
		case evt.PrevData == nil:
			rc.fail(evt.Seq, "missing prevData")
		case known && evt.PrevData.String() != prev.data:
			rc.fail(evt.Seq, "prevData %s, the previous commit's data is %s", evt.PrevData, prev.data)
		case known && (evt.Since == nil || *evt.Since != prev.rev):
			rc.fail(evt.Seq, "since %v, the previous rev is %s", evt.Since, prev.rev)
		case known && evt.Rev <= prev.rev:
			rc.fail(evt.Seq, "rev %s not after %s", evt.Rev, prev.rev)
		}
		if _, err := irepo.VerifyCommitMessage(ctx, evt); err != nil {
			rc.fail(evt.Seq, "MST inversion: %v", err)
		}
	}
	rc.prev[evt.Repo] = struct{ data, rev string }{commit.Data.String(), commit.Rev}
}

// An indigo-style relay consumer accepts every event of a scripted session
// of a server with the default configuration (public URL
// http://localhost:PORT, as arbor pds serve has it): writes, an identical
// putRecord, a record deletion, an app-password session's writes, a
// handle change, deactivation and activation, and account deletion.
func TestRelayConsumerAcceptsAScriptedSession(t *testing.T) {
	box := &mailBox{}
	ts := startLocalhostServer(t, Config{Mail: NewMailLog(true, box)})
	rc := &relayConsumer{t: t, prev: map[string]struct{ data, rev string }{}, seen: map[string]int{},
		dir: &identity.BaseDirectory{PLCURL: ts.url, TryAuthoritativeDNS: false}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(ts.url, "http")+"/xrpc/com.atproto.sync.subscribeRepos", nil)
	if err != nil {
		t.Fatal(err)
	}
	conn.SetReadLimit(8 << 20)
	defer conn.CloseNow()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			_, b, err := conn.Read(ctx)
			if err != nil {
				return
			}
			rc.frame(ctx, b)
		}
	}()
	ts.waitSubscribers(1)

	u := ts.createUser("alice")
	bob := ts.createUser("bob")
	put := map[string]any{"repo": u.did, "validate": false, "collection": "app.bsky.feed.post", "rkey": "p1", "record": post("first")}
	ts.ok(ts.proc("com.atproto.repo.putRecord", u.access, put))
	ts.ok(ts.proc("com.atproto.repo.putRecord", u.access, put)) // identical: no event
	ts.createRecord(u, "p2", post("second"))
	put["record"] = post("first, edited")
	ts.ok(ts.proc("com.atproto.repo.putRecord", u.access, put))
	ts.ok(ts.proc("com.atproto.repo.deleteRecord", u.access, map[string]any{"repo": u.did, "collection": "app.bsky.feed.post", "rkey": "p2"}))
	ts.ok(ts.proc("com.atproto.repo.applyWrites", u.access, map[string]any{"repo": u.did, "validate": false, "writes": []any{
		map[string]any{"$type": "com.atproto.repo.applyWrites#create", "collection": "app.bsky.feed.like", "rkey": "l1", "value": map[string]any{"$type": "app.bsky.feed.like", "subject": map[string]any{"uri": "at://" + u.did + "/app.bsky.feed.post/p1", "cid": "bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm"}, "createdAt": "2024-01-01T00:00:00.000Z"}},
		map[string]any{"$type": "com.atproto.repo.applyWrites#delete", "collection": "app.bsky.feed.post", "rkey": "p1"},
	}}))
	made := ts.ok(ts.proc("com.atproto.server.createAppPassword", u.access, map[string]any{"name": "bot"}))
	app := ts.ok(ts.proc("com.atproto.server.createSession", "", map[string]any{"identifier": u.handle, "password": made["password"]}))["accessJwt"].(string)
	ts.ok(ts.proc("com.atproto.repo.createRecord", app, map[string]any{"repo": u.did, "collection": "app.bsky.feed.post", "record": post("from the bot")}))
	ts.ok(ts.proc("com.atproto.identity.updateHandle", u.access, map[string]any{"handle": "alice2.test"}))
	ts.ok(ts.proc("com.atproto.server.deactivateAccount", u.access, map[string]any{}))
	ts.ok(ts.proc("com.atproto.server.activateAccount", u.access, nil))
	ts.createRecord(u, "", post("after activation"))
	ts.createRecord(bob, "", post("bob's only post"))
	ts.ok(ts.proc("com.atproto.server.requestAccountDelete", bob.access, nil))
	tok := box.last(t, "bob@example.com", "Account Deletion Requested")
	ts.ok(ts.proc("com.atproto.server.deleteAccount", "", map[string]any{"did": bob.did, "password": bob.password, "token": tok}))
	ts.createRecord(u, "", post("the last one"))

	want := ts.newestSeq()
	deadline := time.Now().Add(15 * time.Second)
	for {
		rc.mu.Lock()
		last := rc.last
		rc.mu.Unlock()
		if last >= want {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the consumer got to seq %d of %d", last, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	<-done
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for _, e := range rc.errs {
		t.Error(e)
	}
	// 2 accounts: #identity, #account and a first #commit each; then
	// alice's put, (the identical put: nothing), create, put, delete,
	// applyWrites, the app password session's create; the handle's
	// #identity; deactivation's #account; activation's #account,
	// #identity and #sync; a create; bob's create; his deletion's
	// #account; alice's last create.
	wantSeen := map[string]int{"#commit": 2 + 6 + 1 + 1 + 1, "#identity": 2 + 1 + 1, "#account": 2 + 1 + 1 + 1, "#sync": 1}
	for typ, n := range wantSeen {
		if rc.seen[typ] != n {
			t.Errorf("%d %s frames, want %d (all: %v)", rc.seen[typ], typ, n, rc.seen)
		}
	}
}
