package pds

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
)

func TestRestartWithDataKeepsAccountsRecordsBlobsAndSeq(t *testing.T) {
	dir := t.TempDir()
	ts := startServer(t, Config{DataDir: dir})
	u := ts.createUser("alice")
	rec := ts.createRecord(u, "k1", post("kept"))
	blob := ts.ok(ts.do(http.MethodPost, "/xrpc/com.atproto.repo.uploadBlob", u.access, []byte("blob bytes"), map[string]string{"Content-Type": "text/plain"}))
	blobCID := blob["blob"].(map[string]any)["ref"].(map[string]any)["$link"].(string)
	head, rev := ts.head(u)
	events, err := ts.srv.Store().Events(context.Background(), 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	admin := ts.srv.AdminPassword()
	ts.stop()

	ts2 := startServer(t, Config{DataDir: dir})
	if ts2.srv.AdminPassword() != admin {
		t.Fatal("admin password changed across a restart")
	}
	// The server came back on another port: the DID document follows it.
	doc := ts2.do(http.MethodGet, "/"+u.did, "", nil, nil)
	if doc.status != 200 || !strings.Contains(string(doc.body), `"serviceEndpoint":"`+ts2.url+`"`) {
		t.Fatalf("DID document after a restart on %s: %s", ts2.url, doc)
	}
	// The old access token still verifies: the JWT secret persisted.
	ts2.ok(ts2.query("com.atproto.server.getSession", u.access))
	sess := ts2.ok(ts2.proc("com.atproto.server.createSession", "", map[string]any{"identifier": u.handle, "password": u.password}))
	u.access = sess["accessJwt"].(string)
	if h, r := ts2.head(u); h != head || r != rev {
		t.Fatalf("head after restart %s %s, before %s %s", h, r, head, rev)
	}
	got := ts2.ok(ts2.query("com.atproto.repo.getRecord", "", "repo", u.did, "collection", "app.bsky.feed.post", "rkey", "k1"))
	if got["cid"] != rec["cid"] {
		t.Fatalf("record after restart: %v", got)
	}
	b := ts2.query("com.atproto.sync.getBlob", "", "did", u.did, "cid", blobCID)
	if b.status != 200 || !bytes.Equal(b.body, []byte("blob bytes")) {
		t.Fatalf("blob after restart: %s", b)
	}
	after, err := ts2.srv.Store().Events(context.Background(), 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(events) || after[len(after)-1].Seq != events[len(events)-1].Seq {
		t.Fatalf("seq rows: %d before, %d after", len(events), len(after))
	}
	// New writes chain on the stored head and continue the sequence.
	ts2.createRecord(u, "k2", post("new"))
	if _, r := ts2.head(u); r <= rev {
		t.Fatalf("rev %s after restart is not after %s", r, rev)
	}
	more, _ := ts2.srv.Store().Events(context.Background(), events[len(events)-1].Seq, 10)
	if len(more) != 1 || more[0].Kind != "commit" || more[0].Since != rev || len(more[0].Ops) != 1 || more[0].Ops[0].Path != "app.bsky.feed.post/k2" {
		t.Fatalf("seq after restart: %+v", more)
	}
	if ts2.fetchVerifiedRepo(u).records != 2 {
		t.Fatal("repo after restart does not hold both records")
	}
}

func TestTemporaryDataIsRemovedOnClose(t *testing.T) {
	ts := startServer(t, Config{})
	ts.createUser("alice")
	dir := ts.srv.DataDir()
	if _, err := osReadDir(dir); err != nil {
		t.Fatal(err)
	}
	ts.stop()
	if _, err := osReadDir(dir); err == nil {
		t.Fatalf("temporary data directory %s still exists", dir)
	}
}
