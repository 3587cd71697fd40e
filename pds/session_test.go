package pds

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/arbor-atproto/arbor/internal/testfixtures"
)

// mailBox collects the JSON mail log of a test server.
type mailBox struct{ testfixtures.SyncBuffer }

// mails are the mails logged so far.
func (m *mailBox) mails(t testing.TB) []Mail {
	t.Helper()
	var out []Mail
	for _, line := range strings.Split(strings.TrimSpace(m.String()), "\n") {
		if line == "" {
			continue
		}
		var l struct{ Mail Mail }
		if err := json.Unmarshal([]byte(line), &l); err != nil || l.Mail.To == "" {
			t.Fatalf("mail log line %q: %v", line, err)
		}
		out = append(out, l.Mail)
	}
	return out
}

// last is the last mail, which must be to addr with subject.
func (m *mailBox) last(t testing.TB, to, subject string) string {
	t.Helper()
	all := m.mails(t)
	if len(all) == 0 {
		t.Fatal("no mail logged")
	}
	l := all[len(all)-1]
	if l.To != to || l.Subject != subject || l.Token == "" {
		t.Fatalf("last mail %+v, want to %s subject %q", l, to, subject)
	}
	return l.Token
}

func startWithMail(t testing.TB) (*testServer, *mailBox, *user) {
	t.Helper()
	box := &mailBox{}
	ts := startServer(t, Config{Mail: NewMailLog(true, box)})
	return ts, box, ts.createUser("alice")
}

// tokenScope is the scope claim of a JWT (not verified).
func tokenScope(t testing.TB, tok string) string {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", tok)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Scope string `json:"scope"`
	}
	json.Unmarshal(b, &c)
	return c.Scope
}

func tokenID(t testing.TB, tok string) string {
	t.Helper()
	b, _ := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[1])
	var c struct {
		JTI string `json:"jti"`
	}
	json.Unmarshal(b, &c)
	return c.JTI
}

func TestMailLogLineForms(t *testing.T) {
	m := Mail{To: "alice@example.com", Subject: `Email "Confirmation"`, Token: "ABCDE-FGHIJ"}
	for _, tc := range []struct {
		json bool
		want string
	}{
		{false, `mail to=alice@example.com subject="Email \"Confirmation\"" token=ABCDE-FGHIJ` + "\n"},
		{true, `{"mail":{"to":"alice@example.com","subject":"Email \"Confirmation\"","token":"ABCDE-FGHIJ"}}` + "\n"},
	} {
		var a, b bytes.Buffer
		if err := NewMailLog(tc.json, &a, &b).Send(m); err != nil {
			t.Fatal(err)
		}
		if a.String() != tc.want || b.String() != tc.want {
			t.Errorf("json %v: got %q and %q, want %q", tc.json, a.String(), b.String(), tc.want)
		}
	}
	var nilLog *MailLog
	if err := nilLog.Send(m); err != nil {
		t.Fatal(err)
	}
}

// An app password logs in to a session marked as one (scope
// com.atproto.appPass), which may write records but not do account-level
// actions; revoking it ends its sessions' refreshes.
func TestAppPasswordSessionsAreLimited(t *testing.T) {
	ts, u := startWithAlice(t)
	if r := ts.proc("com.atproto.server.createAppPassword", u.access, map[string]any{"name": ""}); r.errName() != "InvalidRequest" {
		t.Fatalf("no name: %s", r)
	}
	made := ts.ok(ts.proc("com.atproto.server.createAppPassword", u.access, map[string]any{"name": "bot"}))
	pw, _ := made["password"].(string)
	if len(pw) != 19 || strings.Count(pw, "-") != 3 || made["name"] != "bot" || made["privileged"] != false || made["createdAt"] == nil {
		t.Fatalf("createAppPassword: %v", made)
	}
	if r := ts.proc("com.atproto.server.createAppPassword", u.access, map[string]any{"name": "bot"}); r.status != 400 {
		t.Fatalf("same name twice: %s", r)
	}
	priv := ts.ok(ts.proc("com.atproto.server.createAppPassword", u.access, map[string]any{"name": "chat", "privileged": true}))
	sess := ts.ok(ts.proc("com.atproto.server.createSession", "", map[string]any{"identifier": u.handle, "password": pw}))
	access, refresh := sess["accessJwt"].(string), sess["refreshJwt"].(string)
	if got := tokenScope(t, access); got != "com.atproto.appPass" {
		t.Fatalf("app password session scope %q", got)
	}
	psess := ts.ok(ts.proc("com.atproto.server.createSession", "", map[string]any{"identifier": u.handle, "password": priv["password"]}))
	if got := tokenScope(t, psess["accessJwt"].(string)); got != "com.atproto.appPassPrivileged" {
		t.Fatalf("privileged app password session scope %q", got)
	}
	if got := tokenScope(t, u.access); got != "com.atproto.access" {
		t.Fatalf("password session scope %q", got)
	}
	// It reads and writes.
	ts.ok(ts.query("com.atproto.server.getSession", access))
	ts.ok(ts.proc("com.atproto.repo.createRecord", access, map[string]any{"repo": u.did, "collection": "app.bsky.feed.post", "record": post("from a bot")}))
	list := ts.ok(ts.query("com.atproto.server.listAppPasswords", access))
	if ps, _ := list["passwords"].([]any); len(ps) != 2 {
		t.Fatalf("listAppPasswords: %v", list)
	}
	// Account-level actions are refused to it, as the reference refuses
	// them (400 InvalidToken "Bad token scope").
	refused := []struct{ nsid string }{
		{"com.atproto.server.createAppPassword"},
		{"com.atproto.server.requestEmailUpdate"},
		{"com.atproto.server.updateEmail"},
	}
	for _, tc := range refused {
		r := ts.proc(tc.nsid, access, map[string]any{"name": "x", "email": "new@example.com"})
		if r.status != 400 || r.errName() != "InvalidToken" || !strings.Contains(string(r.body), "Bad token scope") {
			t.Errorf("%s with an app password session: %s", tc.nsid, r)
		}
	}
	// A refreshed app password session is still one.
	again := ts.ok(ts.proc("com.atproto.server.refreshSession", refresh, nil))
	if got := tokenScope(t, again["accessJwt"].(string)); got != "com.atproto.appPass" {
		t.Fatalf("refreshed app password session scope %q", got)
	}
	if r := ts.proc("com.atproto.server.createAppPassword", again["accessJwt"].(string), map[string]any{"name": "x"}); r.errName() != "InvalidToken" {
		t.Fatalf("createAppPassword with a refreshed app password session: %s", r)
	}
	// Revoking the app password ends the refreshes of its sessions and
	// its logins, not the account's own.
	ts.ok(ts.proc("com.atproto.server.revokeAppPassword", u.access, map[string]any{"name": "bot"}))
	if r := ts.proc("com.atproto.server.refreshSession", again["refreshJwt"].(string), nil); r.errName() != "ExpiredToken" {
		t.Fatalf("refresh after revokeAppPassword: %s", r)
	}
	if r := ts.proc("com.atproto.server.createSession", "", map[string]any{"identifier": u.handle, "password": pw}); r.status != 401 {
		t.Fatalf("login with a revoked app password: %s", r)
	}
	ts.ok(ts.proc("com.atproto.server.refreshSession", u.refresh, nil))
}

// A refresh token can be used again for two hours after its first use,
// each use giving a refresh token with the same id; then it is revoked.
// deleteSession revokes at once.
func TestRefreshTokenGracePeriod(t *testing.T) {
	ts, u := startWithAlice(t)
	first := ts.ok(ts.proc("com.atproto.server.refreshSession", u.refresh, nil))
	ts.clock.Advance(refreshGrace - time.Minute)
	second := ts.ok(ts.proc("com.atproto.server.refreshSession", u.refresh, nil))
	a, b := first["refreshJwt"].(string), second["refreshJwt"].(string)
	if tokenID(t, a) != tokenID(t, b) || tokenID(t, a) == tokenID(t, u.refresh) {
		t.Fatalf("reuse in the grace period gave refresh token ids %s and %s (first %s)", tokenID(t, a), tokenID(t, b), tokenID(t, u.refresh))
	}
	ts.clock.Advance(2 * time.Minute)
	if r := ts.proc("com.atproto.server.refreshSession", u.refresh, nil); r.status != 400 || r.errName() != "ExpiredToken" {
		t.Fatalf("after the grace period: %s", r)
	}
	// The successor works (either copy), and is revoked by deleteSession.
	next := ts.ok(ts.proc("com.atproto.server.refreshSession", b, nil))
	ts.ok(ts.proc("com.atproto.server.deleteSession", next["refreshJwt"].(string), nil))
	if r := ts.proc("com.atproto.server.refreshSession", next["refreshJwt"].(string), nil); r.status != 400 || r.errName() != "ExpiredToken" {
		t.Fatalf("after deleteSession: %s", r)
	}
	if r := ts.proc("com.atproto.server.deleteSession", next["refreshJwt"].(string), nil); r.status != 400 {
		t.Fatalf("deleteSession twice: %s", r)
	}
}

// The email flows write their tokens to the mail log and take them back.
func TestEmailFlowsThroughTheMailLog(t *testing.T) {
	ts, box, u := startWithMail(t)
	const addr = "alice@example.com"
	ts.ok(ts.proc("com.atproto.server.requestEmailConfirmation", u.access, nil))
	tok := box.last(t, addr, "Email Confirmation")
	if len(tok) != 11 || tok[5] != '-' || strings.ToUpper(tok) != tok {
		t.Fatalf("token %q is not XXXXX-XXXXX", tok)
	}
	for _, tc := range []struct{ name, email, token, want string }{
		{"wrong token", addr, "AAAAA-AAAAA", "InvalidToken"},
		{"other address", "bob@example.com", tok, "InvalidEmail"},
	} {
		if r := ts.proc("com.atproto.server.confirmEmail", u.access, map[string]any{"email": tc.email, "token": tc.token}); r.status != 400 || r.errName() != tc.want {
			t.Errorf("%s: want 400 %s, got %s", tc.name, tc.want, r)
		}
	}
	ts.ok(ts.proc("com.atproto.server.confirmEmail", u.access, map[string]any{"email": addr, "token": strings.ToLower(tok)}))
	if s := ts.ok(ts.query("com.atproto.server.getSession", u.access)); s["emailConfirmed"] != true {
		t.Fatalf("after confirmEmail: %v", s)
	}
	if r := ts.proc("com.atproto.server.confirmEmail", u.access, map[string]any{"email": addr, "token": tok}); r.errName() != "InvalidToken" {
		t.Fatalf("a token used twice: %s", r)
	}
	// A confirmed address needs a token to change.
	if out := ts.ok(ts.proc("com.atproto.server.requestEmailUpdate", u.access, nil)); out["tokenRequired"] != true {
		t.Fatalf("requestEmailUpdate: %v", out)
	}
	upd := box.last(t, addr, "Email Update Requested")
	if r := ts.proc("com.atproto.server.updateEmail", u.access, map[string]any{"email": "new@example.com"}); r.errName() != "TokenRequired" {
		t.Fatalf("updateEmail without its token: %s", r)
	}
	ts.clock.Advance(emailTokenTTL + time.Second)
	if r := ts.proc("com.atproto.server.updateEmail", u.access, map[string]any{"email": "new@example.com", "token": upd}); r.errName() != "ExpiredToken" {
		t.Fatalf("updateEmail with a token 15 minutes old: %s", r)
	}
	ts.ok(ts.proc("com.atproto.server.requestEmailUpdate", u.access, nil))
	upd = box.last(t, addr, "Email Update Requested")
	ts.ok(ts.proc("com.atproto.server.updateEmail", u.access, map[string]any{"email": "New@Example.com", "token": upd}))
	if s := ts.ok(ts.query("com.atproto.server.getSession", u.access)); s["email"] != "new@example.com" || s["emailConfirmed"] != false {
		t.Fatalf("after updateEmail: %v", s)
	}
	// A password reset: mailed to the address, no session needed; it
	// revokes the account's refresh tokens.
	ts.ok(ts.proc("com.atproto.server.requestPasswordReset", "", map[string]any{"email": "nobody@example.com"}))
	ts.ok(ts.proc("com.atproto.server.requestPasswordReset", "", map[string]any{"email": "new@example.com"}))
	reset := box.last(t, "new@example.com", "Password Reset Requested")
	ts.ok(ts.proc("com.atproto.server.resetPassword", "", map[string]any{"token": reset, "password": "new-password"}))
	if r := ts.proc("com.atproto.server.refreshSession", u.refresh, nil); r.errName() != "ExpiredToken" {
		t.Fatalf("refresh after a password reset: %s", r)
	}
	if r := ts.proc("com.atproto.server.createSession", "", map[string]any{"identifier": u.handle, "password": u.password}); r.status != 401 {
		t.Fatalf("the old password after a reset: %s", r)
	}
	ts.ok(ts.proc("com.atproto.server.createSession", "", map[string]any{"identifier": u.handle, "password": "new-password"}))
	if r := ts.proc("com.atproto.server.resetPassword", "", map[string]any{"token": reset, "password": "again"}); r.errName() != "InvalidToken" {
		t.Fatalf("a reset token used twice: %s", r)
	}
}
