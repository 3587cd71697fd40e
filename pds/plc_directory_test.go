package pds

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/atcrypto"
	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/arbor-atproto/arbor/plc"
)

func TestEmbeddedDirectoryServesValidLogs(t *testing.T) {
	ts, u := startWithAlice(t)
	client := &plc.Client{Host: ts.url}
	entries, _, err := client.AuditLog(context.Background(), syntax.DID(u.did))
	if err != nil {
		t.Fatal(err)
	}
	st, err := plc.ValidateLog(syntax.DID(u.did), entries)
	if err != nil {
		t.Fatalf("audit log does not validate: %v", err)
	}
	if h := st.Current().PrimaryHandle(); h != "alice.test" {
		t.Fatalf("handle in the log: %q", h)
	}
	if pds, _ := st.Current().ServiceByID("atproto_pds"); pds.Endpoint != ts.url {
		t.Fatalf("PDS endpoint in the log: %q", pds.Endpoint)
	}
	for _, tc := range []struct{ path, want string }{
		{"/" + u.did, `"id":"` + u.did + `"`},
		{"/" + u.did + "/data", `"rotationKeys"`},
		{"/" + u.did + "/log", `"plc_operation"`},
		{"/" + u.did + "/log/last", `"plc_operation"`},
	} {
		r := ts.do(http.MethodGet, tc.path, "", nil, nil)
		if r.status != 200 || !strings.Contains(string(r.body), tc.want) {
			t.Errorf("GET %s: %s", tc.path, r)
		}
	}
	if r := ts.do(http.MethodGet, "/did:plc:aaaaaaaaaaaaaaaaaaaaaaaa", "", nil, nil); r.status != 404 {
		t.Errorf("unknown DID: %s", r)
	}

	// updateHandle goes through the directory.
	ts.ok(ts.proc("com.atproto.identity.updateHandle", u.access, map[string]any{"handle": "alicia.test"}))
	r := ts.do(http.MethodGet, "/"+u.did, "", nil, nil)
	var doc plc.Document
	json.Unmarshal(r.body, &doc)
	if len(doc.AlsoKnownAs) != 1 || doc.AlsoKnownAs[0] != "at://alicia.test" {
		t.Fatalf("document after updateHandle: %s", r.body)
	}
	if res := ts.ok(ts.query("com.atproto.identity.resolveHandle", "", "handle", "alicia.test")); res["did"] != u.did {
		t.Fatalf("resolveHandle after update: %v", res)
	}

	// POST: an operation signed by the rotation key is accepted; one signed
	// by another key, or malformed, is refused and changes nothing.
	entries, _, _ = client.AuditLog(context.Background(), syntax.DID(u.did))
	st, _ = plc.ValidateLog(syntax.DID(u.did), entries)
	stranger, _ := atcrypto.GeneratePrivateKeyK256()
	bad, err := plc.NextOperation(st, plc.Update{Handle: "mallory.test"}, ts.srv.rotation, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	bad = bad.Unsigned()
	if err := plc.Sign(bad, stranger); err != nil {
		t.Fatal(err)
	}
	if err := client.Submit(context.Background(), syntax.DID(u.did), bad); err == nil || !strings.Contains(err.Error(), "400") {
		t.Fatalf("an operation signed by a stranger: %v", err)
	}
	if r := ts.do(http.MethodPost, "/"+u.did, "", []byte(`{"type":"plc_operation"}`), nil); r.status != 400 {
		t.Fatalf("malformed operation: %s", r)
	}
	good, err := plc.NextOperation(st, plc.Update{PDS: "http://elsewhere.example"}, ts.srv.rotation, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := client.Submit(context.Background(), syntax.DID(u.did), good); err != nil {
		t.Fatalf("operation signed by the rotation key: %v", err)
	}
	entries, _, _ = client.AuditLog(context.Background(), syntax.DID(u.did))
	if len(entries) != 3 {
		t.Fatalf("log has %d entries, want 3", len(entries))
	}
}

// With a remote directory the server registers and resolves identities
// there, and serves no directory routes itself.
func TestRemoteDirectoryIsUsedForIdentities(t *testing.T) {
	dir := startServer(t, Config{})
	ts := startServer(t, Config{PLCURL: dir.url})
	u := ts.createUser("alice")
	r := dir.do(http.MethodGet, "/"+u.did, "", nil, nil)
	if r.status != 200 || !strings.Contains(string(r.body), ts.url) {
		t.Fatalf("the directory does not hold %s with the PDS endpoint %s: %s", u.did, ts.url, r)
	}
	if r := ts.do(http.MethodGet, "/"+u.did, "", nil, nil); r.status != 404 {
		t.Fatalf("the PDS serves directory routes with a remote directory: %s", r)
	}
	if ts.srv.PLCURL() != dir.url {
		t.Fatalf("PLCURL %s", ts.srv.PLCURL())
	}
	desc := ts.ok(ts.query("com.atproto.repo.describeRepo", "", "repo", u.did))
	if desc["handleIsCorrect"] != true {
		t.Fatalf("describeRepo through the remote directory: %v", desc)
	}
	ts.createRecord(u, "", post("x"))
	ts.fetchVerifiedRepo(u) // signed with the key the remote directory publishes
}
