package pds

import (
	"bytes"
	"net/http"
	"sort"
	"testing"

	"github.com/bluesky-social/indigo/atproto/atcrypto"
	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/ipfs/go-cid"

	"github.com/arbor-atproto/arbor/car"
	"github.com/arbor-atproto/arbor/dagcbor"
	"github.com/arbor-atproto/arbor/mst"
	"github.com/arbor-atproto/arbor/repo"
)

// carOpts says how to spoil a repository CAR built by buildRepoCAR.
type carOpts struct {
	dropRecord bool // leave one record block out
	tamper     bool // change a byte of a record block (its CID no longer matches)
	bareTree   bool // root the CAR at the MST instead of a commit
}

// buildRepoCAR builds, without the server, a repository for did holding
// records at paths, signed with a fresh key.
func buildRepoCAR(t *testing.T, did string, paths []string, o carOpts) []byte {
	t.Helper()
	sort.Strings(paths)
	blocks := map[cid.Cid][]byte{}
	var order []cid.Cid
	put := func(c cid.Cid, b []byte) {
		if _, ok := blocks[c]; !ok {
			order = append(order, c)
		}
		blocks[c] = b
	}
	var leaves []mst.Leaf
	for _, p := range paths {
		col := p[:bytes.IndexByte([]byte(p), '/')]
		b, err := dagcbor.Encode(map[string]any{"$type": col, "path": p})
		if err != nil {
			t.Fatal(err)
		}
		c := dagcbor.SumCID(dagcbor.CodecDagCBOR, b)
		put(c, b)
		leaves = append(leaves, mst.Leaf{Key: []byte(p), Value: c})
	}
	tree, err := mst.BuildTree(leaves)
	if err != nil {
		t.Fatal(err)
	}
	tree.WriteBlocks(func(c cid.Cid, b []byte) error { put(c, b); return nil })
	root, _ := tree.RootCID()
	key, _ := atcrypto.GeneratePrivateKeyK256()
	commit := &repo.Commit{DID: syntax.DID(did), Version: 3, Data: root, Rev: "3kaaaaaaaaa22"}
	if err := commit.Sign(key); err != nil {
		t.Fatal(err)
	}
	cb, _ := commit.Bytes()
	cc := dagcbor.SumCID(dagcbor.CodecDagCBOR, cb)
	put(cc, cb)
	rootCID := cc
	if o.bareTree {
		rootCID = root
	}
	var buf bytes.Buffer
	w, err := car.NewWriter(&buf, []cid.Cid{rootCID})
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range order {
		b := blocks[c]
		if i == 0 && o.dropRecord {
			continue
		}
		if i == 0 && o.tamper {
			b = append([]byte{}, b...)
			b[len(b)-1] ^= 1
		}
		w.Put(c, b)
	}
	w.Flush()
	return buf.Bytes()
}

func TestImportRepoIsVerifiedThenAdopted(t *testing.T) {
	ts, u := startWithAlice(t)
	ts.createRecord(u, "before", post("before the import"))
	paths := []string{"app.bsky.feed.post/a", "app.bsky.feed.post/b", "app.bsky.feed.like/c", "com.example.thing/self"}
	head, _ := ts.head(u)
	importCAR := func(token string, body []byte) *resp {
		return ts.do(http.MethodPost, "/xrpc/com.atproto.repo.importRepo", token, body, map[string]string{"Content-Type": carContentType})
	}
	for _, tc := range []struct {
		name string
		body []byte
	}{
		{"another DID's repository", buildRepoCAR(t, "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa", paths, carOpts{})},
		{"a record block missing", buildRepoCAR(t, u.did, paths, carOpts{dropRecord: true})},
		{"a tampered block", buildRepoCAR(t, u.did, paths, carOpts{tamper: true})},
		{"a bare tree", buildRepoCAR(t, u.did, paths, carOpts{bareTree: true})},
		{"a path that is not collection/rkey", buildRepoCAR(t, u.did, []string{"notannsid/x"}, carOpts{})},
		{"not a CAR", []byte("hello")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := importCAR(u.access, tc.body)
			if r.status != 400 || r.errName() != "InvalidRequest" {
				t.Fatalf("want 400 InvalidRequest, got %s", r)
			}
			if h, _ := ts.head(u); h != head {
				t.Fatal("a refused import moved the head")
			}
		})
	}
	if r := importCAR("", buildRepoCAR(t, u.did, paths, carOpts{})); r.status != 401 {
		t.Fatalf("import without a token: %s", r)
	}
	ts.ok(importCAR(u.access, buildRepoCAR(t, u.did, paths, carOpts{})))
	got := ts.fetchVerifiedRepo(u) // re-signed with the account's key
	if got.records != len(paths) {
		t.Fatalf("after import %d records, want %d", got.records, len(paths))
	}
	if r := ts.query("com.atproto.repo.getRecord", "", "repo", u.did, "collection", "app.bsky.feed.post", "rkey", "before"); r.errName() != "RecordNotFound" {
		t.Fatalf("a record from before the import survived: %s", r)
	}
	rec := ts.ok(ts.query("com.atproto.repo.getRecord", "", "repo", u.did, "collection", "com.example.thing", "rkey", "self"))
	if rec["value"].(map[string]any)["path"] != "com.example.thing/self" {
		t.Fatalf("imported record: %v", rec)
	}
	// Writes chain on the imported tree, and an export imports back.
	ts.createRecord(u, "after", post("after"))
	again := ts.fetchVerifiedRepo(u)
	ts.ok(importCAR(u.access, again.car))
	if ts.fetchVerifiedRepo(u).records != len(paths)+1 {
		t.Fatal("re-import of the exported repository lost records")
	}
}
