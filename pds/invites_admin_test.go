package pds

import (
	"net/http"
	"strings"
	"testing"
)

// With InviteRequired, createAccount needs a code with uses left; the
// admin makes, lists and disables codes; an account lists its own.
func TestInviteCodesGateSignUp(t *testing.T) {
	ts := startServer(t, Config{InviteRequired: true})
	admin := ts.adminHeader()
	if d := ts.ok(ts.query("com.atproto.server.describeServer", "")); d["inviteCodeRequired"] != true {
		t.Fatalf("describeServer: %v", d)
	}
	signUp := func(handle, code string) *resp {
		return ts.proc("com.atproto.server.createAccount", "", map[string]any{"handle": handle, "password": "pw", "inviteCode": code})
	}
	if r := signUp("alice.test", ""); r.status != 400 || r.errName() != "InvalidInviteCode" || !strings.Contains(string(r.body), "No invite code provided") {
		t.Fatalf("no code: %s", r)
	}
	if r := ts.do(http.MethodPost, "/xrpc/com.atproto.server.createInviteCode", "", map[string]any{"useCount": 1}, nil); r.status != 401 {
		t.Fatalf("createInviteCode without the admin password: %s", r)
	}
	code := ts.ok(ts.do(http.MethodPost, "/xrpc/com.atproto.server.createInviteCode", "", map[string]any{"useCount": 1}, admin))["code"].(string)
	if !strings.HasPrefix(code, "localhost-") {
		t.Fatalf("code %q", code)
	}
	alice := ts.ok(signUp("alice.test", code))
	if r := signUp("bob.test", code); r.errName() != "InvalidInviteCode" {
		t.Fatalf("a used-up code: %s", r)
	}
	many := ts.ok(ts.do(http.MethodPost, "/xrpc/com.atproto.server.createInviteCodes", "", map[string]any{"codeCount": 2, "useCount": 5, "forAccounts": []string{alice["did"].(string)}}, admin))
	codes := many["codes"].([]any)[0].(map[string]any)["codes"].([]any)
	if len(codes) != 2 {
		t.Fatalf("createInviteCodes: %v", many)
	}
	mine := ts.ok(ts.query("com.atproto.server.getAccountInviteCodes", alice["accessJwt"].(string)))["codes"].([]any)
	if len(mine) != 2 || mine[0].(map[string]any)["forAccount"] != alice["did"] {
		t.Fatalf("getAccountInviteCodes: %v", mine)
	}
	ts.ok(signUp("bob.test", codes[0].(string)))
	list := ts.ok(ts.do(http.MethodGet, "/xrpc/com.atproto.admin.getInviteCodes", "", nil, admin))["codes"].([]any)
	uses := 0
	for _, c := range list {
		uses += len(c.(map[string]any)["uses"].([]any))
	}
	if len(list) != 3 || uses != 2 {
		t.Fatalf("admin.getInviteCodes: %d codes, %d uses: %v", len(list), uses, list)
	}
	ts.ok(ts.do(http.MethodPost, "/xrpc/com.atproto.admin.disableAccountInvites", "", map[string]any{"account": alice["did"]}, admin))
	if r := signUp("carol.test", codes[1].(string)); r.errName() != "InvalidInviteCode" {
		t.Fatalf("a code of an account whose invites are disabled: %s", r)
	}
	ts.ok(ts.do(http.MethodPost, "/xrpc/com.atproto.admin.enableAccountInvites", "", map[string]any{"account": alice["did"]}, admin))
	ts.ok(ts.do(http.MethodPost, "/xrpc/com.atproto.admin.disableInviteCodes", "", map[string]any{"codes": []string{codes[1].(string)}}, admin))
	if r := signUp("carol.test", codes[1].(string)); r.errName() != "InvalidInviteCode" {
		t.Fatalf("a disabled code: %s", r)
	}
}

// The admin account methods change what they say, behind the admin
// password.
func TestAdminAccountMethods(t *testing.T) {
	ts, box, u := startWithMail(t)
	admin := ts.adminHeader()
	if r := ts.do(http.MethodGet, "/xrpc/com.atproto.admin.getAccountInfos?dids="+u.did, "", nil, nil); r.status != 401 {
		t.Fatalf("getAccountInfos without the admin password: %s", r)
	}
	ts.ok(ts.do(http.MethodPost, "/xrpc/com.atproto.admin.updateAccountEmail", "", map[string]any{"account": u.handle, "email": "Other@Example.com"}, admin))
	ts.ok(ts.do(http.MethodPost, "/xrpc/com.atproto.admin.updateAccountHandle", "", map[string]any{"did": u.did, "handle": "alice2.test"}, admin))
	infos := ts.ok(ts.do(http.MethodGet, "/xrpc/com.atproto.admin.getAccountInfos?dids="+u.did+"&dids=did:plc:nobody", "", nil, admin))["infos"].([]any)
	if len(infos) != 1 || infos[0].(map[string]any)["email"] != "other@example.com" || infos[0].(map[string]any)["handle"] != "alice2.test" {
		t.Fatalf("getAccountInfos: %v", infos)
	}
	if r := ts.ok(ts.query("com.atproto.identity.resolveHandle", "", "handle", "alice2.test")); r["did"] != u.did {
		t.Fatalf("resolveHandle after updateAccountHandle: %v", r)
	}
	ts.ok(ts.do(http.MethodPost, "/xrpc/com.atproto.admin.sendEmail", "", map[string]any{"recipientDid": u.did, "senderDid": "did:plc:admin", "content": "hi", "subject": "Hello"}, admin))
	if m := box.mails(t); m[len(m)-1].To != "other@example.com" || m[len(m)-1].Subject != "Hello" {
		t.Fatalf("sendEmail mail: %+v", m[len(m)-1])
	}
	subject := map[string]any{"$type": "com.atproto.admin.defs#repoRef", "did": u.did}
	ts.ok(ts.do(http.MethodPost, "/xrpc/com.atproto.admin.updateSubjectStatus", "", map[string]any{"subject": subject, "takedown": map[string]any{"applied": true, "ref": "case-1"}}, admin))
	st := ts.ok(ts.do(http.MethodGet, "/xrpc/com.atproto.admin.getSubjectStatus?did="+u.did, "", nil, admin))
	if st["takedown"].(map[string]any)["ref"] != "case-1" {
		t.Fatalf("getSubjectStatus: %v", st)
	}
}

// resolveDid, resolveIdentity and refreshIdentity answer for the server's
// accounts, with the lexicon's error names otherwise.
func TestIdentityResolution(t *testing.T) {
	ts, u := startWithAlice(t)
	doc := ts.ok(ts.query("com.atproto.identity.resolveDid", "", "did", u.did))["didDoc"].(map[string]any)
	if doc["id"] != u.did {
		t.Fatalf("resolveDid: %v", doc)
	}
	for _, ident := range []string{u.did, u.handle} {
		out := ts.ok(ts.query("com.atproto.identity.resolveIdentity", "", "identifier", ident))
		if out["did"] != u.did || out["handle"] != u.handle || out["didDoc"] == nil {
			t.Fatalf("resolveIdentity %s: %v", ident, out)
		}
	}
	if out := ts.ok(ts.proc("com.atproto.identity.refreshIdentity", "", map[string]any{"identifier": u.handle})); out["did"] != u.did {
		t.Fatalf("refreshIdentity: %v", out)
	}
	for _, tc := range []struct{ nsid, param, value, want string }{
		{"com.atproto.identity.resolveDid", "did", "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa", "DidNotFound"},
		{"com.atproto.identity.resolveIdentity", "identifier", "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa", "DidNotFound"},
		{"com.atproto.identity.resolveIdentity", "identifier", "nobody.invalid", "HandleNotFound"},
	} {
		if r := ts.query(tc.nsid, "", tc.param, tc.value); r.status != 400 || r.errName() != tc.want {
			t.Errorf("%s %s: want %s, got %s", tc.nsid, tc.value, tc.want, r)
		}
	}
}
