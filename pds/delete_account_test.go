package pds

import (
	"encoding/base64"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/arbor-atproto/arbor/firehose"
)

// Deleting an account (by the account, with its password and a mailed
// token, or by the admin) removes its repo, blobs and sessions, sends
// #account with status deleted, and the sync methods answer RepoNotFound.
func TestDeleteAccountRemovesEverything(t *testing.T) {
	ts, box, u := startWithMail(t)
	bob := ts.createUser("bob")
	st := openStream(t, ts.url, nil)
	ts.createRecord(u, "a", post("to be deleted"))
	own := ts.ok(ts.do(http.MethodPost, "/xrpc/com.atproto.repo.uploadBlob", u.access, []byte("alice only"), map[string]string{"Content-Type": "text/plain"}))
	shared := []byte("both of them")
	ts.ok(ts.do(http.MethodPost, "/xrpc/com.atproto.repo.uploadBlob", u.access, shared, map[string]string{"Content-Type": "text/plain"}))
	sharedOut := ts.ok(ts.do(http.MethodPost, "/xrpc/com.atproto.repo.uploadBlob", bob.access, shared, map[string]string{"Content-Type": "text/plain"}))
	ownCID := own["blob"].(map[string]any)["ref"].(map[string]any)["$link"].(string)
	sharedCID := sharedOut["blob"].(map[string]any)["ref"].(map[string]any)["$link"].(string)

	made := ts.ok(ts.proc("com.atproto.server.createAppPassword", u.access, map[string]any{"name": "bot"}))
	app := ts.ok(ts.proc("com.atproto.server.createSession", "", map[string]any{"identifier": u.handle, "password": made["password"]}))["accessJwt"].(string)
	if r := ts.proc("com.atproto.server.requestAccountDelete", app, nil); r.errName() != "InvalidToken" {
		t.Fatalf("requestAccountDelete with an app password session: %s", r)
	}
	ts.ok(ts.proc("com.atproto.server.requestAccountDelete", u.access, nil))
	tok := box.last(t, "alice@example.com", "Account Deletion Requested")
	for _, tc := range []struct {
		name    string
		body    map[string]any
		status  int
		errName string
	}{
		{"app password", map[string]any{"did": u.did, "password": made["password"], "token": tok}, 401, "AuthenticationRequired"},
		{"wrong token", map[string]any{"did": u.did, "password": u.password, "token": "AAAAA-BBBBB"}, 400, "InvalidToken"},
		{"bob's token", map[string]any{"did": bob.did, "password": bob.password, "token": tok}, 400, "InvalidToken"},
		{"unknown account", map[string]any{"did": "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa", "password": "x", "token": tok}, 400, "InvalidRequest"},
	} {
		if r := ts.proc("com.atproto.server.deleteAccount", "", tc.body); r.status != tc.status || r.errName() != tc.errName {
			t.Errorf("%s: want %d %s, got %s", tc.name, tc.status, tc.errName, r)
		}
	}
	ts.ok(ts.proc("com.atproto.server.deleteAccount", "", map[string]any{"did": u.did, "password": u.password, "token": tok}))

	evs := st.waitFor(5*time.Second, "#account deleted", func(evs []firehose.Event) bool {
		for _, ev := range evs {
			if a, ok := ev.(*firehose.Account); ok && a.Status == "deleted" {
				return true
			}
		}
		return false
	})
	last := evs[len(evs)-1].(*firehose.Account)
	if last.DID.String() != u.did || last.Active {
		t.Fatalf("deletion event %#v", last)
	}
	for _, q := range [][]string{
		{"com.atproto.sync.getRepo", "did", u.did},
		{"com.atproto.sync.getLatestCommit", "did", u.did},
		{"com.atproto.sync.getRepoStatus", "did", u.did},
		{"com.atproto.sync.listBlobs", "did", u.did},
		{"com.atproto.sync.getBlob", "did", u.did, "cid", ownCID},
		{"com.atproto.repo.describeRepo", "repo", u.did},
	} {
		if r := ts.query(q[0], "", q[1:]...); r.status != 400 || (r.errName() != "RepoNotFound" && r.errName() != "InvalidRequest") {
			t.Errorf("%s after deletion: %s", q[0], r)
		}
	}
	if r := ts.query("com.atproto.server.getSession", u.access); r.status != 401 {
		t.Errorf("getSession after deletion: %s", r)
	}
	if r := ts.proc("com.atproto.server.refreshSession", u.refresh, nil); r.status != 400 {
		t.Errorf("refreshSession after deletion: %s", r)
	}
	if r := ts.proc("com.atproto.server.createSession", "", map[string]any{"identifier": u.handle, "password": u.password}); r.status != 401 {
		t.Errorf("createSession after deletion: %s", r)
	}
	// Alice's own blob file is gone; the one bob also holds stays his.
	dir := ts.srv.DataDir()
	if _, err := os.Stat(filepath.Join(dir, "blobs", ownCID)); !os.IsNotExist(err) {
		t.Errorf("alice's blob file is still there: %v", err)
	}
	if r := ts.query("com.atproto.sync.getBlob", "", "did", bob.did, "cid", sharedCID); r.status != 200 || string(r.body) != string(shared) {
		t.Errorf("bob's copy of a shared blob: %s", r)
	}
	// The handle is free again; bob is untouched.
	ts.createUser("alice")
	ts.head(bob)

	// The admin deletes with the admin password alone.
	admin := ts.adminHeader()
	if r := ts.do(http.MethodPost, "/xrpc/com.atproto.admin.deleteAccount", "", map[string]any{"did": bob.did}, nil); r.status != 401 {
		t.Fatalf("admin.deleteAccount without the admin password: %s", r)
	}
	ts.ok(ts.do(http.MethodPost, "/xrpc/com.atproto.admin.deleteAccount", "", map[string]any{"did": bob.did}, admin))
	if r := ts.query("com.atproto.sync.getLatestCommit", "", "did", bob.did); r.errName() != "RepoNotFound" {
		t.Fatalf("bob's repo after admin.deleteAccount: %s", r)
	}
}

// adminHeader is the Authorization header of the admin.
func (ts *testServer) adminHeader() map[string]string {
	return map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte("admin:"+ts.srv.AdminPassword()))}
}
