package pds

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// migration is two servers sharing the first one's embedded directory,
// and an account on the first.
type migration struct {
	t        *testing.T
	old, new *testServer
	mail     *mailBox // the old server's mail log
	alice    *user
}

func startMigration(t *testing.T) *migration {
	t.Helper()
	box := &mailBox{}
	old := startServer(t, Config{Hostname: "old.test", Mail: NewMailLog(true, box)})
	nw := startServer(t, Config{Hostname: "new.test", PLCURL: old.url})
	m := &migration{t: t, old: old, new: nw, mail: box, alice: old.createUser("alice")}
	return m
}

// fill gives alice two posts and a profile with an avatar blob.
func (m *migration) fill() (blob string) {
	ts, u := m.old, m.alice
	ts.createRecord(u, "", post("first"))
	ts.createRecord(u, "", post("second"))
	out := ts.ok(ts.do(http.MethodPost, "/xrpc/com.atproto.repo.uploadBlob", u.access, []byte("\x89PNG avatar"), map[string]string{"Content-Type": "image/png"}))
	ref := out["blob"].(map[string]any)
	ts.ok(ts.proc("com.atproto.repo.putRecord", u.access, map[string]any{
		"repo": u.did, "collection": "app.bsky.actor.profile", "rkey": "self",
		"record": map[string]any{"$type": "app.bsky.actor.profile", "displayName": "Alice", "avatar": ref},
	}))
	return ref["ref"].(map[string]any)["$link"].(string)
}

// serviceToken asks the old server for a token for aud and lxm.
func (m *migration) serviceToken(aud, lxm string) string {
	out := m.old.ok(m.old.query("com.atproto.server.getServiceAuth", m.alice.access, "aud", aud, "lxm", lxm))
	return out["token"].(string)
}

// createOnNew creates alice's account on the new server with her DID.
func (m *migration) createOnNew(token string) *resp {
	return m.new.proc("com.atproto.server.createAccount", token, map[string]any{
		"did": m.alice.did, "handle": "alice.test", "email": "alice@example.com", "password": "pw-new",
	})
}

func (m *migration) plcToken() string {
	m.t.Helper()
	return m.mail.last(m.t, "alice@example.com", "PLC Update Operation Requested")
}

func (m *migration) docPDS() string {
	m.t.Helper()
	var doc struct {
		Service []struct {
			ID              string `json:"id"`
			ServiceEndpoint string `json:"serviceEndpoint"`
		} `json:"service"`
	}
	r := m.old.do(http.MethodGet, "/"+m.alice.did, "", nil, nil)
	if err := json.Unmarshal(r.body, &doc); err != nil {
		m.t.Fatal(err)
	}
	for _, s := range doc.Service {
		if s.ID == "#atproto_pds" {
			return s.ServiceEndpoint
		}
	}
	return ""
}

// eventKinds lists the kinds of did's seq rows on a server, in order.
func eventKinds(t *testing.T, ts *testServer, did string) string {
	t.Helper()
	evs, err := ts.srv.store.Events(context.Background(), 0, 10000)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, e := range evs {
		if e.DID == did {
			kinds = append(kinds, e.Kind)
		}
	}
	return strings.Join(kinds, " ")
}

func TestMigrationBetweenTwoServersFollowsTheReferenceFlow(t *testing.T) {
	m := startMigration(t)
	blob := m.fill()
	oldSrv, newSrv, alice := m.old, m.new, m.alice

	created := newSrv.ok(m.createOnNew(m.serviceToken("did:web:new.test", "com.atproto.server.createAccount")))
	if created["did"] != alice.did {
		t.Fatalf("createAccount answered %v", created)
	}
	access := created["accessJwt"].(string)
	st := newSrv.ok(newSrv.query("com.atproto.server.checkAccountStatus", access))
	if st["activated"] != false || st["validDid"] != false {
		t.Fatalf("new account before the move: %v", st)
	}
	// A deactivated account's ordinary writes are refused; import is not.
	if r := newSrv.proc("com.atproto.repo.createRecord", access, map[string]any{"repo": alice.did, "collection": "app.bsky.feed.post", "record": post("early")}); r.errName() != "AccountDeactivated" {
		t.Fatalf("write to the inactive new account: %s", r)
	}
	car := oldSrv.do(http.MethodGet, "/xrpc/com.atproto.sync.getRepo?did="+alice.did, alice.access, nil, nil)
	newSrv.ok(newSrv.do(http.MethodPost, "/xrpc/com.atproto.repo.importRepo", access, car.body, map[string]string{"Content-Type": carContentType}))

	missing := newSrv.ok(newSrv.query("com.atproto.repo.listMissingBlobs", access))["blobs"].([]any)
	if len(missing) != 1 || missing[0].(map[string]any)["cid"] != blob || missing[0].(map[string]any)["recordUri"] != "at://"+alice.did+"/app.bsky.actor.profile/self" {
		t.Fatalf("missing blobs %v, want the avatar %s", missing, blob)
	}
	body := oldSrv.do(http.MethodGet, "/xrpc/com.atproto.sync.getBlob?did="+alice.did+"&cid="+blob, alice.access, nil, nil).body
	newSrv.ok(newSrv.do(http.MethodPost, "/xrpc/com.atproto.repo.uploadBlob", access, bytes.NewReader(body), map[string]string{"Content-Type": "image/png"}))
	if missing := newSrv.ok(newSrv.query("com.atproto.repo.listMissingBlobs", access))["blobs"].([]any); len(missing) != 0 {
		t.Fatalf("still missing %v", missing)
	}
	st = newSrv.ok(newSrv.query("com.atproto.server.checkAccountStatus", access))
	if st["indexedRecords"] != 3.0 || st["expectedBlobs"] != 1.0 || st["importedBlobs"] != 1.0 {
		t.Fatalf("after import: %v", st)
	}

	rec := newSrv.ok(newSrv.query("com.atproto.identity.getRecommendedDidCredentials", access))
	oldSrv.ok(oldSrv.proc("com.atproto.identity.requestPlcOperationSignature", alice.access, nil))
	rec["token"] = m.plcToken()
	signed := oldSrv.ok(oldSrv.proc("com.atproto.identity.signPlcOperation", alice.access, rec))
	// The token is used up.
	if r := oldSrv.proc("com.atproto.identity.signPlcOperation", alice.access, rec); r.errName() != "InvalidToken" {
		t.Fatalf("second use of the token: %s", r)
	}
	if m.docPDS() != oldSrv.url {
		t.Fatal("signing alone moved the DID")
	}
	newSrv.ok(newSrv.proc("com.atproto.identity.submitPlcOperation", access, map[string]any{"operation": signed["operation"]}))
	if got := m.docPDS(); got != newSrv.url {
		t.Fatalf("DID document names %s, want %s", got, newSrv.url)
	}
	if st = newSrv.ok(newSrv.query("com.atproto.server.checkAccountStatus", access)); st["validDid"] != true {
		t.Fatalf("after the PLC operation: %v", st)
	}
	if kinds := eventKinds(t, newSrv, alice.did); strings.Contains(kinds, "account") {
		t.Fatalf("events of the new account before activation: %s", kinds)
	}
	newSrv.ok(newSrv.proc("com.atproto.server.activateAccount", access, nil))
	oldSrv.ok(oldSrv.proc("com.atproto.server.deactivateAccount", alice.access, map[string]any{}))
	if kinds := eventKinds(t, newSrv, alice.did); !strings.HasSuffix(kinds, "account identity commit") {
		t.Fatalf("events of the new account after activation: %s (want #account, #identity, #sync last)", kinds)
	}
	if kinds := eventKinds(t, oldSrv, alice.did); !strings.HasSuffix(kinds, "account:deactivated") {
		t.Fatalf("events of the old account: %s", kinds)
	}

	if r := oldSrv.proc("com.atproto.repo.createRecord", alice.access, map[string]any{"repo": alice.did, "collection": "app.bsky.feed.post", "record": post("late")}); r.errName() != "AccountDeactivated" {
		t.Fatalf("write to the old PDS after the move: %s", r)
	}
	newSrv.ok(newSrv.proc("com.atproto.repo.createRecord", access, map[string]any{"repo": alice.did, "collection": "app.bsky.feed.post", "record": post("moved")}))
	if st = oldSrv.ok(oldSrv.query("com.atproto.server.checkAccountStatus", alice.access)); st["activated"] != false || st["validDid"] != false {
		t.Fatalf("old server after the move: %v", st)
	}
}

func TestMigrationRefusesBadInputAndChangesNothing(t *testing.T) {
	m := startMigration(t)
	m.fill()
	oldSrv, newSrv, alice := m.old, m.new, m.alice
	noAccountOnNew := func(t *testing.T) {
		t.Helper()
		if _, err := newSrv.srv.store.AccountByDID(context.Background(), alice.did); err == nil {
			t.Fatal("the new server has an account for the DID")
		}
	}

	t.Run("service auth for another audience", func(t *testing.T) {
		r := m.createOnNew(m.serviceToken("did:web:elsewhere.test", "com.atproto.server.createAccount"))
		if r.status != 401 || r.errName() != "BadJwtAudience" {
			t.Fatalf("got %s", r)
		}
		noAccountOnNew(t)
	})
	t.Run("service auth for another method", func(t *testing.T) {
		r := m.createOnNew(m.serviceToken("did:web:new.test", "com.atproto.repo.createRecord"))
		if r.status != 401 || r.errName() != "BadJwtLexiconMethod" {
			t.Fatalf("got %s", r)
		}
		noAccountOnNew(t)
	})
	t.Run("service auth of another DID", func(t *testing.T) {
		bob := oldSrv.createUser("bob")
		tok := oldSrv.ok(oldSrv.query("com.atproto.server.getServiceAuth", bob.access, "aud", "did:web:new.test", "lxm", "com.atproto.server.createAccount"))["token"].(string)
		if r := m.createOnNew(tok); r.status != 401 || !strings.Contains(r.String(), "Missing auth to create account with did") {
			t.Fatalf("got %s", r)
		}
		noAccountOnNew(t)
	})
	t.Run("no service auth", func(t *testing.T) {
		if r := m.createOnNew(""); r.status != 401 {
			t.Fatalf("got %s", r)
		}
		noAccountOnNew(t)
	})
	t.Run("expired service auth", func(t *testing.T) {
		tok := m.serviceToken("did:web:new.test", "com.atproto.server.createAccount")
		newSrv.clock.Advance(2 * time.Minute)
		defer newSrv.clock.Advance(-2 * time.Minute)
		if r := m.createOnNew(tok); r.errName() != "JwtExpired" {
			t.Fatalf("got %s", r)
		}
		noAccountOnNew(t)
	})
	t.Run("a server with its own embedded directory", func(t *testing.T) {
		lone := startServer(t, Config{Hostname: "lone.test"})
		tok := m.serviceToken("did:web:lone.test", "com.atproto.server.createAccount")
		r := lone.proc("com.atproto.server.createAccount", tok, map[string]any{"did": alice.did, "handle": "alice.test", "password": "x"})
		if r.errName() != "IncompatibleDidDoc" || !strings.Contains(r.String(), "separate embedded directories cannot share a DID") {
			t.Fatalf("got %s", r)
		}
	})
	t.Run("the server already hosts the DID", func(t *testing.T) {
		before, _ := oldSrv.head(alice)
		tok := m.serviceToken("did:web:old.test", "com.atproto.server.createAccount")
		r := oldSrv.proc("com.atproto.server.createAccount", tok, map[string]any{"did": alice.did, "handle": "alice2.test", "password": "x"})
		if r.errName() != "AlreadyExists" {
			t.Fatalf("got %s", r)
		}
		if after, _ := oldSrv.head(alice); after != before {
			t.Fatal("the hosted repo changed")
		}
	})

	access := newSrv.ok(m.createOnNew(m.serviceToken("did:web:new.test", "com.atproto.server.createAccount")))["accessJwt"].(string)
	t.Run("the DID again on the same new server", func(t *testing.T) {
		if r := m.createOnNew(m.serviceToken("did:web:new.test", "com.atproto.server.createAccount")); r.errName() != "AlreadyExists" {
			t.Fatalf("got %s", r)
		}
	})
	t.Run("import of another DID's repo", func(t *testing.T) {
		bob, _ := oldSrv.srv.store.AccountByHandle(context.Background(), "bob.test")
		car := oldSrv.do(http.MethodGet, "/xrpc/com.atproto.sync.getRepo?did="+bob.DID, "", nil, nil)
		before := newSrv.ok(newSrv.query("com.atproto.server.checkAccountStatus", access))
		r := newSrv.do(http.MethodPost, "/xrpc/com.atproto.repo.importRepo", access, car.body, map[string]string{"Content-Type": carContentType})
		if r.status != 400 || !strings.Contains(r.String(), bob.DID) {
			t.Fatalf("got %s", r)
		}
		if after := newSrv.ok(newSrv.query("com.atproto.server.checkAccountStatus", access)); after["repoCommit"] != before["repoCommit"] {
			t.Fatal("the refused import changed the repo")
		}
	})

	rec := newSrv.ok(newSrv.query("com.atproto.identity.getRecommendedDidCredentials", access))
	oldSrv.ok(oldSrv.proc("com.atproto.identity.requestPlcOperationSignature", alice.access, nil))
	good := m.plcToken()
	for _, c := range []struct {
		name, token, want string
		advance           time.Duration
	}{
		{"no PLC token", "", "InvalidRequest", 0},
		{"wrong PLC token", "AAAAA-BBBBB", "InvalidToken", 0},
		{"expired PLC token", good, "ExpiredToken", emailTokenTTL + time.Second},
	} {
		t.Run(c.name, func(t *testing.T) {
			oldSrv.clock.Advance(c.advance)
			defer oldSrv.clock.Advance(-c.advance)
			rec["token"] = c.token
			if r := oldSrv.proc("com.atproto.identity.signPlcOperation", alice.access, rec); r.errName() != c.want {
				t.Fatalf("got %s, want %s", r, c.want)
			}
			if m.docPDS() != oldSrv.url {
				t.Fatal("the DID moved")
			}
		})
	}
	t.Run("an operation that does not name the new server", func(t *testing.T) {
		rec["token"] = good
		rec["services"] = map[string]any{"atproto_pds": map[string]string{"type": "AtprotoPersonalDataServer", "endpoint": "http://elsewhere.test"}}
		signed := oldSrv.ok(oldSrv.proc("com.atproto.identity.signPlcOperation", alice.access, rec))
		r := newSrv.proc("com.atproto.identity.submitPlcOperation", access, map[string]any{"operation": signed["operation"]})
		if r.status != 400 || !strings.Contains(r.String(), "Incorrect endpoint") {
			t.Fatalf("got %s", r)
		}
		if m.docPDS() != oldSrv.url {
			t.Fatal("the DID moved")
		}
	})
}

func TestAppPasswordSessionsCannotMoveTheIdentity(t *testing.T) {
	m := startMigration(t)
	ts, alice := m.old, m.alice
	pw := ts.ok(ts.proc("com.atproto.server.createAppPassword", alice.access, map[string]any{"name": "bot"}))["password"]
	app := ts.ok(ts.proc("com.atproto.server.createSession", "", map[string]any{"identifier": alice.handle, "password": pw}))["accessJwt"].(string)
	if r := ts.query("com.atproto.server.getServiceAuth", app, "aud", "did:web:new.test", "lxm", "com.atproto.server.createAccount"); r.status != 400 || !strings.Contains(r.String(), "insufficient access") {
		t.Fatalf("createAccount token for an app-password session: %s", r)
	}
	if r := ts.proc("com.atproto.identity.requestPlcOperationSignature", app, nil); r.errName() != "InvalidToken" {
		t.Fatalf("requestPlcOperationSignature with an app password: %s", r)
	}
	ts.ok(ts.proc("com.atproto.identity.requestPlcOperationSignature", alice.access, nil))
	if r := ts.proc("com.atproto.identity.signPlcOperation", app, map[string]any{"token": m.plcToken()}); r.errName() != "InvalidToken" {
		t.Fatalf("signPlcOperation with an app password: %s", r)
	}
	// An ordinary token is still given to an app-password session.
	ts.ok(ts.query("com.atproto.server.getServiceAuth", app, "aud", "did:web:new.test", "lxm", "app.bsky.feed.getTimeline"))
}
