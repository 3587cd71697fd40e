package pds

import (
	"encoding/base64"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/arbor-atproto/arbor/firehose"
)

func TestDeactivatedAccountWritesFailAsTheReferenceAnswers(t *testing.T) {
	ts, u := startWithAlice(t)
	ts.createRecord(u, "kept", post("written while active"))
	ts.ok(ts.proc("com.atproto.server.deactivateAccount", u.access, map[string]any{}))
	headBefore, _ := ts.head(u)

	rec := post("written while deactivated")
	cases := []struct {
		name string
		nsid string
		body map[string]any
	}{
		{"createRecord", "com.atproto.repo.createRecord", map[string]any{"repo": u.did, "collection": "app.bsky.feed.post", "record": rec}},
		{"putRecord", "com.atproto.repo.putRecord", map[string]any{"repo": u.did, "collection": "app.bsky.feed.post", "rkey": "kept", "record": rec}},
		{"deleteRecord", "com.atproto.repo.deleteRecord", map[string]any{"repo": u.did, "collection": "app.bsky.feed.post", "rkey": "kept"}},
		{"applyWrites", "com.atproto.repo.applyWrites", map[string]any{"repo": u.did, "writes": []any{
			map[string]any{"$type": "com.atproto.repo.applyWrites#create", "collection": "app.bsky.feed.post", "value": rec},
		}}},
		{"createRecord by handle", "com.atproto.repo.createRecord", map[string]any{"repo": u.handle, "collection": "app.bsky.feed.post", "record": rec}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := ts.proc(tc.nsid, u.access, tc.body)
			if r.status != http.StatusUnauthorized || r.errName() != "AccountDeactivated" {
				t.Fatalf("%s on a deactivated repo: %s, want 401 AccountDeactivated", tc.nsid, r)
			}
		})
	}
	if head, _ := ts.head(u); head != headBefore {
		t.Fatalf("head moved from %s to %s while deactivated", headBefore, head)
	}

	ts.ok(ts.proc("com.atproto.server.activateAccount", u.access, nil))
	ts.createRecord(u, "again", post("written after activation"))
}

func TestDeactivationNeedsTheAccountsOwnAccessToken(t *testing.T) {
	ts, u := startWithAlice(t)
	cases := []struct {
		name  string
		nsid  string
		token string
		want  int
	}{
		{"deactivate without a token", "com.atproto.server.deactivateAccount", "", http.StatusUnauthorized},
		{"deactivate with a refresh token", "com.atproto.server.deactivateAccount", u.refresh, http.StatusUnauthorized},
		{"activate without a token", "com.atproto.server.activateAccount", "", http.StatusUnauthorized},
		{"activate with a forged token", "com.atproto.server.activateAccount", "e30.e30.sig", http.StatusUnauthorized},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := ts.proc(tc.nsid, tc.token, map[string]any{})
			if r.status != tc.want && !(r.status == http.StatusBadRequest && r.errName() == "InvalidToken") {
				t.Fatalf("%s: %s, want %d", tc.name, r, tc.want)
			}
			if st := ts.ok(ts.query("com.atproto.sync.getRepoStatus", "", "did", u.did)); st["active"] != true {
				t.Fatalf("status changed by a refused call: %v", st)
			}
		})
	}
}

func TestRepoStatusAndSessionReflectDeactivation(t *testing.T) {
	ts, u := startWithAlice(t)
	_, rev := ts.head(u)

	ts.ok(ts.proc("com.atproto.server.deactivateAccount", u.access, map[string]any{"deleteAfter": "2030-01-01T00:00:00.000Z"}))
	st := ts.ok(ts.query("com.atproto.sync.getRepoStatus", "", "did", u.did))
	if st["active"] != false || st["status"] != "deactivated" || st["rev"] != nil {
		t.Fatalf("getRepoStatus of a deactivated account: %v, want active false, status deactivated, no rev", st)
	}
	// The deactivated account keeps its session: it must be able to come back.
	sess := ts.ok(ts.query("com.atproto.server.getSession", u.access))
	if sess["active"] != false || sess["status"] != "deactivated" {
		t.Fatalf("getSession of a deactivated account: %v", sess)
	}
	repos := ts.ok(ts.query("com.atproto.sync.listRepos", ""))["repos"].([]any)
	if r := repos[0].(map[string]any); r["did"] != u.did || r["active"] != false {
		t.Fatalf("listRepos: %v", repos)
	}

	ts.ok(ts.proc("com.atproto.server.activateAccount", u.access, nil))
	st = ts.ok(ts.query("com.atproto.sync.getRepoStatus", "", "did", u.did))
	if st["active"] != true || st["status"] != nil || st["rev"] != rev {
		t.Fatalf("getRepoStatus after activation: %v, want active true at rev %s", st, rev)
	}
}

func TestDeactivateAndActivateEmitAccountEventsThatPassTheChainChecks(t *testing.T) {
	ts := startServer(t, Config{})
	stream := openStream(t, ts.url, cursorAt(0))
	u := ts.createUser("alice")
	ts.createRecord(u, "a", post("before"))

	ts.ok(ts.proc("com.atproto.server.deactivateAccount", u.access, nil))
	evs := stream.waitSeq(5*time.Second, ts.newestSeq())
	if a, ok := evs[len(evs)-1].(*firehose.Account); !ok || a.DID.String() != u.did || a.Active || a.Status != "deactivated" {
		t.Fatalf("deactivation event: %#v, want #account active false status deactivated", evs[len(evs)-1])
	}
	nDeact := len(evs)

	ts.ok(ts.proc("com.atproto.server.activateAccount", u.access, nil))
	head, rev := ts.head(u)
	evs = stream.waitSeq(5*time.Second, ts.newestSeq())
	got := evs[nDeact:]
	if len(got) != 3 {
		t.Fatalf("activation: %d events, want #account, #identity, #sync: %#v", len(got), got)
	}
	if a, ok := got[0].(*firehose.Account); !ok || a.DID.String() != u.did || !a.Active || a.Status != "" {
		t.Fatalf("activation #account: %#v", got[0])
	}
	if id, ok := got[1].(*firehose.Identity); !ok || id.DID.String() != u.did || id.Handle != u.handle {
		t.Fatalf("activation #identity: %#v", got[1])
	}
	sy, ok := got[2].(*firehose.Sync)
	if !ok || sy.DID.String() != u.did || sy.Rev.String() != rev {
		t.Fatalf("activation #sync: %#v, want rev %s", got[2], rev)
	}
	v, err := firehose.VerifySync(sy, ts.signingKey(u.did))
	if err != nil || v.Commit == nil {
		t.Fatalf("VerifySync: %v", err)
	}
	if c, _ := v.Commit.CID(); c.String() != head {
		t.Fatalf("#sync commit %s, head %s", c, head)
	}

	// A commit after activation chains on the #sync; the whole stream,
	// strict, passes.
	ts.createRecord(u, "b", post("after"))
	evs = stream.waitSeq(5*time.Second, ts.newestSeq())
	checkChain(t, evs, nil)
	if _, ok := evs[len(evs)-1].(*firehose.Commit); !ok {
		t.Fatalf("last event %#v, want the #commit after activation", evs[len(evs)-1])
	}
}

func TestNoCommitIsSequencedAfterTheDeactivationEvent(t *testing.T) {
	ts := startServer(t, Config{})
	stream := openStream(t, ts.url, cursorAt(0))
	u := ts.createUser("alice")
	const writers, perWriter = 4, 15
	var wg sync.WaitGroup
	start := make(chan struct{})
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for i := range perWriter {
				r := ts.proc("com.atproto.repo.createRecord", u.access, map[string]any{
					"repo": u.did, "collection": "app.bsky.feed.post", "record": post("racing"),
				})
				if r.status != http.StatusOK && r.errName() != "AccountDeactivated" {
					t.Errorf("writer %d write %d: %s", w, i, r)
					return
				}
			}
		}()
	}
	close(start)
	time.Sleep(20 * time.Millisecond)
	ts.ok(ts.proc("com.atproto.server.deactivateAccount", u.access, nil))
	wg.Wait()
	evs := stream.waitSeq(5*time.Second, ts.newestSeq())
	checkChain(t, evs, nil)
	if a, ok := evs[len(evs)-1].(*firehose.Account); !ok || a.Active {
		t.Fatalf("last event %#v, want the deactivation", evs[len(evs)-1])
	}
}

// A deactivated repo's content (the sync endpoints) is refused to everyone
// but the account itself and the admin, with the reference PDS's error;
// its status is still public, and activation serves it again.
func TestDeactivatedRepoIsRefusedToOthers(t *testing.T) {
	ts, u := startWithAlice(t)
	bob := ts.createUser("bob")
	ts.createRecord(u, "kept", post("written while active"))
	blob := ts.ok(ts.do(http.MethodPost, "/xrpc/com.atproto.repo.uploadBlob", u.access, []byte("a blob"), nil))
	blobCID := blob["blob"].(map[string]any)["ref"].(map[string]any)["$link"].(string)
	head, _ := ts.head(u)
	admin := map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte("admin:"+ts.srv.AdminPassword()))}
	calls := []struct {
		nsid   string
		params []string
	}{
		{"com.atproto.sync.getRepo", []string{"did", u.did}},
		{"com.atproto.sync.getLatestCommit", []string{"did", u.did}},
		{"com.atproto.sync.getRecord", []string{"did", u.did, "collection", "app.bsky.feed.post", "rkey", "kept"}},
		{"com.atproto.sync.getBlocks", []string{"did", u.did, "cids", head}},
		{"com.atproto.sync.getBlob", []string{"did", u.did, "cid", blobCID}},
		{"com.atproto.sync.listBlobs", []string{"did", u.did}},
	}
	path := func(nsid string, params []string) string {
		q := "/xrpc/" + nsid + "?"
		for i := 0; i < len(params); i += 2 {
			q += params[i] + "=" + params[i+1] + "&"
		}
		return q
	}
	ts.ok(ts.proc("com.atproto.server.deactivateAccount", u.access, map[string]any{}))
	for _, c := range calls {
		t.Run(c.nsid, func(t *testing.T) {
			for who, token := range map[string]string{"anonymous": "", "another account": bob.access, "a forged token": "e30.e30.sig"} {
				r := ts.query(c.nsid, token, c.params...)
				if r.status != http.StatusBadRequest || r.errName() != "RepoDeactivated" {
					t.Errorf("%s: %s, want 400 RepoDeactivated", who, r)
				}
			}
			if r := ts.query(c.nsid, u.access, c.params...); r.status != http.StatusOK {
				t.Errorf("the account itself: %s", r)
			}
			if r := ts.do(http.MethodGet, path(c.nsid, c.params), "", nil, admin); r.status != http.StatusOK {
				t.Errorf("the admin: %s", r)
			}
		})
	}
	if st := ts.ok(ts.query("com.atproto.sync.getRepoStatus", "", "did", u.did)); st["active"] != false || st["status"] != "deactivated" {
		t.Errorf("getRepoStatus of the deactivated repo: %v", st)
	}
	ts.ok(ts.proc("com.atproto.server.activateAccount", u.access, nil))
	for _, c := range calls {
		if r := ts.query(c.nsid, "", c.params...); r.status != http.StatusOK {
			t.Errorf("%s after activation: %s", c.nsid, r)
		}
	}
}
