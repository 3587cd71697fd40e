package commands

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/bluesky-social/indigo/atproto/atcrypto"
	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/coder/websocket"
	"github.com/ipfs/go-cid"

	"github.com/arbor-atproto/arbor/dagcbor"
	"github.com/arbor-atproto/arbor/firehose"
	"github.com/arbor-atproto/arbor/internal/testfixtures"
	"github.com/arbor-atproto/arbor/mst"
	"github.com/arbor-atproto/arbor/plc"
	"github.com/arbor-atproto/arbor/repo"
)

// fhFixture is a firehose to read: frames from a repository built here (its
// DID made with plc.NewGenesis), the relay scenario post_lifecycle.json
// (real sync v1.1 commits), and a directory serving both DID documents.
type fhFixture struct {
	good    [][]byte // frames that verify
	bad     []byte   // a commit whose prevData is wrong
	plcHost string
	did     string
}

// plcIdentity makes the did:plc genesis of an account whose rotation and
// signing key is key, and returns its DID and DID document.
func plcIdentity(t *testing.T, key atcrypto.PrivateKey, handle string) (string, *plc.Document) {
	t.Helper()
	pub := testfixtures.PublicKey(t, key)
	op, did, err := plc.NewGenesis(plc.GenesisParams{
		RotationKeys: []string{pub.DIDKey()}, SigningKey: pub.DIDKey(), Handle: handle, PDS: "http://127.0.0.1",
	}, key)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := plc.FormatDocument(did, op)
	if err != nil {
		t.Fatal(err)
	}
	return did.String(), doc
}

func newFHFixture(t *testing.T) *fhFixture {
	t.Helper()
	f := &fhFixture{}
	key := testfixtures.NewKey(t, false)
	did, doc := plcIdentity(t, key, "alice.test")
	f.did = did
	docs := map[string]any{"/" + did: doc}

	// Three commits: a first one, creates, then an update, a delete and a create.
	blocks := mst.MapSource{}
	tree := mst.NewEmpty()
	var err error
	var oldRoot cid.Cid
	var since *string
	put := func(path, text string) {
		b, _ := dagcbor.Encode(map[string]any{"$type": "app.bsky.feed.post", "text": text, "createdAt": "2025-01-01T00:00:00.000Z"})
		c := dagcbor.SumCID(dagcbor.CodecDagCBOR, b)
		blocks[c] = b
		if tree, err = tree.Insert([]byte(path), c); err != nil {
			t.Fatal(err)
		}
	}
	var events []*firehose.Commit
	commit := func(seq int64) {
		if err := tree.WriteBlocks(func(c cid.Cid, d []byte) error { blocks[c] = d; return nil }); err != nil {
			t.Fatal(err)
		}
		root, _ := tree.RootCID()
		cm := &repo.Commit{DID: syntax.DID(did), Version: 3, Data: root, Rev: syntax.NewTID(1_700_000_000_000_000+seq, 0)}
		if err := cm.Sign(key); err != nil {
			t.Fatal(err)
		}
		ev, err := firehose.CommitEvent(blocks, oldRoot, cm, since)
		if err != nil {
			t.Fatal(err)
		}
		ev.Seq, ev.Time = seq, "2025-01-01T00:00:00.000Z"
		events = append(events, ev)
		rev := cm.Rev.String()
		oldRoot, since = root, &rev
	}
	for i := range 30 {
		put("app.bsky.feed.post/3kaaaaaaaa"+string(rune('a'+i%26))+string(rune('a'+i/26))+"a", "post")
	}
	commit(1)
	put("app.bsky.feed.like/3kzzzzzzzzzzz", "like")
	commit(2)
	put("app.bsky.feed.post/3kaaaaaaaaaaa", "edited")
	if tree, err = tree.Delete([]byte("app.bsky.feed.like/3kzzzzzzzzzzz")); err != nil {
		t.Fatal(err)
	}
	put("app.bsky.feed.post/3kqqqqqqqqqqq", "new")
	commit(3)
	for _, ev := range events {
		f.good = append(f.good, encodeFH(t, ev))
	}
	f.good = append(f.good, encodeFH(t, &firehose.Identity{Seq: 4, DID: syntax.DID(did), Time: "2025-01-01T00:00:00.000Z", Handle: "alice.test"}))
	f.good = append(f.good, encodeFH(t, &firehose.Info{Name: firehose.InfoOutdatedCursor}))

	// The relay scenario's commits, and its account's key in a document.
	var sc struct {
		Accounts []struct {
			Identity struct {
				DID  string `json:"did"`
				Keys map[string]struct {
					PublicKeyMultibase string `json:"publicKeyMultibase"`
				} `json:"keys"`
			} `json:"identity"`
		} `json:"accounts"`
		Messages []struct {
			Frame json.RawMessage `json:"frame"`
		} `json:"messages"`
	}
	raw, err := os.ReadFile(corpus("indigo", "cmd", "relay", "testing", "testdata", "post_lifecycle.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &sc); err != nil {
		t.Fatal(err)
	}
	acct := sc.Accounts[0].Identity
	docs["/"+acct.DID] = plc.Document{
		Context: []string{"https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"},
		ID:      acct.DID,
		VerificationMethod: []plc.DocVerificationKey{{ID: acct.DID + "#atproto", Type: "Multikey", Controller: acct.DID,
			PublicKeyMultibase: acct.Keys["atproto"].PublicKeyMultibase}},
	}
	for _, m := range sc.Messages {
		ev, err := firehose.DecodeJSON(m.Frame)
		if err != nil {
			t.Fatal(err)
		}
		f.good = append(f.good, encodeFH(t, ev))
	}

	// The bad one: our third commit again, later, claiming another prevData.
	bad := *events[2]
	bad.Seq = 99_999_999_999
	bad.PrevData = events[1].PrevData
	f.bad = encodeFH(t, &bad)

	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		doc, ok := docs[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/did+ld+json")
		json.NewEncoder(w).Encode(doc)
	}))
	t.Cleanup(srv.Close)
	f.plcHost = srv.URL
	return f
}

func encodeFH(t *testing.T, ev firehose.Event) []byte {
	t.Helper()
	b, err := firehose.EncodeFrame(ev)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// serveFirehose serves frames to each WebSocket client on loopback at the
// subscribeRepos path, then closes; it records each request's query.
func serveFirehose(t *testing.T, frames ...[]byte) (httpURL string, queries chan string) {
	t.Helper()
	queries = make(chan string, 16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != firehose.Endpoint {
			http.NotFound(w, r)
			return
		}
		queries <- r.URL.RawQuery
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		ctx := c.CloseRead(r.Context())
		for _, b := range frames {
			if err := c.Write(ctx, websocket.MessageBinary, b); err != nil {
				return
			}
		}
		c.Close(websocket.StatusNormalClosure, "")
	}))
	t.Cleanup(srv.Close)
	return srv.URL, queries
}

func wsURL(httpURL string) string {
	return "ws" + strings.TrimPrefix(httpURL, "http") + firehose.Endpoint
}

func TestFirehosePrintsOneLinePerEvent(t *testing.T) {
	f := newFHFixture(t)
	srv, q := serveFirehose(t, f.good...)
	r := run(t, "", "firehose", wsURL(srv), "--cursor", "0")
	if r.code != ExitOK || r.stderr != "" {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	if got := <-q; got != "cursor=0" {
		t.Errorf("query %q", got)
	}
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if len(lines) != len(f.good) {
		t.Fatalf("%d lines for %d events:\n%s", len(lines), len(f.good), r.stdout)
	}
	wants := []string{
		"1 #commit " + f.did + " rev ",
		"2 #commit " + f.did + " rev 3",
		"3 #commit " + f.did + " rev 3",
		"4 #identity " + f.did + " handle alice.test",
		"#info OutdatedCursor",
		"35941522 #commit did:plc:44ybard66vv44zksje25o7dz rev 3lmxjza3nva27 create app.bsky.feed.like/3lmxjza3h2i",
	}
	for i, w := range wants {
		if !strings.HasPrefix(lines[i], w) {
			t.Errorf("line %d %q, want it to start with %q", i, lines[i], w)
		}
	}
	if !strings.Contains(lines[2], "delete app.bsky.feed.like/3kzzzzzzzzzzz, update app.bsky.feed.post/3kaaaaaaaaaaa, create app.bsky.feed.post/3kqqqqqqqqqqq") {
		t.Errorf("ops summary: %q", lines[2])
	}
	if !strings.Contains(lines[0], "and 27 more") {
		t.Errorf("a long ops list is not cut: %q", lines[0])
	}
}

func TestFirehoseVerify(t *testing.T) {
	f := newFHFixture(t)
	cases := []struct {
		name      string
		frames    [][]byte
		args      []string
		code      int
		failLines int
		summary   string
	}{
		{"every commit verifies", f.good, nil, ExitOK, 0, "11 events, 9 commits checked, 0 failed"},
		{"a commit with the wrong prevData fails", append(f.good, f.bad), nil, ExitFail, 2, "12 events, 10 commits checked, 1 failed"},
		{"flags before the URL and http:// form", f.good, []string{"--limit", "3"}, ExitOK, 0, "3 events, 3 commits checked, 0 failed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv, _ := serveFirehose(t, tc.frames...)
			args := append([]string{"firehose"}, tc.args...)
			if tc.args != nil {
				args = append(args, srv) // the http:// form
			} else {
				args = append(args, wsURL(srv))
			}
			args = append(args, "--verify", "--plc-host", f.plcHost)
			r := run(t, "", args...)
			if r.code != tc.code {
				t.Fatalf("exit %d, want %d; stderr %q\n%s", r.code, tc.code, r.stderr, r.stdout)
			}
			if n := strings.Count(r.stdout, "FAIL "); n != tc.failLines {
				t.Errorf("%d FAIL lines, want %d:\n%s", n, tc.failLines, r.stdout)
			}
			if !strings.Contains(r.stdout, tc.summary) {
				t.Errorf("no summary %q in\n%s", tc.summary, r.stdout)
			}
			if tc.failLines > 0 && (!strings.Contains(r.stdout, "inverted operations do not land on prevData") ||
				!strings.Contains(r.stdout, "rev does not increase")) {
				t.Errorf("failures not named:\n%s", r.stdout)
			}
		})
	}
}

func TestFirehoseVerifyWithoutTheDIDDocument(t *testing.T) {
	f := newFHFixture(t)
	empty := httptest.NewServer(http.NotFoundHandler())
	defer empty.Close()
	srv, _ := serveFirehose(t, f.good[0])
	r := run(t, "", "firehose", wsURL(srv), "--verify", "--plc-host", empty.URL)
	if r.code != ExitFail || !strings.Contains(r.stdout, "signing key of "+f.did) || !strings.Contains(r.stdout, "404") {
		t.Fatalf("exit %d\n%s", r.code, r.stdout)
	}
}

func TestFirehoseJSONLines(t *testing.T) {
	f := newFHFixture(t)
	srv, _ := serveFirehose(t, append(f.good, f.bad)...)
	t.Setenv("ARBOR_PLC_HOST", f.plcHost)
	r := run(t, "", "firehose", "--json", "--verify", wsURL(srv))
	if r.code != ExitFail {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if len(lines) != len(f.good)+1 {
		t.Fatalf("%d lines", len(lines))
	}
	for i, l := range lines {
		var obj struct {
			Header map[string]any `json:"header"`
			Verify struct {
				OK       bool     `json:"ok"`
				Problems []string `json:"problems"`
			} `json:"verify"`
		}
		if err := json.Unmarshal([]byte(l), &obj); err != nil {
			t.Fatalf("line %d is not JSON: %v", i, err)
		}
		if wantOK := i < len(f.good); obj.Verify.OK != wantOK {
			t.Errorf("line %d: ok %v (%v)", i, obj.Verify.OK, obj.Verify.Problems)
		}
		// Each line is the frame's JSON form: it decodes back to the frame.
		ev, err := firehose.DecodeJSON([]byte(l[:strings.LastIndex(l, `,"verify"`)] + "}"))
		if err != nil {
			t.Fatalf("line %d: %v", i, err)
		}
		want := f.bad
		if i < len(f.good) {
			want = f.good[i]
		}
		if got := encodeFH(t, ev); string(got) != string(want) {
			t.Errorf("line %d does not give back its frame", i)
		}
	}
}

func TestFirehoseErrors(t *testing.T) {
	future, _ := serveFirehose(t, encodeFH(t, &firehose.ErrorFrame{Name: firehose.ErrNameFutureCursor, Message: new(string)}))
	slow, _ := serveFirehose(t, encodeFH(t, &firehose.ErrorFrame{Name: firehose.ErrNameConsumerTooSlow}))
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no URL", []string{"firehose"}, ExitUsage, "usage: arbor firehose URL"},
		{"two URLs", []string{"firehose", "ws://127.0.0.1:1", "ws://127.0.0.1:2"}, ExitUsage, "usage"},
		{"a URL of another scheme", []string{"firehose", "ftp://127.0.0.1"}, ExitUsage, "scheme"},
		{"a negative cursor", []string{"firehose", "ws://127.0.0.1:1", "--cursor", "-1"}, ExitUsage, "--cursor"},
		{"a bad directory URL", []string{"firehose", "ws://127.0.0.1:1", "--verify", "--plc-host", "ftp://x"}, ExitUsage, "--plc-host"},
		{"a server that is not there", []string{"firehose", wsURL(closed.URL)}, ExitUsage, "connecting to"},
		{"a cursor in the future", []string{"firehose", wsURL(future)}, ExitUsage, "FutureCursor"},
		{"a consumer too slow", []string{"firehose", wsURL(slow)}, ExitUsage, "ConsumerTooSlow"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wantOneLineError(t, run(t, "", tc.args...), tc.code, tc.want)
		})
	}
}
