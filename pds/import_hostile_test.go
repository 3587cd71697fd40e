package pds

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/bluesky-social/indigo/atproto/atcrypto"
	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/arbor-atproto/arbor/build/hostile"
	"github.com/arbor-atproto/arbor/dagcbor"
)

func hostileKey(t testing.TB) atcrypto.PrivateKey {
	t.Helper()
	k, err := atcrypto.GeneratePrivateKeyK256()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func (ts *testServer) importCAR(token string, body []byte) *resp {
	ts.t.Helper()
	return ts.do(http.MethodPost, "/xrpc/com.atproto.repo.importRepo", token, body, map[string]string{"Content-Type": carContentType})
}

// An import whose tree is a chain of entry-less nodes far deeper than any
// layer (150,000 levels, 12 MB), or a DAG of shared subtrees, is refused
// with 400 InvalidRequest saying the tree is malformed, and changes nothing.
func TestImportRepoRefusesMalformedTrees(t *testing.T) {
	ts, u := startWithAlice(t)
	ts.createRecord(u, "before", post("before the import"))
	head, _ := ts.head(u)
	deep, err := hostile.DeepChain(hostileKey(t), syntax.DID(u.did), 150_000)
	if err != nil {
		t.Fatal(err)
	}
	shared, err := hostile.SharedChain(hostileKey(t), syntax.DID(u.did), 40)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		car  []byte
		want string
	}{
		{"chain of entry-less nodes 150,000 deep", deep.CAR, "deeper than any layer"},
		{"40 levels of shared subtrees", shared.CAR, "wrong layer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := ts.importCAR(u.access, tc.car)
			if r.status != 400 || r.errName() != "InvalidRequest" || !strings.Contains(string(r.body), "does not verify") {
				t.Fatalf("want 400 InvalidRequest (does not verify), got %.300s", r)
			}
			if !strings.Contains(string(r.body), tc.want) {
				t.Errorf("answer does not say %q: %.300s", tc.want, r)
			}
			if h, _ := ts.head(u); h != head {
				t.Fatal("a refused import moved the head")
			}
		})
	}
}

// Records that createRecord refuses (not a map, no $type, a $type that is
// not a string or is empty, a value outside the data model's conventions)
// are refused by importRepo too, with 400
// InvalidRequest naming the record; the same repository with valid
// records imports.
func TestImportRepoRefusesRecordsCreateRecordRefuses(t *testing.T) {
	ts, u := startWithAlice(t)
	head, _ := ts.head(u)
	enc := func(v any) []byte {
		b, err := dagcbor.Encode(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	good := enc(post("fine"))
	const badPath = "app.bsky.feed.post/bad"
	for _, tc := range []struct {
		name string
		body []byte
	}{
		{"an array", enc([]any{"app.bsky.feed.post"})},
		{"a string", enc("app.bsky.feed.post")},
		{"an integer", enc(int64(7))},
		{"a map without $type", enc(map[string]any{"text": "no type"})},
		{"a map whose $type is an integer", enc(map[string]any{"$type": int64(1), "text": "x"})},
		{"a map whose $type is empty", enc(map[string]any{"$type": "", "text": "x"})},
		{"a map whose $type is bytes", enc(map[string]any{"$type": []byte("app.bsky.feed.post")})},
		{"a record holding a malformed blob", enc(map[string]any{"$type": "app.bsky.feed.post", "text": "x",
			"embed": map[string]any{"$type": "blob", "ref": "not a link", "mimeType": "image/png", "size": int64(1)}})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := hostile.WithRecords(hostileKey(t), syntax.DID(u.did), map[string][]byte{
				"app.bsky.feed.post/a": good, badPath: tc.body, "app.bsky.feed.post/z": good,
			})
			if err != nil {
				t.Fatal(err)
			}
			res := ts.importCAR(u.access, r.CAR)
			if res.status != 400 || res.errName() != "InvalidRequest" || !strings.Contains(string(res.body), badPath) {
				t.Fatalf("want 400 InvalidRequest naming %s, got %s", badPath, res)
			}
			if h, _ := ts.head(u); h != head {
				t.Fatal("a refused import moved the head")
			}
		})
	}
	r, err := hostile.WithRecords(hostileKey(t), syntax.DID(u.did), map[string][]byte{"app.bsky.feed.post/a": good, badPath: good})
	if err != nil {
		t.Fatal(err)
	}
	ts.ok(ts.importCAR(u.access, r.CAR))
	if got := ts.fetchVerifiedRepo(u).records; got != 2 {
		t.Fatalf("valid import: %d records, want 2", got)
	}
}

// gatedReader gives the first half of b, then waits for open to close
// before giving the rest: the request it is the body of is still being
// received while the test does other things.
type gatedReader struct {
	b    []byte
	off  int
	once sync.Once
	open chan struct{}
	sent chan struct{} // closed once the first half is read
}

func (g *gatedReader) Read(p []byte) (int, error) {
	half := len(g.b) / 2
	if g.off >= half {
		g.once.Do(func() { close(g.sent) })
		<-g.open
	}
	if g.off >= len(g.b) {
		return 0, io.EOF
	}
	end := len(g.b)
	if g.off < half {
		end = half
	}
	n := copy(p, g.b[g.off:end])
	g.off += n
	return n, nil
}

// While one account uploads and imports hostile repositories (a chain of
// 200,000 entry-less nodes, repeatedly, one upload held open half-way),
// another account's reads and writes are answered, and the imports are
// refused.
func TestPDSServesOthersDuringHostileImports(t *testing.T) {
	ts := startServer(t, Config{})
	mallory := ts.createUser("mallory")
	bob := ts.createUser("bob")
	ts.createRecord(bob, "first", post("first"))
	deep, err := hostile.DeepChain(hostileKey(t), syntax.DID(mallory.did), 200_000)
	if err != nil {
		t.Fatal(err)
	}
	importReq := func(body io.Reader) (int, string, error) {
		req, err := http.NewRequest(http.MethodPost, ts.url+"/xrpc/com.atproto.repo.importRepo", body)
		if err != nil {
			return 0, "", err
		}
		req.Header.Set("Content-Type", carContentType)
		req.Header.Set("Authorization", "Bearer "+mallory.access)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, "", err
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b), nil
	}

	gate := &gatedReader{b: deep.CAR, open: make(chan struct{}), sent: make(chan struct{})}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	wg.Add(1)
	go func() { // the held-open upload
		defer wg.Done()
		code, body, err := importReq(gate)
		if err == nil && code != 400 {
			err = fmt.Errorf("held-open import: %d %.200s", code, body)
		}
		if err != nil {
			errs <- err
		}
	}()
	stop := make(chan struct{})
	wg.Add(1)
	go func() { // imports one after the other until bob is done
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			code, body, err := importReq(bytes.NewReader(deep.CAR))
			if err == nil && code != 400 {
				err = fmt.Errorf("import: %d %.200s", code, body)
			}
			if err != nil {
				errs <- err
				return
			}
		}
	}()

	<-gate.sent // mallory's upload is half in
	for i := range 20 {
		rkey := fmt.Sprintf("during%d", i)
		ts.createRecord(bob, rkey, post("during the import"))
		rec := ts.ok(ts.query("com.atproto.repo.getRecord", "", "repo", bob.did, "collection", "app.bsky.feed.post", "rkey", rkey))
		if rec["value"].(map[string]any)["text"] != "during the import" {
			t.Fatalf("getRecord: %v", rec)
		}
	}
	close(gate.open)
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := ts.fetchVerifiedRepo(bob).records; got != 21 {
		t.Fatalf("bob has %d records, want 21", got)
	}
}
