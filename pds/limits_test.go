package pds

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/arbor-atproto/arbor/internal/testfixtures"
	"github.com/golang-jwt/jwt/v5"
)

// rawConn is a TCP connection to a test server, for requests no HTTP
// client would send.
func (ts *testServer) rawConn(t *testing.T) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(ts.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// closedWithin reads c until the server closes it, failing after d (the
// "not forever" bound). It returns what was read.
func closedWithin(t *testing.T, c net.Conn, d time.Duration) string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(d))
	b, err := io.ReadAll(c)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("connection still open after %v (read %q)", d, b)
	}
	return string(b)
}

// A body that arrives too slowly, or stops, is cut off with 408; so are
// headers that never end, and a kept-alive connection that stays idle.
func TestSlowRequestsAreCutOff(t *testing.T) {
	ts := startServer(t, Config{BodyTimeout: 500 * time.Millisecond, MinBodyRate: 1000, ReadHeaderTimeout: 500 * time.Millisecond, IdleTimeout: 500 * time.Millisecond})
	head := func(extra string) string {
		return "POST /xrpc/com.atproto.server.createSession HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" + extra + "\r\n"
	}
	cases := []struct {
		name  string
		start string
		drip  string // sent every 20 ms until the server closes
		want  string // in the answer
	}{
		// 50 bytes a second, against a minimum of 1000.
		{"body trickled below the minimum rate", head("Content-Length: 100000\r\n") + `{"identifier":"`, "a", "408"},
		{"chunked body trickled", head("Transfer-Encoding: chunked\r\n") + "5\r\n{\"a\":\r\n", "1\r\n \r\n", "408"},
		{"body that stops", head("Content-Length: 100\r\n") + `{"identifier":`, "", "408"},
		{"directory operation trickled", "POST /did:plc:aaaaaaaaaaaaaaaaaaaaaaaa HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 4000\r\n\r\n{", " ", "408"},
		{"headers that never end", "POST /xrpc/com.atproto.server.createSession HTTP/1.1\r\nHost: x\r\n", "X-A: b\r\n", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := ts.rawConn(t)
			if _, err := io.WriteString(c, tc.start); err != nil {
				t.Fatal(err)
			}
			stop := make(chan struct{})
			defer close(stop)
			if tc.drip != "" {
				go func() {
					tick := time.NewTicker(20 * time.Millisecond)
					defer tick.Stop()
					for i := 0; i < 3000; i++ { // at most a minute
						select {
						case <-stop:
							return
						case <-tick.C:
						}
						if _, err := io.WriteString(c, tc.drip); err != nil {
							return
						}
					}
				}()
			}
			got := closedWithin(t, c, 20*time.Second)
			if tc.want != "" && !strings.HasPrefix(got, "HTTP/1.1 "+tc.want) {
				t.Fatalf("answer %q, want %s", got, tc.want)
			}
			if tc.want == "408" && !strings.Contains(got, "slower than 1000 bytes a second") {
				t.Fatalf("answer %q, want a RequestTimeout error", got)
			}
		})
	}
	t.Run("idle kept-alive connection", func(t *testing.T) {
		t.Parallel()
		c := ts.rawConn(t)
		io.WriteString(c, "GET /_health HTTP/1.1\r\nHost: x\r\n\r\n")
		br := bufio.NewReader(c)
		res, err := http.ReadResponse(br, nil)
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("health: %v %v", res, err)
		}
		io.Copy(io.Discard, res.Body)
		c.SetReadDeadline(time.Now().Add(20 * time.Second))
		if _, err := br.ReadByte(); err != io.EOF {
			t.Fatalf("idle connection: want EOF from the server, got %v", err)
		}
	})
}

// The minimum rate scales with the body: an upload well above the rate
// goes on for longer than BodyTimeout, and the connection then serves
// another request.
func TestUploadAboveTheMinimumRateIsNotCutOff(t *testing.T) {
	ts := startServer(t, Config{BodyTimeout: 500 * time.Millisecond, MinBodyRate: 1000})
	u := ts.createUser("alice")
	const size = 12000 // 1.2 s at 10 kB/s, ten times the minimum
	pr, pw := io.Pipe()
	go func() {
		chunk := bytes.Repeat([]byte("z"), 200)
		for i := 0; i < size/len(chunk); i++ {
			time.Sleep(20 * time.Millisecond)
			if _, err := pw.Write(chunk); err != nil {
				return
			}
		}
		pw.Close()
	}()
	req, _ := http.NewRequest(http.MethodPost, ts.url+"/xrpc/com.atproto.repo.uploadBlob", pr)
	req.Header.Set("Authorization", "Bearer "+u.access)
	req.Header.Set("Content-Type", "text/plain")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(b), `"size":`+strconv.Itoa(size)) {
		t.Fatalf("slow but steady upload: %d %s", res.StatusCode, b)
	}
	ts.ok(ts.query("com.atproto.server.describeServer", ""))
}

// A subscribeRepos WebSocket is not a request body: it stays open past
// every connection timeout and still gets events.
func TestSubscriberOutlivesTheConnectionTimeouts(t *testing.T) {
	ts := startServer(t, Config{BodyTimeout: 200 * time.Millisecond, MinBodyRate: 1000, ReadHeaderTimeout: 200 * time.Millisecond, IdleTimeout: 200 * time.Millisecond})
	u := ts.createUser("alice")
	st := openStream(t, ts.url, nil)
	ts.waitSubscribers(1)
	time.Sleep(time.Second) // five times every timeout
	start := ts.newestSeq()
	ts.createRecord(u, "late", post("after the timeouts"))
	st.waitSeq(10*time.Second, start+1)
	if s := ts.srv.seq.stats(); s.Subscribers != 1 {
		t.Fatalf("subscribers %d, want the one still connected", s.Subscribers)
	}
}

// JSON bodies are one value: anything after it but white space is refused,
// through the one decoding helper every JSON endpoint uses.
func TestJSONBodiesWithTrailingDataAreRefused(t *testing.T) {
	ts, u := startWithAlice(t)
	login := `{"identifier":"alice.test","password":"pw-alice"}`
	rec := `{"repo":"` + u.did + `","collection":"app.bsky.feed.post","record":{"$type":"app.bsky.feed.post","text":"x","createdAt":"2024-01-01T00:00:00.000Z"}}`
	cases := []struct {
		name, nsid, token, body string
		ok                      bool
	}{
		{"createSession", "com.atproto.server.createSession", "", login, true},
		{"createSession, trailing white space", "com.atproto.server.createSession", "", login + " \n\t", true},
		{"createSession, second object", "com.atproto.server.createSession", "", login + `{"identifier":"bob.test"}`, false},
		{"createSession, trailing garbage", "com.atproto.server.createSession", "", login + "x", false},
		{"createSession, trailing number", "com.atproto.server.createSession", "", login + " 1", false},
		{"createRecord, second object", "com.atproto.repo.createRecord", u.access, rec + rec, false},
		{"createRecord", "com.atproto.repo.createRecord", u.access, rec, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := ts.do(http.MethodPost, "/xrpc/"+tc.nsid, tc.token, []byte(tc.body), map[string]string{"Content-Type": "application/json"})
			if tc.ok {
				ts.ok(r)
				return
			}
			if r.status != 400 || r.errName() != "InvalidRequest" || !strings.Contains(string(r.body), "after the JSON value") {
				t.Fatalf("want 400 InvalidRequest for data after the object, got %s", r)
			}
		})
	}
}

// A token whose iat is more than maxClockSkew ahead of the server's clock
// was not issued by it and is refused.
func TestTokensIssuedInTheFutureAreRefused(t *testing.T) {
	ts, u := startWithAlice(t)
	sign := func(iat time.Time) string {
		c := tokenClaims{Scope: scopeAccess, RegisteredClaims: jwt.RegisteredClaims{
			Subject: u.did, Audience: jwt.ClaimStrings{ts.srv.serviceDID},
			IssuedAt: jwt.NewNumericDate(iat), ExpiresAt: jwt.NewNumericDate(iat.Add(time.Hour)), ID: "x",
		}}
		tok := jwt.NewWithClaims(jwt.SigningMethodHS256, c)
		tok.Header["typ"] = "at+jwt"
		s, err := tok.SignedString(ts.srv.secret)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	now := ts.clock.Now()
	cases := []struct {
		name string
		iat  time.Time
		ok   bool
	}{
		{"now", now, true},
		{"a minute ahead (clock skew)", now.Add(time.Minute), true},
		{"ten minutes ahead", now.Add(10 * time.Minute), false},
		{"ten hours ahead", now.Add(10 * time.Hour), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := ts.query("com.atproto.server.getSession", sign(tc.iat))
			if tc.ok {
				ts.ok(r)
			} else if r.status != 401 || r.errName() != "InvalidToken" || !strings.Contains(string(r.body), "future") {
				t.Fatalf("want 401 InvalidToken, got %s", r)
			}
		})
	}
}

// createSession is limited per account and client IP (every spelling of
// the account counts together), and per client IP; the window ends on the
// server's clock. Over the limit: 429 RateLimitExceeded, even with the
// right password.
func TestLoginAttemptsAreRateLimited(t *testing.T) {
	limits := &LoginLimits{
		PerAccount:   []RateLimit{{Points: 5, Window: 5 * time.Minute}, {Points: 8, Window: 24 * time.Hour}},
		PerIP:        []RateLimit{{Points: 12, Window: 5 * time.Minute}},
		RefreshPerIP: []RateLimit{{Points: 3, Window: 5 * time.Minute}},
	}
	ts := startServer(t, Config{LoginLimits: limits})
	alice, bob := ts.createUser("alice"), ts.createUser("bob")
	login := func(ident, pw string) *resp {
		return ts.proc("com.atproto.server.createSession", "", map[string]any{"identifier": ident, "password": pw})
	}
	spellings := []string{alice.handle, "ALICE.test", "@alice.test", alice.did, "alice@example.com"}
	for i, ident := range spellings {
		r := login(ident, "wrong")
		if r.status != 401 {
			t.Fatalf("attempt %d (%s): %s", i+1, ident, r)
		}
		if got := r.header.Get("RateLimit-Remaining"); got != strconv.Itoa(4-i) {
			t.Fatalf("attempt %d: RateLimit-Remaining %q, want %d", i+1, got, 4-i)
		}
	}
	r := login(alice.handle, alice.password)
	if r.status != 429 || r.errName() != "RateLimitExceeded" || r.header.Get("RateLimit-Policy") != "5;w=300" {
		t.Fatalf("6th attempt with the right password: want 429 RateLimitExceeded (policy 5;w=300), got %s %v", r, r.header)
	}
	// Another account from the same IP is not locked out by alice's.
	ts.ok(login(bob.handle, bob.password))
	// After the 5-minute window, alice may try again: until the day's
	// limit of 8.
	ts.clock.Advance(5*time.Minute + time.Second)
	ts.ok(login(alice.handle, alice.password))
	login(alice.handle, "wrong")
	if r := login(alice.handle, alice.password); r.status != 429 || r.header.Get("RateLimit-Policy") != "8;w=86400" {
		t.Fatalf("over the day's limit: %s %v", r, r.header)
	}
	// The per-IP limit covers every identifier, known or not: this
	// window has had 3 attempts, 9 more make 12.
	for i := range 9 {
		r := login(fmt.Sprintf("nobody%d.test", i), "x")
		if r.status != 401 {
			t.Fatalf("unknown identifier %d: %s", i, r)
		}
	}
	if r := login("nobody-else.test", "x"); r.status != 429 || r.header.Get("RateLimit-Policy") != "12;w=300" {
		t.Fatalf("over the per-IP limit: %s %v", r, r.header)
	}
	// refreshSession has its own per-IP limit.
	tok := bob.refresh
	for range 3 {
		out := ts.ok(ts.proc("com.atproto.server.refreshSession", tok, nil))
		tok = out["refreshJwt"].(string)
	}
	if r := ts.proc("com.atproto.server.refreshSession", tok, nil); r.status != 429 || r.errName() != "RateLimitExceeded" {
		t.Fatalf("4th refresh: %s", r)
	}
}

// The defaults are the reference's 30 attempts in 5 minutes per account
// and IP; an empty LoginLimits turns every limit off.
func TestLoginLimitsDefaultAndOff(t *testing.T) {
	cases := []struct {
		name   string
		limits *LoginLimits
		want31 int
	}{
		{"default", nil, 429},
		{"off", &LoginLimits{}, 401},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ts := startServer(t, Config{LoginLimits: tc.limits})
			// An identifier no account has: no bcrypt, a fast loop.
			var r *resp
			for i := range 31 {
				r = ts.proc("com.atproto.server.createSession", "", map[string]any{"identifier": "nobody.test", "password": "wrong"})
				if i < 30 && r.status != 401 {
					t.Fatalf("attempt %d: %s", i+1, r)
				}
			}
			if r.status != tc.want31 {
				t.Fatalf("31st attempt: %s, want %d", r, tc.want31)
			}
			if tc.limits != nil && ts.srv.limits.size() != 0 {
				t.Fatalf("%d counters kept with no limits", ts.srv.limits.size())
			}
		})
	}
}

// The limiter forgets ended windows, and never keeps more than
// maxLimiterKeys counters.
func TestLimiterMemoryIsBounded(t *testing.T) {
	clock := &testfixtures.Clock{}
	l := newLimiter(clock.Now)
	lim := []RateLimit{{Points: 1, Window: time.Minute}}
	for i := range 5000 {
		l.take(fmt.Sprint("k", i), lim)
	}
	clock.Advance(2 * time.Minute)
	for i := range 2000 {
		l.take(fmt.Sprint("new", i), lim)
	}
	if n := l.size(); n > 2000 {
		t.Fatalf("%d counters kept after the first 5000 ended", n)
	}
	for i := range maxLimiterKeys + 10 {
		l.take(fmt.Sprint("flood", i), lim)
	}
	if n := l.size(); n > maxLimiterKeys {
		t.Fatalf("%d counters kept, limit %d", n, maxLimiterKeys)
	}
}

// A client that asks for a large response and never reads it is cut off
// once one write has waited WriteTimeout; a response is not otherwise
// bounded in time.
func TestResponseNeverReadIsCutOff(t *testing.T) {
	const size = 32 << 20 // more than loopback's socket buffers hold
	ts := startServer(t, Config{MaxBlobSize: size, WriteTimeout: 300 * time.Millisecond})
	u := ts.createUser("alice")
	blob := bytes.Repeat([]byte("0123456789abcdef"), size/16)
	req, _ := http.NewRequest(http.MethodPost, ts.url+"/xrpc/com.atproto.repo.uploadBlob", bytes.NewReader(blob))
	req.Header.Set("Authorization", "Bearer "+u.access)
	req.Header.Set("Content-Type", "application/octet-stream")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var up struct {
		Blob struct {
			Ref struct {
				Link string `json:"$link"`
			} `json:"ref"`
		} `json:"blob"`
	}
	json.NewDecoder(res.Body).Decode(&up)
	res.Body.Close()
	if res.StatusCode != 200 || up.Blob.Ref.Link == "" {
		t.Fatalf("upload: %d %+v", res.StatusCode, up)
	}
	// A reader of the whole blob gets all of it.
	r := ts.do(http.MethodGet, "/xrpc/com.atproto.sync.getBlob?did="+u.did+"&cid="+up.Blob.Ref.Link, u.access, nil, nil)
	if r.status != 200 || len(r.body) != size {
		t.Fatalf("getBlob read through: %d, %d bytes", r.status, len(r.body))
	}
	// A small receive buffer, set before connecting (the kernel would
	// otherwise grow the window to hold the whole blob).
	d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		if err != nil {
			return err
		}
		return serr
	}}
	c, err := d.Dial("tcp", strings.TrimPrefix(ts.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "GET /xrpc/com.atproto.sync.getBlob?did=%s&cid=%s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n", u.did, up.Blob.Ref.Link, u.access)
	time.Sleep(2 * time.Second) // the server's writes block, and time out
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	n, err := io.Copy(io.Discard, c)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("connection still open after 20 s (%d bytes read)", n)
	}
	if n >= size {
		t.Fatalf("read %d bytes: the whole blob was sent to a client that did not read", n)
	}
}
