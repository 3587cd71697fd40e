package backup_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/arbor-atproto/arbor/identity"
	"github.com/arbor-atproto/arbor/pds"
)

// world is an in-process arbor PDS (with its embedded did:plc directory)
// behind a handler that counts every request and can inject faults: what
// the backup talks to. The PDS can be stopped and started again on the
// same data directory at the same URL (the server killed mid-run).
type world struct {
	t       *testing.T
	ts      *httptest.Server
	dataDir string
	srv     atomic.Pointer[pds.Server]

	mu     sync.Mutex
	counts map[string]int // by method (XRPC NSID, or "plc" for the directory)
	since  []string       // the since parameter of each getRepo
	fault  func(w http.ResponseWriter, r *http.Request) bool

	did, handle, access string
}

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{t: t, dataDir: t.TempDir(), counts: map[string]int{}}
	w.ts = httptest.NewServer(http.HandlerFunc(w.serve))
	t.Cleanup(w.ts.Close)
	w.start()
	t.Cleanup(w.stop)
	var acct struct{ DID, AccessJwt string }
	w.post("com.atproto.server.createAccount", "", "application/json", []byte(`{"handle":"alice.test","password":"hunter2hunter2","email":"alice@example.com"}`), &acct)
	w.did, w.handle, w.access = acct.DID, "alice.test", acct.AccessJwt
	return w
}

func (w *world) start() {
	w.t.Helper()
	srv, err := pds.Open(pds.Config{PublicURL: w.ts.URL, DataDir: w.dataDir})
	if err != nil {
		w.t.Fatal(err)
	}
	w.srv.Store(srv)
}

// stop closes the PDS: until start, every connection is dropped.
func (w *world) stop() {
	if srv := w.srv.Swap(nil); srv != nil {
		srv.Close()
	}
}

func (w *world) serve(rw http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/xrpc/")
	if !strings.HasPrefix(r.URL.Path, "/xrpc/") {
		name = "plc"
	}
	w.mu.Lock()
	w.counts[name]++
	if name == "com.atproto.sync.getRepo" {
		w.since = append(w.since, r.URL.Query().Get("since"))
	}
	fault := w.fault
	w.mu.Unlock()
	if fault != nil && fault(rw, r) {
		return
	}
	srv := w.srv.Load()
	if srv == nil {
		panic(http.ErrAbortHandler) // the server is down: drop the connection
	}
	srv.ServeHTTP(rw, r)
}

// setFault installs f (nil removes it); f returns true when it answered.
func (w *world) setFault(f func(w http.ResponseWriter, r *http.Request) bool) {
	w.mu.Lock()
	w.fault = f
	w.mu.Unlock()
}

// take returns the counts since the last take and resets them.
func (w *world) take() (map[string]int, []string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	c, s := w.counts, w.since
	w.counts, w.since = map[string]int{}, nil
	return c, s
}

func (w *world) post(method, token, ctype string, body []byte, out any) {
	w.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, w.ts.URL+"/xrpc/"+method, bytes.NewReader(body))
	req.Header.Set("Content-Type", ctype)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		w.t.Fatalf("%s: HTTP %d: %s", method, resp.StatusCode, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			w.t.Fatalf("%s: %v: %s", method, err, b)
		}
	}
	w.take() // the test's own requests are not the backup's
}

// upload stores a blob and returns its JSON (a blob ref).
func (w *world) upload(data []byte, mime string) map[string]any {
	var out struct{ Blob map[string]any }
	w.post("com.atproto.repo.uploadBlob", w.access, mime, data, &out)
	return out.Blob
}

// put writes a record at collection/rkey.
func (w *world) put(collection, rkey string, rec map[string]any) {
	body, _ := json.Marshal(map[string]any{"repo": w.did, "collection": collection, "rkey": rkey, "record": rec})
	w.post("com.atproto.repo.putRecord", w.access, "application/json", body, nil)
}

func (w *world) del(collection, rkey string) {
	body, _ := json.Marshal(map[string]any{"repo": w.did, "collection": collection, "rkey": rkey})
	w.post("com.atproto.repo.deleteRecord", w.access, "application/json", body, nil)
}

func post(text string, images ...map[string]any) map[string]any {
	rec := map[string]any{"$type": "app.bsky.feed.post", "text": text, "createdAt": "2024-01-01T00:00:00.000Z"}
	if len(images) > 0 {
		var imgs []any
		for _, b := range images {
			imgs = append(imgs, map[string]any{"alt": "", "image": b})
		}
		rec["embed"] = map[string]any{"$type": "app.bsky.embed.images", "images": imgs}
	}
	return rec
}

// resolver talks to the world: the embedded directory, and the PDS as the
// handle resolver.
func (w *world) resolver() *identity.Resolver {
	return &identity.Resolver{PLCHost: w.ts.URL, HandleResolver: w.ts.URL, HandleResolverOnly: true, Timeout: 5 * time.Second}
}

// identityRequests counts the requests of identity resolution in counts.
func identityRequests(counts map[string]int) int {
	return counts["plc"] + counts["com.atproto.identity.resolveHandle"]
}
