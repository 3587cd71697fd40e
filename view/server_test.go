package view

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/arbor-atproto/arbor/internal/testfixtures"
	"github.com/arbor-atproto/arbor/mst"
	"github.com/arbor-atproto/arbor/repo"
)

func newTestServer(t *testing.T, opts Options, inputs ...Input) *httptest.Server {
	t.Helper()
	s, err := NewServer(inputs, opts)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return ts
}

// get fetches an API path and decodes its JSON into v; it returns the
// status.
func get(t *testing.T, ts *httptest.Server, path string, params url.Values, v any) int {
	t.Helper()
	u := ts.URL + path
	if params != nil {
		u += "?" + params.Encode()
	}
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("%s: content type %q", u, ct)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("%s: %v", u, err)
	}
	return resp.StatusCode
}

func mustGet(t *testing.T, ts *httptest.Server, path string, params url.Values, v any) {
	t.Helper()
	if code := get(t, ts, path, params, v); code != http.StatusOK {
		t.Fatalf("%s %v: status %d", path, params, code)
	}
}

func goldenInput(t *testing.T, name string) (testfixtures.GoldenRepo, Input) {
	g, a := loadGolden(t, name)
	return g, Input{Name: name + ".car", Archive: a}
}

// /api/commit and /api/collections give the reference's commit facts and
// record counts; the signature is "not checked" without a key, "valid"
// with the repository's key and "invalid" with another.
func TestAPICommitAndCollectionsAgreeWithReference(t *testing.T) {
	g, in := goldenInput(t, "r300")
	other, _ := loadGolden(t, "p256-50")
	key, err := repo.ParsePublicKey(g.SigningKey)
	if err != nil {
		t.Fatal(err)
	}
	wrong, err := repo.ParsePublicKey(other.SigningKey)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		opts Options
		want string
	}{
		{"no key", Options{}, "not checked"},
		{"the repository's key", Options{Key: key}, "valid"},
		{"another key", Options{Key: wrong}, "invalid"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ts := newTestServer(t, c.opts, in)
			var cr CommitResponse
			mustGet(t, ts, "/api/commit", nil, &cr)
			if len(cr.Sides) != 1 || cr.Diff {
				t.Fatalf("sides %d, diff %v", len(cr.Sides), cr.Diff)
			}
			s := cr.Sides[0]
			if s.DID.String() != g.DID || s.Rev.String() != g.Rev || s.Root != g.CommitCID || s.Data != g.DataCID || s.Records != g.RecordCount || s.Signature != c.want {
				t.Errorf("commit %+v disagrees with the reference (want signature %q)", s, c.want)
			}
			var cols []Collection
			mustGet(t, ts, "/api/collections", nil, &cols)
			got := map[string]int{}
			for _, c := range cols {
				got[c.Name] = c.Records
			}
			g.CheckCollections(t, got)
		})
	}
}

// Paging through a collection with any page size yields exactly the
// reference's records of that collection, in order, and nothing else.
func TestAPIRecordsPagesThroughCollections(t *testing.T) {
	g, in := goldenInput(t, "r2000")
	ts := newTestServer(t, Options{}, in)
	for _, limit := range []string{"1", "7", "1000"} {
		for coll := range g.Collections {
			var want []string
			for _, r := range g.Records {
				if strings.HasPrefix(r.Path, coll+"/") {
					want = append(want, r.Path+" "+r.CID)
				}
			}
			var got []string
			cursor, pages := "", 0
			for {
				var p RecordsPage
				mustGet(t, ts, "/api/records", url.Values{"collection": {coll}, "cursor": {cursor}, "limit": {limit}}, &p)
				pages++
				for _, r := range p.Records {
					got = append(got, r.Path+" "+r.CID)
				}
				if p.Next == "" {
					break
				}
				cursor = p.Next
				if pages > 3000 {
					t.Fatal("paging does not end")
				}
			}
			if !slices.Equal(got, want) {
				t.Fatalf("limit %s, %s: %d records paged, reference %d (first difference near %v)", limit, coll, len(got), len(want), firstDiff(got, want))
			}
		}
	}
}

func firstDiff(a, b []string) string {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return a[i] + " vs " + b[i]
		}
	}
	return "the end"
}

// Walking the tree through /api/node from the root reaches the reference's
// node count and every record in key order; every subtree is one layer
// below its parent, and every key range covers its node's own keys.
func TestAPINodeWalkCoversTheTree(t *testing.T) {
	for _, name := range []string{"empty", "ten", "r2000"} {
		t.Run(name, func(t *testing.T) {
			g, in := goldenInput(t, name)
			ts := newTestServer(t, Options{}, in)
			nodes, depth := 0, 0
			var keys []string
			var rec func(cid string, layer, d int)
			rec = func(cid string, layer, d int) {
				var n NodeResponse
				params := url.Values{}
				if cid != "" {
					params.Set("cid", cid)
				}
				mustGet(t, ts, "/api/node", params, &n)
				nodes++
				depth = max(depth, d)
				if cid != "" && n.Layer != layer {
					t.Errorf("node %s: layer %d, its parent says %d", n.CID, n.Layer, layer)
				}
				if n.Root != (cid == "") {
					t.Errorf("node %s: root %v", n.CID, n.Root)
				}
				if len(n.Entries) > 0 && (n.FirstKey > n.Entries[0].Key || n.LastKey < n.Entries[len(n.Entries)-1].Key) {
					t.Errorf("node %s: range %s..%s misses its own keys", n.CID, n.FirstKey, n.LastKey)
				}
				if n.Left != nil {
					rec(n.Left.CID, n.Layer-1, d+1)
				}
				for _, e := range n.Entries {
					if e.Height != n.Layer || mst.Height([]byte(e.Key)) != n.Layer {
						t.Errorf("entry %s (height %d) in a layer-%d node", e.Key, mst.Height([]byte(e.Key)), n.Layer)
					}
					keys = append(keys, e.Key)
					if e.Right != nil {
						rec(e.Right.CID, n.Layer-1, d+1)
					}
				}
			}
			rec("", 0, 1)
			if nodes != g.MSTNodeCount || depth != g.MSTDepth || len(keys) != g.RecordCount {
				t.Errorf("%d nodes, depth %d, %d records; reference %d, %d, %d", nodes, depth, len(keys), g.MSTNodeCount, g.MSTDepth, g.RecordCount)
			}
			for i := range keys {
				if keys[i] != g.Records[i].Path {
					t.Fatalf("record %d: %s, reference %s", i, keys[i], g.Records[i].Path)
				}
			}
		})
	}
}

// /api/path finds every reference record: the path starts at the data root,
// goes down one layer at a time and ends in a node holding the key, whose
// layer is the key's height. A key that is not there is not found.
func TestAPIPathFindsEveryRecord(t *testing.T) {
	g, in := goldenInput(t, "r300")
	ts := newTestServer(t, Options{}, in)
	for _, r := range g.Records {
		var p PathResponse
		mustGet(t, ts, "/api/path", url.Values{"key": {r.Path}}, &p)
		if !p.Found || len(p.Nodes) == 0 || p.Nodes[0] != g.DataCID {
			t.Fatalf("%s: found %v, path %v", r.Path, p.Found, p.Nodes)
		}
		for i := 1; i < len(p.Layers); i++ {
			if p.Layers[i] != p.Layers[i-1]-1 {
				t.Fatalf("%s: layers %v do not step down by one", r.Path, p.Layers)
			}
		}
		if p.Layers[len(p.Layers)-1] != p.Height {
			t.Fatalf("%s (height %d) found in a layer-%d node", r.Path, p.Height, p.Layers[len(p.Layers)-1])
		}
		var n NodeResponse
		mustGet(t, ts, "/api/node", url.Values{"cid": {p.Nodes[len(p.Nodes)-1]}}, &n)
		if !slices.ContainsFunc(n.Entries, func(e NodeEntry) bool { return e.Key == r.Path && e.Value == r.CID }) {
			t.Fatalf("%s: the last node of its path does not hold it", r.Path)
		}
	}
	var p PathResponse
	mustGet(t, ts, "/api/path", url.Values{"key": {"app.bsky.feed.post/zzzzzzzzzzzzz"}}, &p)
	if p.Found || len(p.Nodes) == 0 {
		t.Errorf("absent key: found %v, path %v", p.Found, p.Nodes)
	}
}

// A like's subject (an at:// URI and a CID link to a post of the same
// repository) comes back as two links to that post's path.
func TestAPIRecordLinksToRecordsItReferences(t *testing.T) {
	g, in := goldenInput(t, "ten")
	ts := newTestServer(t, Options{}, in)
	byCID := map[string]string{}
	for _, r := range g.Records {
		if _, dup := byCID[r.CID]; !dup {
			byCID[r.CID] = r.Path
		}
	}
	checked := 0
	for _, r := range g.Records {
		if !strings.HasPrefix(r.Path, "app.bsky.feed.like/") {
			continue
		}
		var rr RecordResponse
		mustGet(t, ts, "/api/record", url.Values{"path": {r.Path}}, &rr)
		var v struct {
			Subject struct {
				URI string `json:"uri"`
				CID struct {
					Link string `json:"$link"`
				} `json:"cid"`
			} `json:"subject"`
		}
		if err := json.Unmarshal(rr.Value, &v); err != nil {
			t.Fatal(err)
		}
		if rr.CID != r.CID || rr.URI != "at://"+g.DID+"/"+r.Path {
			t.Errorf("%s: cid %s uri %s", r.Path, rr.CID, rr.URI)
		}
		target := byCID[v.Subject.CID.Link]
		if target == "" || !strings.HasSuffix(v.Subject.URI, "/"+target) {
			t.Fatalf("%s: fixture's subject %s / %s is not a record of the repo", r.Path, v.Subject.URI, v.Subject.CID.Link)
		}
		want := []Link{{Value: v.Subject.CID.Link, Kind: "cid", Path: target}, {Value: v.Subject.URI, Kind: "uri", Path: target}}
		sort.Slice(rr.Links, func(i, j int) bool { return rr.Links[i].Kind < rr.Links[j].Kind })
		if !slices.Equal(rr.Links, want) {
			t.Errorf("%s: links %+v, want %+v", r.Path, rr.Links, want)
		}
		checked++
	}
	if checked == 0 {
		t.Fatal("no like records in the fixture")
	}
}

// Bad requests get a JSON error with a 4xx status.
func TestAPIRejectsBadRequests(t *testing.T) {
	_, in := goldenInput(t, "ten")
	ts := newTestServer(t, Options{}, in)
	cases := []struct {
		name, path string
		params     url.Values
		status     int
	}{
		{"record without path", "/api/record", nil, 400},
		{"record not in the tree", "/api/record", url.Values{"path": {"app.bsky.feed.post/nope"}}, 404},
		{"side b with one repository", "/api/node", url.Values{"side": {"b"}}, 400},
		{"unknown side", "/api/commit", url.Values{"side": {"c"}}, 200}, // commit ignores the side
		{"node cid that does not parse", "/api/node", url.Values{"cid": {"xyz"}}, 400},
		{"node cid not in the file", "/api/node", url.Values{"cid": {someCID("x").String()}}, 404},
		{"path without key", "/api/path", nil, 400},
		{"records limit too large", "/api/records", url.Values{"limit": {"100000"}}, 400},
		{"records cursor outside the collection", "/api/records", url.Values{"collection": {"app.bsky.feed.post"}, "cursor": {"app.bsky.feed.like/x"}}, 400},
		{"diff with one repository", "/api/diff", nil, 404},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var v map[string]any
			if code := get(t, ts, c.path, c.params, &v); code != c.status {
				t.Fatalf("status %d, want %d (%v)", code, c.status, v)
			}
			if c.status != 200 && v["error"] == "" {
				t.Fatalf("no error message: %v", v)
			}
		})
	}
}

// With two snapshots, /api/diff lists the reference's operations and as
// many nodes only in B as the reference's slice carries; records and nodes
// are marked with their change.
func TestAPIDiffAgreesWithReferenceDiffs(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join("..", "golden", "diffs", "*", "expected.json"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no golden diffs: %v", err)
	}
	for _, exp := range dirs {
		dir := filepath.Dir(exp)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			var want struct {
				Creates []struct{ Path, CID string }
				Updates []struct{ Path, Prev, CID string }
				Deletes []struct{ Path, Prev string }
				NewRoot string `json:"newRoot"`
				Blocks  struct {
					MSTNodes int `json:"mstNodes"`
				} `json:"newBlockCounts"`
			}
			b, err := os.ReadFile(exp)
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(b, &want); err != nil {
				t.Fatal(err)
			}
			a := Input{Name: "old.car", Archive: readCAR(t, filepath.Join(dir, "old.car"))}
			bb := Input{Name: "new.car", Archive: readCAR(t, filepath.Join(dir, "new.car"))}
			ts := newTestServer(t, Options{}, a, bb)
			var d DiffResponse
			mustGet(t, ts, "/api/diff", nil, &d)
			var got, exp []string
			for _, o := range d.Ops {
				got = append(got, o.Action+" "+o.Path+" "+o.Old+" "+o.New)
			}
			for _, o := range want.Creates {
				exp = append(exp, "created "+o.Path+"  "+o.CID)
			}
			for _, o := range want.Updates {
				exp = append(exp, "updated "+o.Path+" "+o.Prev+" "+o.CID)
			}
			for _, o := range want.Deletes {
				exp = append(exp, "deleted "+o.Path+" "+o.Prev+" ")
			}
			sort.Strings(got)
			sort.Strings(exp)
			if !slices.Equal(got, exp) {
				t.Fatalf("ops\n%v\nreference\n%v", got, exp)
			}
			if len(d.CreatedNodes) != want.Blocks.MSTNodes {
				t.Errorf("%d nodes only in B, the reference slice has %d", len(d.CreatedNodes), want.Blocks.MSTNodes)
			}
			// The new root is marked on side B when anything changed.
			var root NodeResponse
			mustGet(t, ts, "/api/node", url.Values{"side": {"b"}}, &root)
			if root.CID != want.NewRoot {
				t.Fatalf("side B root %s, reference %s", root.CID, want.NewRoot)
			}
			if changed := len(exp) > 0; (root.Mark == "only-b") != changed {
				t.Errorf("side B root mark %q with %d ops", root.Mark, len(exp))
			}
			for _, o := range want.Creates {
				var rr RecordResponse
				mustGet(t, ts, "/api/record", url.Values{"side": {"b"}, "path": {o.Path}}, &rr)
				if rr.Change != "created" {
					t.Errorf("%s on side B: change %q", o.Path, rr.Change)
				}
			}
			for _, o := range want.Deletes {
				var rr RecordResponse
				mustGet(t, ts, "/api/record", url.Values{"side": {"a"}, "path": {o.Path}}, &rr)
				if rr.Change != "deleted" {
					t.Errorf("%s on side A: change %q", o.Path, rr.Change)
				}
				if code := get(t, ts, "/api/record", url.Values{"side": {"b"}, "path": {o.Path}}, &rr); code != 404 {
					t.Errorf("deleted %s found on side B", o.Path)
				}
			}
			for _, o := range want.Updates {
				var rr RecordResponse
				mustGet(t, ts, "/api/record", url.Values{"side": {"b"}, "path": {o.Path}}, &rr)
				if rr.Change != "updated" || rr.Other != o.Prev || len(rr.Fields) == 0 {
					t.Errorf("%s on side B: change %q, other %s, %d field changes", o.Path, rr.Change, rr.Other, len(rr.Fields))
				}
			}
		})
	}
}

// The page loads nothing from elsewhere: no absolute URL in any asset.
func TestPageHasNoExternalAssets(t *testing.T) {
	_, in := goldenInput(t, "one")
	ts := newTestServer(t, Options{}, in)
	for _, p := range []string{"/", "/app.js", "/style.css"} {
		resp, err := http.Get(ts.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		_, err = readBody(&b, resp)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s: %d %v", p, resp.StatusCode, err)
		}
		for _, bad := range []string{"http://", "https://", "//cdn", "@import", "url("} {
			if strings.Contains(b.String(), bad) {
				t.Errorf("%s contains %q", p, bad)
			}
		}
	}
}
