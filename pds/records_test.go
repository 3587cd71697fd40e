package pds

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/bluesky-social/indigo/atproto/atdata"
	"github.com/ipfs/go-cid"
	"github.com/multiformats/go-multihash"
)

func TestRecordLifecycleCreateGetPutDelete(t *testing.T) {
	ts, u := startWithAlice(t)
	created := ts.createRecord(u, "", post("hello"))
	uri := created["uri"].(string)
	rkey := uri[strings.LastIndex(uri, "/")+1:]
	if !strings.HasPrefix(uri, "at://"+u.did+"/app.bsky.feed.post/") {
		t.Fatalf("uri %q", uri)
	}
	got := ts.ok(ts.query("com.atproto.repo.getRecord", "", "repo", u.did, "collection", "app.bsky.feed.post", "rkey", rkey))
	if got["cid"] != created["cid"] || got["value"].(map[string]any)["text"] != "hello" {
		t.Fatalf("getRecord answered %v, created %v", got, created)
	}
	// By handle too.
	ts.ok(ts.query("com.atproto.repo.getRecord", "", "repo", u.handle, "collection", "app.bsky.feed.post", "rkey", rkey))

	put := ts.ok(ts.proc("com.atproto.repo.putRecord", u.access, map[string]any{
		"repo": u.did, "collection": "app.bsky.feed.post", "rkey": rkey, "record": post("edited"), "swapRecord": created["cid"],
	}))
	if put["cid"] == created["cid"] {
		t.Fatal("putRecord with new content kept the CID")
	}
	got = ts.ok(ts.query("com.atproto.repo.getRecord", "", "repo", u.did, "collection", "app.bsky.feed.post", "rkey", rkey))
	if got["value"].(map[string]any)["text"] != "edited" {
		t.Fatalf("after put: %v", got)
	}
	ts.ok(ts.proc("com.atproto.repo.deleteRecord", u.access, map[string]any{"repo": u.did, "collection": "app.bsky.feed.post", "rkey": rkey}))
	r := ts.query("com.atproto.repo.getRecord", "", "repo", u.did, "collection", "app.bsky.feed.post", "rkey", rkey)
	if r.status != http.StatusBadRequest || r.errName() != "RecordNotFound" {
		t.Fatalf("getRecord of a deleted record: %s", r)
	}
}

func TestMissingRecordIsRecordNotFound(t *testing.T) {
	ts, u := startWithAlice(t)
	for _, tc := range []struct{ name, rkey, cid string }{
		{"never written", "3kabc", ""},
		{"other cid asked", "x", "bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.cid != "" {
				ts.createRecord(u, tc.rkey, post("x"))
			}
			params := []string{"repo", u.did, "collection", "app.bsky.feed.post", "rkey", tc.rkey}
			if tc.cid != "" {
				params = append(params, "cid", tc.cid)
			}
			r := ts.query("com.atproto.repo.getRecord", "", params...)
			if r.status != http.StatusBadRequest || r.errName() != "RecordNotFound" {
				t.Fatalf("want 400 RecordNotFound, got %s", r)
			}
		})
	}
}

func TestWritesAreRefused(t *testing.T) {
	ts, alice := startWithAlice(t)
	bob := ts.createUser("bob")
	good := func() map[string]any {
		return map[string]any{"repo": alice.did, "collection": "app.bsky.feed.post", "rkey": "k1", "record": post("x")}
	}
	with := func(k string, v any) map[string]any { b := good(); b[k] = v; return b }
	cases := []struct {
		name   string
		nsid   string
		token  string
		body   map[string]any
		status int
		err    string
	}{
		{"no token", "com.atproto.repo.createRecord", "", good(), 401, "AuthenticationRequired"},
		{"garbage token", "com.atproto.repo.createRecord", "not.a.jwt", good(), 401, "InvalidToken"},
		{"refresh token as access", "com.atproto.repo.createRecord", alice.refresh, good(), 401, "InvalidToken"},
		{"other account's repo by DID", "com.atproto.repo.createRecord", bob.access, good(), 401, "AuthenticationRequired"},
		{"other account's repo by handle", "com.atproto.repo.putRecord", bob.access, with("repo", alice.handle), 401, "AuthenticationRequired"},
		{"other account's repo, delete", "com.atproto.repo.deleteRecord", bob.access, good(), 401, "AuthenticationRequired"},
		{"bad collection NSID", "com.atproto.repo.createRecord", alice.access, with("collection", "not an nsid"), 400, "InvalidRequest"},
		{"collection with one segment", "com.atproto.repo.putRecord", alice.access, with("collection", "post"), 400, "InvalidRequest"},
		{"rkey dot dot", "com.atproto.repo.putRecord", alice.access, with("rkey", ".."), 400, "InvalidRequest"},
		{"rkey with slash", "com.atproto.repo.putRecord", alice.access, with("rkey", "a/b"), 400, "InvalidRequest"},
		{"rkey with space", "com.atproto.repo.createRecord", alice.access, with("rkey", "a b"), 400, "InvalidRequest"},
		{"empty rkey on put", "com.atproto.repo.putRecord", alice.access, with("rkey", ""), 400, "InvalidRequest"},
		{"record without $type", "com.atproto.repo.createRecord", alice.access, with("record", map[string]any{"text": "x"}), 400, "InvalidRequest"},
		{"$type not the collection", "com.atproto.repo.createRecord", alice.access, with("record", map[string]any{"$type": "app.bsky.feed.like"}), 400, "InvalidRequest"},
		{"float in record", "com.atproto.repo.createRecord", alice.access, with("record", map[string]any{"$type": "app.bsky.feed.post", "n": 1.5}), 400, "InvalidRequest"},
		{"bad swapCommit", "com.atproto.repo.createRecord", alice.access, with("swapCommit", "nope"), 400, "InvalidRequest"},
	}
	headBefore, _ := ts.head(alice)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := ts.proc(tc.nsid, tc.token, tc.body)
			if r.status != tc.status || r.errName() != tc.err {
				t.Fatalf("want %d %s, got %s", tc.status, tc.err, r)
			}
		})
	}
	if h, _ := ts.head(alice); h != headBefore {
		t.Fatalf("refused writes moved the head from %s to %s", headBefore, h)
	}
}

func TestStaleSwapIsInvalidSwapAndChangesNothing(t *testing.T) {
	ts, u := startWithAlice(t)
	first := ts.createRecord(u, "k1", post("one"))
	staleCommit, _ := ts.head(u)
	ts.createRecord(u, "k2", post("two"))
	second := ts.ok(ts.proc("com.atproto.repo.putRecord", u.access, map[string]any{"repo": u.did, "validate": false, "collection": "app.bsky.feed.post", "rkey": "k1", "record": post("one, edited")}))
	staleRecord := first["cid"].(string)
	cases := []struct {
		name string
		nsid string
		body map[string]any
	}{
		{"put with stale swapRecord", "com.atproto.repo.putRecord", map[string]any{"repo": u.did, "validate": false, "collection": "app.bsky.feed.post", "rkey": "k1", "record": post("x"), "swapRecord": staleRecord}},
		{"put with null swapRecord on an existing record", "com.atproto.repo.putRecord", map[string]any{"repo": u.did, "validate": false, "collection": "app.bsky.feed.post", "rkey": "k1", "record": post("x"), "swapRecord": nil}},
		{"put with swapRecord on a missing record", "com.atproto.repo.putRecord", map[string]any{"repo": u.did, "validate": false, "collection": "app.bsky.feed.post", "rkey": "nope", "record": post("x"), "swapRecord": staleRecord}},
		{"put with stale swapCommit", "com.atproto.repo.putRecord", map[string]any{"repo": u.did, "validate": false, "collection": "app.bsky.feed.post", "rkey": "k1", "record": post("x"), "swapCommit": staleCommit}},
		{"create with stale swapCommit", "com.atproto.repo.createRecord", map[string]any{"repo": u.did, "validate": false, "collection": "app.bsky.feed.post", "record": post("x"), "swapCommit": staleCommit}},
		{"delete with stale swapRecord", "com.atproto.repo.deleteRecord", map[string]any{"repo": u.did, "collection": "app.bsky.feed.post", "rkey": "k1", "swapRecord": staleRecord}},
		{"delete with stale swapCommit", "com.atproto.repo.deleteRecord", map[string]any{"repo": u.did, "collection": "app.bsky.feed.post", "rkey": "k1", "swapCommit": staleCommit}},
		{"delete of a missing record with stale swapCommit", "com.atproto.repo.deleteRecord", map[string]any{"repo": u.did, "collection": "app.bsky.feed.post", "rkey": "nope", "swapCommit": staleCommit}},
		{"applyWrites with stale swapCommit", "com.atproto.repo.applyWrites", map[string]any{"repo": u.did, "validate": false, "swapCommit": staleCommit, "writes": []any{
			map[string]any{"$type": awCreate, "collection": "app.bsky.feed.post", "value": post("x")}}}},
	}
	head, rev := ts.head(u)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := ts.proc(tc.nsid, u.access, tc.body)
			if r.status != http.StatusBadRequest || r.errName() != "InvalidSwap" {
				t.Fatalf("want 400 InvalidSwap, got %s", r)
			}
			if h, rv := ts.head(u); h != head || rv != rev {
				t.Fatalf("head moved to %s (%s)", h, rv)
			}
			got := ts.ok(ts.query("com.atproto.repo.getRecord", "", "repo", u.did, "collection", "app.bsky.feed.post", "rkey", "k1"))
			if got["cid"] != second["cid"] {
				t.Fatalf("record changed: %v", got)
			}
		})
	}
	// A current swap goes through.
	ts.ok(ts.proc("com.atproto.repo.putRecord", u.access, map[string]any{"repo": u.did, "validate": false, "collection": "app.bsky.feed.post", "rkey": "k1", "record": post("y"), "swapRecord": second["cid"], "swapCommit": head}))
	ts.ok(ts.proc("com.atproto.repo.putRecord", u.access, map[string]any{"repo": u.did, "validate": false, "collection": "app.bsky.feed.post", "rkey": "new", "record": post("y"), "swapRecord": nil}))
}

// independentCID computes a record's CID with indigo's data-model code,
// not arbor's.
func independentCID(t *testing.T, rec map[string]any) string {
	t.Helper()
	j, err := jsonMarshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	m, err := atdata.UnmarshalJSON(j)
	if err != nil {
		t.Fatal(err)
	}
	b, err := atdata.MarshalCBOR(m)
	if err != nil {
		t.Fatal(err)
	}
	c, err := cid.Prefix{Version: 1, Codec: cid.DagCBOR, MhType: multihash.SHA2_256, MhLength: -1}.Sum(b)
	if err != nil {
		t.Fatal(err)
	}
	return c.String()
}

func TestRecordCIDsAreCanonical(t *testing.T) {
	ts, u := startWithAlice(t)
	recs := []map[string]any{
		post("plain"),
		// Valid posts (fields the schema does not name are allowed), so
		// the PDS's lexicon validation lets them through.
		{"$type": "app.bsky.feed.post", "text": "t", "zzz": 1, "a": "b", "bb": []any{int64(-5), true, nil}, "createdAt": "2024-01-01T00:00:00Z"},
		{"$type": "app.bsky.feed.post", "text": "t", "createdAt": "2024-01-01T00:00:00Z", "nested": map[string]any{"b": 1, "a": map[string]any{"$bytes": "aGVsbG8"}}, "link": map[string]any{"$link": "bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm"}},
		{"$type": "app.bsky.feed.post", "text": "ünïcödé 🌳", "createdAt": "2024-01-01T00:00:00Z", "n": -9007199254740991},
	}
	for i, rec := range recs {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			want := independentCID(t, rec)
			out := ts.createRecord(u, "", rec)
			if out["cid"] != want {
				t.Fatalf("createRecord CID %v, indigo computes %s", out["cid"], want)
			}
			got := ts.ok(ts.query("com.atproto.repo.getRecord", "", "repo", u.did, "collection", "app.bsky.feed.post", "rkey", strings.TrimPrefix(out["uri"].(string), "at://"+u.did+"/app.bsky.feed.post/")))
			if got["cid"] != want {
				t.Fatalf("getRecord CID %v, want %s", got["cid"], want)
			}
		})
	}
}

func TestListRecordsPagesBothWays(t *testing.T) {
	ts, u := startWithAlice(t)
	var keys []string
	for i := 0; i < 7; i++ {
		k := fmt.Sprintf("k%d", i)
		keys = append(keys, k)
		ts.createRecord(u, k, post(k))
	}
	ts.createRecord(u, "other", map[string]any{"$type": "app.bsky.feed.like", "createdAt": "2024-01-01T00:00:00Z",
		"subject": map[string]any{"uri": "at://" + u.did + "/app.bsky.feed.post/k0", "cid": "bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm"}})
	for _, tc := range []struct {
		name    string
		reverse bool
		want    []string
	}{
		{"default is newest key first", false, []string{"k6", "k5", "k4", "k3", "k2", "k1", "k0"}},
		{"reverse is ascending", true, keys},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			cursor := ""
			for page := 0; page < 10; page++ {
				params := []string{"repo", u.did, "collection", "app.bsky.feed.post", "limit", "3"}
				if tc.reverse {
					params = append(params, "reverse", "true")
				}
				if cursor != "" {
					params = append(params, "cursor", cursor)
				}
				out := ts.ok(ts.query("com.atproto.repo.listRecords", "", params...))
				recs := out["records"].([]any)
				if len(recs) > 3 {
					t.Fatalf("page of %d records with limit 3", len(recs))
				}
				for _, r := range recs {
					uri := r.(map[string]any)["uri"].(string)
					got = append(got, uri[strings.LastIndex(uri, "/")+1:])
				}
				c, _ := out["cursor"].(string)
				if c == "" {
					break
				}
				cursor = c
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("paged %v, want %v", got, tc.want)
			}
		})
	}
	for _, limit := range []string{"0", "101", "x"} {
		r := ts.query("com.atproto.repo.listRecords", "", "repo", u.did, "collection", "app.bsky.feed.post", "limit", limit)
		if r.status != 400 || r.errName() != "InvalidRequest" {
			t.Fatalf("limit %s: %s", limit, r)
		}
	}
	desc := ts.ok(ts.query("com.atproto.repo.describeRepo", "", "repo", u.handle))
	if fmt.Sprint(desc["collections"]) != "[app.bsky.feed.like app.bsky.feed.post]" || desc["handleIsCorrect"] != true {
		t.Fatalf("describeRepo: %v", desc)
	}
}

func TestApplyWritesIsAllOrNothing(t *testing.T) {
	ts, u := startWithAlice(t)
	ts.createRecord(u, "keep", post("keep"))
	head, _ := ts.head(u)
	create := func(rkey, text string) map[string]any {
		return map[string]any{"$type": awCreate, "collection": "app.bsky.feed.post", "rkey": rkey, "value": post(text)}
	}
	bad := []struct {
		name   string
		writes []any
	}{
		{"last write deletes a missing record", []any{create("a", "a"), map[string]any{"$type": awDelete, "collection": "app.bsky.feed.post", "rkey": "missing"}}},
		{"last write has a bad rkey", []any{create("a", "a"), create("..", "b")}},
		{"create over an existing record", []any{create("a", "a"), create("keep", "b")}},
		{"unknown write type", []any{create("a", "a"), map[string]any{"$type": "nope", "collection": "app.bsky.feed.post", "rkey": "b"}}},
		{"too many writes", func() []any {
			var w []any
			for i := 0; i <= MaxApplyWrites; i++ {
				w = append(w, create(fmt.Sprintf("w%d", i), "x"))
			}
			return w
		}()},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			r := ts.proc("com.atproto.repo.applyWrites", u.access, map[string]any{"repo": u.did, "validate": false, "writes": tc.writes})
			if r.status != 400 || r.errName() != "InvalidRequest" {
				t.Fatalf("want 400 InvalidRequest, got %s", r)
			}
			if h, _ := ts.head(u); h != head {
				t.Fatal("head moved")
			}
			if r := ts.query("com.atproto.repo.getRecord", "", "repo", u.did, "collection", "app.bsky.feed.post", "rkey", "a"); r.errName() != "RecordNotFound" {
				t.Fatalf("record a written by a refused batch: %s", r)
			}
		})
	}
	out := ts.ok(ts.proc("com.atproto.repo.applyWrites", u.access, map[string]any{"repo": u.did, "validate": false, "writes": []any{
		create("a", "a"), create("b", "b"),
		map[string]any{"$type": awUpdate, "collection": "app.bsky.feed.post", "rkey": "keep", "value": post("kept")},
		map[string]any{"$type": awDelete, "collection": "app.bsky.feed.post", "rkey": "b"},
	}}))
	results := out["results"].([]any)
	wantTypes := []string{"#createResult", "#createResult", "#updateResult", "#deleteResult"}
	for i, r := range results {
		if !strings.HasSuffix(r.(map[string]any)["$type"].(string), wantTypes[i]) {
			t.Fatalf("result %d: %v", i, r)
		}
	}
	list := ts.ok(ts.query("com.atproto.repo.listRecords", "", "repo", u.did, "collection", "app.bsky.feed.post"))
	if n := len(list["records"].([]any)); n != 2 {
		t.Fatalf("after the batch %d records, want 2 (a, keep)", n)
	}
	if _, rev := ts.head(u); rev != out["commit"].(map[string]any)["rev"] {
		t.Fatal("applyWrites commit is not the head")
	}
}

func TestConcurrentWritesChain(t *testing.T) {
	ts, u := startWithAlice(t)
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan string, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			r := ts.proc("com.atproto.repo.createRecord", u.access, map[string]any{"repo": u.did, "validate": false, "collection": "app.bsky.feed.post", "record": post(fmt.Sprint(i))})
			if r.status != 200 {
				errs <- r.String()
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	ar := ts.fetchVerifiedRepo(u)
	if ar.records != n {
		t.Fatalf("repo has %d records, want %d", ar.records, n)
	}
}
