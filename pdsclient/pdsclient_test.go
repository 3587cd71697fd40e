package pdsclient

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/arbor-atproto/arbor/internal/testfixtures"
	"github.com/arbor-atproto/arbor/pds"
)

// startPDS runs an arbor PDS with one account, alice.test / pw-alice.
func startPDS(t *testing.T) (string, *testfixtures.Clock) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &testfixtures.Clock{}
	srv, err := pds.Open(pds.Config{PublicURL: "http://" + ln.Addr().String(), Now: c.Now, AccessTTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewUnstartedServer(srv)
	hs.Listener.Close()
	hs.Listener = ln
	hs.Start()
	t.Cleanup(func() { hs.Close(); srv.Close() })
	cl := New(hs.URL, nil)
	if err := cl.Procedure(context.Background(), "com.atproto.server.createAccount", map[string]string{"handle": "alice.test", "password": "pw-alice", "email": "alice@example.com"}, nil); err != nil {
		t.Fatal(err)
	}
	return hs.URL, c
}

func TestLoginCallsAndRefreshesAnExpiredSession(t *testing.T) {
	url, clk := startPDS(t)
	ctx := context.Background()
	c := New(url, nil)
	if _, err := c.Login(ctx, "alice.test", "wrong"); !IsXRPC(err, "AuthenticationRequired") || !errors.Is(err, ErrXRPC) {
		t.Fatalf("wrong password: %v", err)
	}
	s, err := c.Login(ctx, "@alice.test", "pw-alice")
	if err != nil || !strings.HasPrefix(s.DID, "did:plc:") || s.Handle != "alice.test" || s.PDS != url {
		t.Fatalf("login: %+v %v", s, err)
	}
	var refreshed *Session
	c.OnRefresh = func(ns *Session) { refreshed = ns }
	clk.Advance(2 * time.Minute) // the access token expired
	var sess struct{ DID string }
	if err := c.Query(ctx, "com.atproto.server.getSession", nil, &sess); err != nil || sess.DID != s.DID {
		t.Fatalf("getSession after expiry: %v", err)
	}
	if refreshed == nil || refreshed.AccessJwt == s.AccessJwt || c.Session() != refreshed {
		t.Fatal("the session was not refreshed and handed to OnRefresh")
	}
	if _, err := New("http://127.0.0.1:1", nil).DescribeServer(ctx); !errors.Is(err, ErrUnreachable) {
		t.Fatalf("no server: %v", err)
	}
	if err := New(url, nil).RequestPLCSignature(ctx); !IsXRPC(err, "AuthenticationRequired") {
		t.Fatalf("no session: %v", err)
	}
}

func TestSessionStoreKeepsTokensOnlyWithMode0600(t *testing.T) {
	url, _ := startPDS(t)
	ctx := context.Background()
	st := &SessionStore{Path: filepath.Join(t.TempDir(), "cfg", "arbor", "sessions.json")}
	if _, err := st.Load(""); !errors.Is(err, ErrNoSession) {
		t.Fatalf("empty store: %v", err)
	}
	s, err := New(url, nil).Login(ctx, "alice.test", "pw-alice")
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Save(s, true); err != nil {
		t.Fatal(err)
	}
	other := &Session{PDS: "http://other", DID: "did:plc:bob", Handle: "Bob.test", AccessJwt: "a", RefreshJwt: "r"}
	if err := st.Save(other, false); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(st.Path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("session file mode %v, %v", fi.Mode(), err)
	}
	b, _ := os.ReadFile(st.Path)
	if strings.Contains(string(b), "pw-alice") {
		t.Fatal("the password is in the session file")
	}
	for _, c := range []struct{ ask, want string }{{"", s.DID}, {"alice.test", s.DID}, {s.DID, s.DID}, {"bob.test", "did:plc:bob"}} {
		got, err := st.Load(c.ask)
		if err != nil || got.DID != c.want {
			t.Errorf("Load(%q) = %v, %v; want %s", c.ask, got, err, c.want)
		}
	}
	if err := st.Remove(s.DID); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Load(""); !errors.Is(err, ErrNoSession) {
		t.Fatalf("after removing the default: %v", err)
	}
	// A kept session works in a new client.
	got, _ := st.Load("bob.test")
	if WithSession(got, http.DefaultClient).Session().DID != "did:plc:bob" {
		t.Fatal("WithSession")
	}
}

// A PDS whose listMissingBlobs cursor leads back to a page already read
// would keep MissingBlobs listing for ever: it is ErrBadAnswer instead,
// for the same cursor twice in a row and for a cycle of two.
func TestMissingBlobsRefusesCursorsThatComeBack(t *testing.T) {
	tests := []struct {
		name string
		next map[string]string // cursor asked for -> cursor answered
		ok   bool
	}{
		{"pages end", map[string]string{"": "a", "a": "b", "b": ""}, true},
		{"same cursor again", map[string]string{"": "a", "a": "a"}, false},
		{"two cursors in a cycle", map[string]string{"": "a", "a": "b", "b": "a"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pages := 0
			hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if pages++; pages > 10 {
					http.Error(w, "too many pages asked for", http.StatusTeapot)
					return
				}
				next := tc.next[r.URL.Query().Get("cursor")]
				w.Header().Set("Content-Type", "application/json")
				fmt.Fprintf(w, `{"cursor":%q,"blobs":[{"cid":"bafkreib%d","recordUri":"at://did:plc:x/app.bsky.feed.post/%d"}]}`, next, pages, pages)
			}))
			defer hs.Close()
			got, err := New(hs.URL, nil).MissingBlobs(context.Background())
			if tc.ok {
				if err != nil || len(got) != 3 {
					t.Fatalf("%d blobs, %v; want 3", len(got), err)
				}
				return
			}
			if !errors.Is(err, ErrBadAnswer) || pages > 3 {
				t.Fatalf("after %d pages: %v, want ErrBadAnswer", pages, err)
			}
		})
	}
}
