package pds

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/atcrypto"
)

// standInAppView answers every XRPC request with what it saw, after
// checking its service-auth JWT independently of the server's code: the
// issuer's key comes from the DID document the PDS's directory serves.
type standInAppView struct {
	t      *testing.T
	did    string
	plcURL string
	mu     sync.Mutex
	seen   []seenRequest
}

type seenRequest struct {
	Method, Path, Query, Body, Iss, Aud, Lxm, Lang string
	Exp, Iat                                       int64
	Err                                            string
}

func (av *standInAppView) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	sr := seenRequest{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Body: string(b), Lang: r.Header.Get("Accept-Language")}
	if err := av.check(r, &sr); err != nil {
		sr.Err = err.Error()
	}
	av.mu.Lock()
	av.seen = append(av.seen, sr)
	av.mu.Unlock()
	if strings.HasSuffix(r.URL.Path, "getTimeline") {
		w.Header().Set("Atproto-Repo-Rev", "3kabc")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		w.Write([]byte(`{"feed":[],"cursor":"from-the-appview"}`))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusTeapot)
	w.Write([]byte(`{"error":"Upstream","message":"as it came"}`))
}

func (av *standInAppView) check(r *http.Request, sr *seenRequest) error {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return errString("no bearer token")
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return errString("not a JWT")
	}
	var hdr struct{ Alg, Typ string }
	var claims struct {
		Iss, Aud, Lxm string
		Exp, Iat      int64
	}
	hb, _ := base64.RawURLEncoding.DecodeString(parts[0])
	pb, _ := base64.RawURLEncoding.DecodeString(parts[1])
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	if json.Unmarshal(hb, &hdr) != nil || json.Unmarshal(pb, &claims) != nil {
		return errString("undecodable JWT")
	}
	sr.Iss, sr.Aud, sr.Lxm, sr.Exp, sr.Iat = claims.Iss, claims.Aud, claims.Lxm, claims.Exp, claims.Iat
	if hdr.Alg != "ES256K" {
		return errString("alg " + hdr.Alg)
	}
	res, err := http.Get(av.plcURL + "/" + claims.Iss)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	var doc struct {
		VerificationMethod []struct {
			ID                 string `json:"id"`
			PublicKeyMultibase string `json:"publicKeyMultibase"`
		} `json:"verificationMethod"`
	}
	if err := json.NewDecoder(res.Body).Decode(&doc); err != nil {
		return err
	}
	for _, vm := range doc.VerificationMethod {
		if vm.ID == claims.Iss+"#atproto" {
			pub, err := atcrypto.ParsePublicMultibase(vm.PublicKeyMultibase)
			if err != nil {
				return err
			}
			return pub.HashAndVerifyLenient([]byte(parts[0]+"."+parts[1]), sig)
		}
	}
	return errString("no #atproto key in the issuer's document")
}

type errString string

func (e errString) Error() string { return string(e) }

func (av *standInAppView) last(t *testing.T) seenRequest {
	t.Helper()
	av.mu.Lock()
	defer av.mu.Unlock()
	if len(av.seen) == 0 {
		t.Fatal("the AppView saw no request")
	}
	return av.seen[len(av.seen)-1]
}

func (av *standInAppView) count() int {
	av.mu.Lock()
	defer av.mu.Unlock()
	return len(av.seen)
}

func startWithAppView(t *testing.T) (*testServer, *standInAppView, *user) {
	t.Helper()
	av := &standInAppView{t: t, did: "did:web:appview.test"}
	hs := httptest.NewServer(av)
	t.Cleanup(hs.Close)
	ts := startServer(t, Config{AppViewURL: hs.URL, AppViewDID: av.did})
	av.plcURL = ts.srv.PLCURL()
	return ts, av, ts.createUser("alice")
}

// app.bsky methods go to the AppView with a service-auth JWT for the
// account (iss), the AppView (aud) and the method (lxm), signed with the
// key of the account's DID document, and the answer comes back as it came.
func TestAppViewProxyForwardsWithServiceAuth(t *testing.T) {
	ts, av, u := startWithAppView(t)
	r := ts.do(http.MethodGet, "/xrpc/app.bsky.feed.getTimeline?limit=5", u.access, nil, map[string]string{"Accept-Language": "fr"})
	if r.status != 200 || string(r.body) != `{"feed":[],"cursor":"from-the-appview"}` || r.header.Get("Atproto-Repo-Rev") != "3kabc" {
		t.Fatalf("proxied getTimeline: %s %v", r, r.header)
	}
	got := av.last(t)
	now := time.Now().Unix()
	if got.Err != "" || got.Iss != u.did || got.Aud != av.did || got.Lxm != "app.bsky.feed.getTimeline" ||
		got.Exp <= now || got.Exp > now+120 || got.Query != "limit=5" || got.Lang != "fr" || got.Method != "GET" {
		t.Fatalf("the AppView saw %+v", got)
	}
	// A procedure, its body, and an error answer passed on as it came.
	r = ts.do(http.MethodPost, "/xrpc/app.bsky.graph.muteActor", u.access, map[string]any{"actor": "did:plc:x"}, nil)
	if r.status != http.StatusTeapot || r.errName() != "Upstream" {
		t.Fatalf("proxied muteActor: %s", r)
	}
	if got := av.last(t); got.Err != "" || got.Lxm != "app.bsky.graph.muteActor" || got.Body != `{"actor":"did:plc:x"}` || got.Method != "POST" {
		t.Fatalf("the AppView saw %+v", got)
	}
	// Any method with an atproto-proxy header naming the AppView.
	r = ts.do(http.MethodGet, "/xrpc/com.example.custom.method", u.access, nil, map[string]string{"atproto-proxy": av.did + "#bsky_appview"})
	if r.status != http.StatusTeapot || av.last(t).Lxm != "com.example.custom.method" {
		t.Fatalf("proxied custom method: %s, saw %+v", r, av.last(t))
	}
	n := av.count()
	for _, tc := range []struct {
		name, path, token string
		header            map[string]string
		status            int
		errName           string
	}{
		{"no session", "/xrpc/app.bsky.feed.getTimeline", "", nil, 401, "AuthenticationRequired"},
		{"protected method", "/xrpc/com.atproto.server.requestAccountDelete", u.access, map[string]string{"atproto-proxy": "did:web:x#y"}, 0, ""},
		{"no service id", "/xrpc/app.bsky.feed.getTimeline", u.access, map[string]string{"atproto-proxy": "did:web:x"}, 400, "InvalidRequest"},
		{"unresolvable DID", "/xrpc/app.bsky.feed.getTimeline", u.access, map[string]string{"atproto-proxy": "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa#bsky_appview"}, 400, "InvalidRequest"},
	} {
		r := ts.do(http.MethodGet, tc.path, tc.token, nil, tc.header)
		if tc.status != 0 && (r.status != tc.status || r.errName() != tc.errName) {
			t.Errorf("%s: want %d %s, got %s", tc.name, tc.status, tc.errName, r)
		}
	}
	if av.count() != n {
		t.Fatalf("refused requests reached the AppView: %d, then %d", n, av.count())
	}
}

// chat.bsky needs a privileged app password; account management is never
// proxied.
func TestAppViewProxyRefusals(t *testing.T) {
	ts, av, u := startWithAppView(t)
	made := ts.ok(ts.proc("com.atproto.server.createAppPassword", u.access, map[string]any{"name": "bot"}))
	sess := ts.ok(ts.proc("com.atproto.server.createSession", "", map[string]any{"identifier": u.handle, "password": made["password"]}))
	app := sess["accessJwt"].(string)
	if r := ts.query("chat.bsky.convo.listConvos", app); r.status != 400 || r.errName() != "InvalidToken" {
		t.Fatalf("chat with an app password session: %s", r)
	}
	if r := ts.query("app.bsky.feed.getTimeline", app); r.status != 200 {
		t.Fatalf("getTimeline with an app password session: %s", r)
	}
	r := ts.do(http.MethodGet, "/xrpc/com.atproto.server.getAccountInviteCodes?x=1", u.access, nil, map[string]string{"atproto-proxy": av.did + "#bsky_appview"})
	if r.errName() == "Upstream" {
		t.Fatalf("a protected method was proxied: %s", r)
	}
}

// With no AppView: a clear error for app.bsky methods, and getProfile /
// getProfiles answered for the server's own accounts from their profile
// record.
func TestNoAppViewAnswersLocally(t *testing.T) {
	ts, u := startWithAlice(t)
	r := ts.query("app.bsky.feed.getTimeline", u.access)
	if r.status != 400 || r.errName() != "InvalidRequest" || !strings.Contains(string(r.body), "no AppView configured for app.bsky.feed.getTimeline: start with --appview URL") {
		t.Fatalf("getTimeline without an AppView: %s", r)
	}
	blob := ts.ok(ts.do(http.MethodPost, "/xrpc/com.atproto.repo.uploadBlob", u.access, []byte("\x89PNG fake"), map[string]string{"Content-Type": "image/png"}))
	ts.ok(ts.proc("com.atproto.repo.putRecord", u.access, map[string]any{"repo": u.did, "collection": "app.bsky.actor.profile", "rkey": "self", "record": map[string]any{
		"$type": "app.bsky.actor.profile", "displayName": "Alice", "description": "hello", "avatar": blob["blob"],
	}}))
	ts.createRecord(u, "", post("one"))
	ts.createRecord(u, "", post("two"))
	bob := ts.createUser("bob")
	ts.createRecord(u, "", map[string]any{"$type": "app.bsky.graph.follow", "subject": bob.did, "createdAt": "2024-01-01T00:00:00.000Z"})
	for _, actor := range []string{u.handle, u.did} {
		p := ts.ok(ts.query("app.bsky.actor.getProfile", u.access, "actor", actor))
		avatar, _ := p["avatar"].(string)
		if p["did"] != u.did || p["handle"] != u.handle || p["displayName"] != "Alice" || p["description"] != "hello" ||
			p["postsCount"] != 2.0 || p["followsCount"] != 1.0 || !strings.HasPrefix(avatar, ts.url+"/xrpc/com.atproto.sync.getBlob?") {
			t.Fatalf("getProfile %s: %v", actor, p)
		}
		if r := ts.do(http.MethodGet, strings.TrimPrefix(avatar, ts.url), "", nil, nil); r.status != 200 || string(r.body) != "\x89PNG fake" {
			t.Fatalf("the avatar URL: %s", r)
		}
	}
	ps := ts.ok(ts.query("app.bsky.actor.getProfiles", u.access, "actors", u.did, "actors", "bob.test", "actors", "nobody.test"))
	if list, _ := ps["profiles"].([]any); len(list) != 2 || list[1].(map[string]any)["handle"] != "bob.test" {
		t.Fatalf("getProfiles: %v", ps)
	}
	if r := ts.query("app.bsky.actor.getProfile", u.access, "actor", "nobody.test"); r.status != 400 || !strings.Contains(string(r.body), "--appview") {
		t.Fatalf("getProfile of someone elsewhere: %s", r)
	}
}

// Preferences are the server's own: stored per account, replaced per
// namespace, personal details kept from app-password sessions, and kept
// across restarts (restart_test.go style).
func TestPreferencesAreStoredPerAccount(t *testing.T) {
	dir := t.TempDir()
	ts := startServer(t, Config{DataDir: dir})
	u := ts.createUser("alice")
	bob := ts.createUser("bob")
	prefs := []any{
		map[string]any{"$type": "app.bsky.actor.defs#adultContentPref", "enabled": true},
		map[string]any{"$type": "app.bsky.actor.defs#personalDetailsPref", "birthDate": "2000-01-01T00:00:00.000Z"},
		map[string]any{"$type": "app.bsky.actor.defs#declaredAgePref", "isOverAge18": false},
	}
	ts.ok(ts.proc("app.bsky.actor.putPreferences", u.access, map[string]any{"preferences": prefs}))
	got := ts.ok(ts.query("app.bsky.actor.getPreferences", u.access))["preferences"].([]any)
	if len(got) != 3 || got[0].(map[string]any)["enabled"] != true || got[1].(map[string]any)["birthDate"] == nil ||
		got[2].(map[string]any)["$type"] != prefDeclaredAge || got[2].(map[string]any)["isOverAge18"] != true {
		t.Fatalf("getPreferences: %v", got)
	}
	if other := ts.ok(ts.query("app.bsky.actor.getPreferences", bob.access))["preferences"].([]any); len(other) != 0 {
		t.Fatalf("bob sees %v", other)
	}
	for _, tc := range []struct {
		name string
		pref any
	}{
		{"no $type", map[string]any{"enabled": true}},
		{"other namespace", map[string]any{"$type": "com.example.pref"}},
	} {
		if r := ts.proc("app.bsky.actor.putPreferences", u.access, map[string]any{"preferences": []any{tc.pref}}); r.status != 400 || r.errName() != "InvalidRequest" {
			t.Errorf("%s: %s", tc.name, r)
		}
	}
	made := ts.ok(ts.proc("com.atproto.server.createAppPassword", u.access, map[string]any{"name": "bot"}))
	app := ts.ok(ts.proc("com.atproto.server.createSession", "", map[string]any{"identifier": u.handle, "password": made["password"]}))["accessJwt"].(string)
	if seen := ts.ok(ts.query("app.bsky.actor.getPreferences", app))["preferences"].([]any); len(seen) != 2 {
		t.Fatalf("an app password session sees %v", seen)
	}
	if r := ts.proc("app.bsky.actor.putPreferences", app, map[string]any{"preferences": prefs[1:2]}); r.status != 400 {
		t.Fatalf("an app password session set personal details: %s", r)
	}
	ts.ok(ts.proc("app.bsky.actor.putPreferences", app, map[string]any{"preferences": []any{map[string]any{"$type": "app.bsky.actor.defs#savedFeedsPrefV2", "items": []any{}}}}))
	ts.stop()
	ts2 := startServer(t, Config{DataDir: dir})
	sess := ts2.ok(ts2.proc("com.atproto.server.createSession", "", map[string]any{"identifier": u.handle, "password": u.password}))
	after := ts2.ok(ts2.query("app.bsky.actor.getPreferences", sess["accessJwt"].(string)))["preferences"].([]any)
	types := []string{}
	for _, p := range after {
		types = append(types, p.(map[string]any)["$type"].(string))
	}
	if strings.Join(types, " ") != "app.bsky.actor.defs#personalDetailsPref app.bsky.actor.defs#savedFeedsPrefV2 app.bsky.actor.defs#declaredAgePref" {
		t.Fatalf("after a restart: %v", types)
	}
}
