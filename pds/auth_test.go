package pds

import (
	"bytes"
	"encoding/base64"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/ipfs/go-cid"
	"github.com/multiformats/go-multihash"

	"github.com/arbor-atproto/arbor/car"
)

func TestSessionsCreateGetRefreshDelete(t *testing.T) {
	ts, u := startWithAlice(t)
	for _, ident := range []string{"alice.test", "ALICE.test", u.did, "alice@example.com"} {
		out := ts.ok(ts.proc("com.atproto.server.createSession", "", map[string]any{"identifier": ident, "password": u.password}))
		if out["did"] != u.did || out["handle"] != u.handle || out["didDoc"] == nil {
			t.Fatalf("createSession as %s: %v", ident, out)
		}
	}
	for _, tc := range []struct{ ident, pw string }{{"alice.test", "wrong"}, {"nobody.test", "x"}, {"", ""}} {
		r := ts.proc("com.atproto.server.createSession", "", map[string]any{"identifier": tc.ident, "password": tc.pw})
		if r.status != 401 || r.errName() != "AuthenticationRequired" {
			t.Fatalf("createSession %q/%q: %s", tc.ident, tc.pw, r)
		}
	}
	sess := ts.ok(ts.query("com.atproto.server.getSession", u.access))
	if sess["did"] != u.did || sess["email"] != "alice@example.com" {
		t.Fatalf("getSession: %v", sess)
	}
	refreshed := ts.ok(ts.proc("com.atproto.server.refreshSession", u.refresh, nil))
	newRefresh := refreshed["refreshJwt"].(string)
	ts.ok(ts.query("com.atproto.server.getSession", refreshed["accessJwt"].(string)))
	// A used refresh token works again in its grace period (session_test.go
	// pins that); after the grace period it is revoked.
	ts.clock.Advance(refreshGrace + time.Second)
	if r := ts.proc("com.atproto.server.refreshSession", u.refresh, nil); r.status != 400 || r.errName() != "ExpiredToken" {
		t.Fatalf("use of a refresh token after its grace period: %s", r)
	}
	ts.ok(ts.proc("com.atproto.server.deleteSession", newRefresh, nil))
	if r := ts.proc("com.atproto.server.refreshSession", newRefresh, nil); r.status != 400 {
		t.Fatalf("refresh after deleteSession: %s", r)
	}
}

func TestCreateAccountRefusals(t *testing.T) {
	ts := startServer(t, Config{})
	ts.createUser("alice")
	for _, tc := range []struct {
		name string
		body map[string]any
		want string
	}{
		{"taken handle", map[string]any{"handle": "alice.test", "password": "x"}, "HandleNotAvailable"},
		{"taken handle in other case", map[string]any{"handle": "Alice.test", "password": "x"}, "HandleNotAvailable"},
		{"taken email", map[string]any{"handle": "other.test", "email": "alice@example.com", "password": "x"}, "InvalidEmail"},
		{"other domain", map[string]any{"handle": "bob.example.com", "password": "x"}, "UnsupportedDomain"},
		{"two labels", map[string]any{"handle": "a.bob.test", "password": "x"}, "InvalidHandle"},
		{"too short", map[string]any{"handle": "ab.test", "password": "x"}, "InvalidHandle"},
		{"not a handle", map[string]any{"handle": "bad handle.test", "password": "x"}, "InvalidHandle"},
		{"no password", map[string]any{"handle": "bob.test"}, "InvalidRequest"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := ts.proc("com.atproto.server.createAccount", "", tc.body)
			if r.status != 400 || r.errName() != tc.want {
				t.Fatalf("want 400 %s, got %s", tc.want, r)
			}
		})
	}
}

func TestExpiredOrTamperedTokensAreRefused(t *testing.T) {
	ts, u := startWithAlice(t)
	parts := strings.Split(u.access, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	otherPayload := base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(payload), u.did, "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa", 1)))
	noneHeader := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"at+jwt"}`))
	otherSecret := func() string {
		c := jwt.MapClaims{"scope": scopeAccess, "sub": u.did, "aud": ts.srv.serviceDID, "exp": time.Now().Add(time.Hour).Unix()}
		s, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString([]byte("another secret"))
		return s
	}()
	flipped := []byte(parts[2])
	if flipped[3] == 'A' {
		flipped[3] = 'B'
	} else {
		flipped[3] = 'A'
	}
	for _, tc := range []struct {
		name, token string
	}{
		{"signature changed", parts[0] + "." + parts[1] + "." + string(flipped)},
		{"payload changed", parts[0] + "." + otherPayload + "." + parts[2]},
		{"alg none", noneHeader + "." + parts[1] + "."},
		{"signed with another secret", otherSecret},
		{"not a JWT", "abc"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, r := range []*resp{
				ts.query("com.atproto.server.getSession", tc.token),
				ts.proc("com.atproto.repo.createRecord", tc.token, map[string]any{"repo": u.did, "collection": "app.bsky.feed.post", "record": post("x")}),
			} {
				if r.status != 401 || r.errName() != "InvalidToken" {
					t.Fatalf("want 401 InvalidToken, got %s", r)
				}
			}
		})
	}
	r := ts.do(http.MethodGet, "/xrpc/com.atproto.server.getSession", "", nil, map[string]string{"Authorization": "Basic abc"})
	if r.status != 401 {
		t.Fatalf("basic auth on getSession: %s", r)
	}
	ts.ok(ts.query("com.atproto.server.getSession", u.access))
	ts.clock.Advance(DefaultAccessTTL + time.Minute)
	if r := ts.query("com.atproto.server.getSession", u.access); r.status != 400 || r.errName() != "ExpiredToken" {
		t.Fatalf("expired access token: %s", r)
	}
	// The refresh token is still good and gives a working access token.
	out := ts.ok(ts.proc("com.atproto.server.refreshSession", u.refresh, nil))
	ts.ok(ts.query("com.atproto.server.getSession", out["accessJwt"].(string)))
	ts.clock.Advance(DefaultRefreshTTL)
	if r := ts.proc("com.atproto.server.refreshSession", out["refreshJwt"].(string), nil); r.status != 400 || r.errName() != "ExpiredToken" {
		t.Fatalf("expired refresh token: %s", r)
	}
}

func TestOversizedBodiesAreRefused(t *testing.T) {
	ts := startServer(t, Config{MaxJSONBody: 4 << 10, MaxBlobSize: 8 << 10, MaxImportSize: 16 << 10})
	u := ts.createUser("alice")
	big := strings.Repeat("x", 5<<10)
	// A reader that would go on for ever: the server must stop reading.
	endless := func() *countingReader { return &countingReader{limit: 1 << 30} }
	for _, tc := range []struct {
		name string
		do   func() *resp
		want string
	}{
		{"JSON body with a length", func() *resp {
			return ts.proc("com.atproto.repo.createRecord", u.access, map[string]any{"repo": u.did, "collection": "app.bsky.feed.post", "record": post(big)})
		}, "PayloadTooLarge"},
		{"JSON body without a length", func() *resp {
			return ts.do(http.MethodPost, "/xrpc/com.atproto.repo.createRecord", u.access, endless(), map[string]string{"Content-Type": "application/json"})
		}, "PayloadTooLarge"},
		{"blob with a length", func() *resp {
			return ts.do(http.MethodPost, "/xrpc/com.atproto.repo.uploadBlob", u.access, []byte(strings.Repeat("b", 9<<10)), nil)
		}, "PayloadTooLarge"},
		{"blob without a length", func() *resp {
			return ts.do(http.MethodPost, "/xrpc/com.atproto.repo.uploadBlob", u.access, endless(), nil)
		}, "BlobTooLarge"},
		{"import with a length", func() *resp {
			return ts.do(http.MethodPost, "/xrpc/com.atproto.repo.importRepo", u.access, bigCAR(t, 20<<10), map[string]string{"Content-Type": "application/vnd.ipld.car"})
		}, "PayloadTooLarge"},
		{"import without a length", func() *resp {
			return ts.do(http.MethodPost, "/xrpc/com.atproto.repo.importRepo", u.access, io.MultiReader(bytes.NewReader(bigCAR(t, 20<<10))), map[string]string{"Content-Type": "application/vnd.ipld.car"})
		}, "PayloadTooLarge"},
		{"createSession body", func() *resp {
			return ts.proc("com.atproto.server.createSession", "", map[string]any{"identifier": big, "password": "x"})
		}, "PayloadTooLarge"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.do()
			if r.status != http.StatusRequestEntityTooLarge || r.errName() != tc.want {
				t.Fatalf("want 413 %s, got %s", tc.want, r)
			}
		})
	}
	// Nothing of the refused blobs is left behind.
	entries, err := osReadDir(ts.srv.blobs.dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		t.Fatalf("blob directory holds %v after refused uploads", entries)
	}
}

// countingReader yields 'x' bytes up to limit, without a known length.
type countingReader struct{ n, limit int }

func (c *countingReader) Read(p []byte) (int, error) {
	if c.n >= c.limit {
		return 0, io.EOF
	}
	n := min(len(p), c.limit-c.n)
	for i := range p[:n] {
		p[i] = 'x'
	}
	c.n += n
	return n, nil
}

// bigCAR is a well-formed CAR holding one raw block of n bytes.
func bigCAR(t *testing.T, n int) []byte {
	t.Helper()
	data := bytes.Repeat([]byte{1}, n)
	c, _ := cid.Prefix{Version: 1, Codec: cid.Raw, MhType: multihash.SHA2_256, MhLength: -1}.Sum(data)
	var buf bytes.Buffer
	w, err := car.NewWriter(&buf, []cid.Cid{c})
	if err != nil {
		t.Fatal(err)
	}
	w.Put(c, data)
	w.Flush()
	return buf.Bytes()
}

func TestAdminEndpointsNeedTheAdminPassword(t *testing.T) {
	ts, u := startWithAlice(t)
	basic := func(user, pass string) map[string]string {
		return map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))}
	}
	info := "/xrpc/com.atproto.admin.getAccountInfo?did=" + u.did
	for _, h := range []map[string]string{nil, basic("admin", "wrong"), basic("root", ts.srv.AdminPassword()), {"Authorization": "Bearer " + u.access}} {
		if r := ts.do(http.MethodGet, info, "", nil, h); r.status != 401 {
			t.Fatalf("getAccountInfo with %v: %s", h, r)
		}
	}
	r := ts.do(http.MethodGet, info, "", nil, basic("admin", ts.srv.AdminPassword()))
	if got := ts.ok(r); got["handle"] != u.handle {
		t.Fatalf("getAccountInfo: %v", got)
	}
	ts.ok(ts.do(http.MethodPost, "/xrpc/com.atproto.admin.updateAccountPassword", "", []byte(`{"did":"`+u.did+`","password":"new-pw"}`), basic("admin", ts.srv.AdminPassword())))
	if r := ts.proc("com.atproto.server.createSession", "", map[string]any{"identifier": u.handle, "password": u.password}); r.status != 401 {
		t.Fatalf("old password still works: %s", r)
	}
	ts.ok(ts.proc("com.atproto.server.createSession", "", map[string]any{"identifier": u.handle, "password": "new-pw"}))
}
