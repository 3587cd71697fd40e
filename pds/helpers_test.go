package pds

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/bluesky-social/indigo/atproto/atcrypto"
	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/arbor-atproto/arbor/firehose"
	"github.com/arbor-atproto/arbor/internal/testfixtures"
)

// testServer is a Server listening on loopback.
type testServer struct {
	t     testing.TB
	srv   *Server
	hs    *httptest.Server
	url   string
	clock *testfixtures.Clock
}

// startServer starts a server on a loopback port; cfg.PublicURL is set
// from the listener. It is stopped when the test ends.
func startServer(t testing.TB, cfg Config) *testServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return startServerOn(t, ln, cfg)
}

// startWithAlice starts a server with the default configuration and one
// account, alice.test.
func startWithAlice(t testing.TB) (*testServer, *user) {
	t.Helper()
	ts := startServer(t, Config{})
	return ts, ts.createUser("alice")
}

func startServerOn(t testing.TB, ln net.Listener, cfg Config) *testServer {
	t.Helper()
	clock := &testfixtures.Clock{}
	if cfg.Now == nil {
		cfg.Now = clock.Now
	}
	if cfg.PublicURL == "" {
		cfg.PublicURL = "http://" + ln.Addr().String()
	}
	srv, err := Open(cfg)
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	hs := httptest.NewUnstartedServer(srv)
	hs.Config = srv.HTTPServer() // the connection limits arbor pds serve has
	hs.Listener.Close()
	hs.Listener = ln
	hs.Start()
	ts := &testServer{t: t, srv: srv, hs: hs, url: hs.URL, clock: clock}
	t.Cleanup(ts.stop)
	return ts
}

func (ts *testServer) stop() {
	if ts.hs != nil {
		ts.hs.Close()
		ts.hs = nil
	}
	if ts.srv != nil {
		ts.srv.Close()
		ts.srv = nil
	}
}

// resp is an HTTP answer.
type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r *resp) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("answer (status %d) is not a JSON object: %v: %s", r.status, err, r.body)
	}
	return m
}

// errName is the XRPC error name of an answer ("" for none).
func (r *resp) errName() string {
	var m struct {
		Error string `json:"error"`
	}
	json.Unmarshal(r.body, &m)
	return m.Error
}

func (r *resp) String() string { return fmt.Sprintf("%d %s", r.status, r.body) }

// do sends one request. body may be nil, []byte, io.Reader or a value to
// encode as JSON.
func (ts *testServer) do(method, path, token string, body any, header map[string]string) *resp {
	ts.t.Helper()
	var rd io.Reader
	ctype := ""
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case io.Reader:
		rd = b
	default:
		j, err := json.Marshal(b)
		if err != nil {
			ts.t.Fatal(err)
		}
		rd, ctype = bytes.NewReader(j), "application/json"
	}
	req, err := http.NewRequest(method, ts.url+path, rd)
	if err != nil {
		ts.t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range header {
		if k == "Host" {
			req.Host = v
		} else {
			req.Header.Set(k, v)
		}
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		ts.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		ts.t.Fatalf("%s %s: reading answer: %v", method, path, err)
	}
	return &resp{status: res.StatusCode, header: res.Header, body: b}
}

// query calls an XRPC query with parameters given as name, value pairs.
func (ts *testServer) query(nsid, token string, params ...string) *resp {
	ts.t.Helper()
	q := url.Values{}
	for i := 0; i+1 < len(params); i += 2 {
		q.Add(params[i], params[i+1])
	}
	p := "/xrpc/" + nsid
	if len(q) > 0 {
		p += "?" + q.Encode()
	}
	return ts.do(http.MethodGet, p, token, nil, nil)
}

// proc calls an XRPC procedure with a JSON body.
func (ts *testServer) proc(nsid, token string, body any) *resp {
	ts.t.Helper()
	return ts.do(http.MethodPost, "/xrpc/"+nsid, token, body, nil)
}

// ok fails the test unless the answer is 200 and returns its JSON.
func (ts *testServer) ok(r *resp) map[string]any {
	ts.t.Helper()
	if r.status != http.StatusOK {
		ts.t.Fatalf("want 200, got %s", r)
	}
	if len(r.body) == 0 {
		return nil
	}
	return r.json(ts.t)
}

// user is an account created through the API.
type user struct {
	did, handle, password string
	access, refresh       string
}

func (ts *testServer) createUser(name string) *user {
	ts.t.Helper()
	u := &user{handle: name + ".test", password: "pw-" + name}
	out := ts.ok(ts.proc("com.atproto.server.createAccount", "", map[string]any{
		"handle": u.handle, "email": name + "@example.com", "password": u.password,
	}))
	u.did, _ = out["did"].(string)
	u.access, _ = out["accessJwt"].(string)
	u.refresh, _ = out["refreshJwt"].(string)
	if !strings.HasPrefix(u.did, "did:plc:") || u.access == "" || u.refresh == "" {
		ts.t.Fatalf("createAccount answered %v", out)
	}
	return u
}

// post is a test record of collection app.bsky.feed.post.
func post(text string) map[string]any {
	return map[string]any{"$type": "app.bsky.feed.post", "text": text, "createdAt": "2024-01-01T00:00:00.000Z"}
}

// createRecord writes rec under rkey ("": a TID of the server's). A
// named key that is no TID (k1, before: the tests name their posts)
// asks for no validation (validate false), since a validated post must
// have a TID key, as the reference PDS refuses others
// (TestWriteRecordKeysFollowTheSchema).
func (ts *testServer) createRecord(u *user, rkey string, rec map[string]any) map[string]any {
	ts.t.Helper()
	body := map[string]any{"repo": u.did, "collection": rec["$type"], "record": rec}
	if rkey != "" {
		body["rkey"] = rkey
		if !isTID(rkey) {
			body["validate"] = false
		}
	}
	return ts.ok(ts.proc("com.atproto.repo.createRecord", u.access, body))
}

// isTID says whether a record key is a TID.
func isTID(rkey string) bool {
	_, err := syntax.ParseTID(rkey)
	return err == nil
}

func (ts *testServer) head(u *user) (string, string) {
	ts.t.Helper()
	// With the account's own token: a deactivated repo is refused to others.
	out := ts.ok(ts.query("com.atproto.sync.getLatestCommit", u.access, "did", u.did))
	return out["cid"].(string), out["rev"].(string)
}

// checkChain checks that evs follow each other as a firehose.Chain
// requires and, when key is not nil, that every #commit verifies with it.
func checkChain(t *testing.T, evs []firehose.Event, key atcrypto.PublicKey) {
	t.Helper()
	chain := firehose.NewChain()
	for _, ev := range evs {
		if _, err := chain.Check(ev); err != nil {
			t.Fatalf("chain: %v", err)
		}
		if c, ok := ev.(*firehose.Commit); ok && key != nil {
			if _, err := firehose.VerifyCommit(c, key); err != nil {
				t.Fatalf("seq %d: %v", c.Seq, err)
			}
		}
	}
}
