package pds

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/arbor-atproto/arbor/identity"

	"github.com/arbor-atproto/arbor/archive"

	"github.com/bluesky-social/indigo/atproto/atcrypto"
	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/ipfs/go-cid"

	"github.com/arbor-atproto/arbor/car"
	"github.com/arbor-atproto/arbor/diff"
	"github.com/arbor-atproto/arbor/mst"
	"github.com/arbor-atproto/arbor/repo"
)

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }

// signingKey resolves a DID document through the server's directory over
// HTTP and returns its #atproto key.
func (ts *testServer) signingKey(did string) atcrypto.PublicKey {
	ts.t.Helper()
	res, err := http.Get(ts.srv.PLCURL() + "/" + did)
	if err != nil {
		ts.t.Fatal(err)
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil || res.StatusCode != 200 {
		ts.t.Fatalf("DID document of %s: %d %s %v", did, res.StatusCode, body, err)
	}
	docDID, key, err := identity.SigningKeyFromDIDDocument(body)
	if err != nil || docDID.String() != did {
		ts.t.Fatalf("DID document of %s (%s): %v", did, docDID, err)
	}
	return key
}

type verifiedRepo struct {
	archive *archive.Archive
	car     []byte
	records int
}

// fetchVerifiedRepo downloads u's repository with sync.getRepo and checks
// it completely, signature included, against the key the embedded
// directory publishes.
func (ts *testServer) fetchVerifiedRepo(u *user) *verifiedRepo {
	ts.t.Helper()
	r := ts.query("com.atproto.sync.getRepo", "", "did", u.did)
	if r.status != 200 || r.header.Get("Content-Type") != carContentType {
		ts.t.Fatalf("getRepo: %s", r)
	}
	ar, err := archive.ReadWithBodies(bytes.NewReader(r.body), archive.Options{})
	if err != nil {
		ts.t.Fatalf("getRepo CAR: %v", err)
	}
	rep, err := ar.Verify(archive.VerifyOptions{Key: ts.signingKey(u.did), DID: syntax.DID(u.did)})
	if err != nil {
		ts.t.Fatal(err)
	}
	if !rep.Valid() || !rep.SignatureChecked {
		ts.t.Fatalf("getRepo output does not verify (signature checked: %v): %v", rep.SignatureChecked, rep.Problems)
	}
	if head, _ := ts.head(u); ar.Root.String() != head {
		ts.t.Fatalf("CAR root %s, head %s", ar.Root, head)
	}
	// Nothing but the repository: every block is reachable.
	st, err := ar.Inspect()
	if err != nil {
		ts.t.Fatal(err)
	}
	_ = st
	return &verifiedRepo{archive: ar.Archive, car: r.body, records: rep.Records}
}

func TestGetRepoVerifiesWithTheKeyOfTheDIDDocument(t *testing.T) {
	ts, u := startWithAlice(t)
	empty := ts.fetchVerifiedRepo(u)
	if empty.records != 0 {
		t.Fatalf("new repo has %d records", empty.records)
	}
	for i := 0; i < 30; i++ {
		ts.createRecord(u, "", post(strings.Repeat("x", i)))
	}
	ts.createRecord(u, "self", map[string]any{"$type": "app.bsky.actor.profile", "displayName": "Alice"})
	got := ts.fetchVerifiedRepo(u)
	if got.records != 31 {
		t.Fatalf("repo has %d records, want 31", got.records)
	}
	// Only the current repository's blocks: a deleted record's block and
	// the old commits are gone.
	ts.ok(ts.proc("com.atproto.repo.deleteRecord", u.access, map[string]any{"repo": u.did, "collection": "app.bsky.actor.profile", "rkey": "self"}))
	after := ts.fetchVerifiedRepo(u)
	_, blocks, err := car.ReadAll(bytes.NewReader(after.car))
	if err != nil {
		t.Fatal(err)
	}
	reach := map[cid.Cid]bool{after.archive.Root: true}
	tree, err := mst.Load(mst.MapSource(blocks), after.archive.Data)
	if err != nil {
		t.Fatal(err)
	}
	tree.WriteBlocks(func(c cid.Cid, _ []byte) error { reach[c] = true; return nil })
	tree.Walk(func(_ []byte, v cid.Cid) error { reach[v] = true; return nil })
	for c := range blocks {
		if !reach[c] {
			t.Errorf("getRepo sent block %s that the repository does not reach", c)
		}
	}
}

func TestGetRepoSinceGivesTheBlocksAddedAfter(t *testing.T) {
	ts, u := startWithAlice(t)
	for i := 0; i < 10; i++ {
		ts.createRecord(u, "", post("before"))
	}
	base := ts.fetchVerifiedRepo(u)
	_, baseRev := ts.head(u)
	for i := 0; i < 5; i++ {
		ts.createRecord(u, "", post("after"))
	}
	ts.ok(ts.proc("com.atproto.repo.putRecord", u.access, map[string]any{"repo": u.did, "validate": false, "collection": "app.bsky.feed.post", "rkey": "self", "record": post("new")}))
	full := ts.fetchVerifiedRepo(u)
	r := ts.query("com.atproto.sync.getRepo", "", "did", u.did, "since", baseRev)
	if r.status != 200 {
		t.Fatalf("getRepo since: %s", r)
	}
	sliceRoots, sliceBlocks, err := car.ReadAll(bytes.NewReader(r.body))
	if err != nil {
		t.Fatal(err)
	}
	_, baseBlocks, _ := car.ReadAll(bytes.NewReader(base.car))
	_, fullBlocks, _ := car.ReadAll(bytes.NewReader(full.car))
	if len(sliceBlocks) >= len(fullBlocks) {
		t.Fatalf("since slice has %d blocks, the full repo %d", len(sliceBlocks), len(fullBlocks))
	}
	got := map[cid.Cid]bool{}
	applied, err := diff.ApplySlice(
		diff.RootedBlocks{Blocks: mst.MapSource(baseBlocks), Root: base.archive.Root},
		diff.RootedBlocks{Blocks: mst.MapSource(sliceBlocks), Root: sliceRoots[0]},
		func(c cid.Cid, _ []byte) error { got[c] = true; return nil })
	if err != nil {
		t.Fatalf("slice does not bring the base forward: %v", err)
	}
	if applied.Records != 16 || len(got) != len(fullBlocks) {
		t.Fatalf("applied: %d records, %d blocks; full repo %d blocks", applied.Records, len(got), len(fullBlocks))
	}
	for c := range fullBlocks {
		if !got[c] {
			t.Fatalf("base + slice lacks %s", c)
		}
	}
	if r := ts.query("com.atproto.sync.getRepo", "", "did", u.did, "since", "nope"); r.errName() != "InvalidRequest" {
		t.Fatalf("bad since: %s", r)
	}
}

func TestSyncGetRecordProvesTheRecord(t *testing.T) {
	ts, u := startWithAlice(t)
	var cids = map[string]string{}
	for _, k := range []string{"a", "b", "c", "d", "e", "f", "g", "h"} {
		cids[k] = ts.createRecord(u, k, post(k))["cid"].(string)
	}
	key := ts.signingKey(u.did)
	for _, tc := range []struct {
		name, rkey string
		present    bool
	}{
		{"present", "c", true},
		{"present, last", "h", true},
		{"absent", "zz", false},
		{"absent, between", "cc", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := ts.query("com.atproto.sync.getRecord", "", "did", u.did, "collection", "app.bsky.feed.post", "rkey", tc.rkey)
			if r.status != 200 {
				t.Fatalf("sync.getRecord: %s", r)
			}
			roots, blocks, err := car.ReadAll(bytes.NewReader(r.body))
			if err != nil {
				t.Fatal(err)
			}
			commit, err := repo.DecodeCommit(blocks[roots[0]])
			if err != nil {
				t.Fatal(err)
			}
			if err := commit.VerifySignature(key); err != nil {
				t.Fatalf("commit signature: %v", err)
			}
			tree, err := mst.Load(mst.MapSource(blocks), commit.Data)
			if err != nil {
				t.Fatal(err)
			}
			val, found, err := tree.Get([]byte("app.bsky.feed.post/" + tc.rkey))
			if err != nil {
				t.Fatalf("the proof does not hold the key's path: %v", err)
			}
			if found != tc.present {
				t.Fatalf("found %v, want %v", found, tc.present)
			}
			if tc.present {
				if val.String() != cids[tc.rkey] {
					t.Fatalf("proof gives %s, record is %s", val, cids[tc.rkey])
				}
				if _, ok := blocks[val]; !ok {
					t.Fatal("record block missing from the CAR")
				}
			}
			if len(blocks) > 12 {
				t.Fatalf("%d blocks for a proof in an 8-record repo", len(blocks))
			}
		})
	}
}

func TestSyncQueries(t *testing.T) {
	ts, alice := startWithAlice(t)
	bob := ts.createUser("bob")
	c := ts.createRecord(alice, "k", post("x"))["cid"].(string)
	head, rev := ts.head(alice)
	if c := ts.createRecord(bob, "", post("y")); c == nil {
		t.Fatal("bob cannot write")
	}
	list := ts.ok(ts.query("com.atproto.sync.listRepos", ""))
	if n := len(list["repos"].([]any)); n != 2 {
		t.Fatalf("listRepos: %v", list)
	}
	page := ts.ok(ts.query("com.atproto.sync.listRepos", "", "limit", "1"))
	next := ts.ok(ts.query("com.atproto.sync.listRepos", "", "limit", "1", "cursor", page["cursor"].(string)))
	if page["repos"].([]any)[0].(map[string]any)["did"] == next["repos"].([]any)[0].(map[string]any)["did"] {
		t.Fatal("listRepos cursor repeats the page")
	}
	st := ts.ok(ts.query("com.atproto.sync.getRepoStatus", "", "did", alice.did))
	if st["active"] != true || st["rev"] != rev {
		t.Fatalf("getRepoStatus: %v", st)
	}
	r := ts.query("com.atproto.sync.getBlocks", "", "did", alice.did, "cids", c, "cids", head)
	_, blocks, err := car.ReadAll(bytes.NewReader(r.body))
	if r.status != 200 || err != nil || len(blocks) != 2 {
		t.Fatalf("getBlocks: %s %v", r, err)
	}
	// A block of another repository is not served.
	bobHead, _ := ts.head(bob)
	if r := ts.query("com.atproto.sync.getBlocks", "", "did", alice.did, "cids", bobHead); r.errName() != "BlockNotFound" {
		t.Fatalf("getBlocks of another repo's block: %s", r)
	}
	for _, tc := range []struct{ nsid, did, want string }{
		{"com.atproto.sync.getRepo", "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa", "RepoNotFound"},
		{"com.atproto.sync.getLatestCommit", "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa", "RepoNotFound"},
		{"com.atproto.sync.getRepo", "", "InvalidRequest"},
	} {
		if r := ts.query(tc.nsid, "", "did", tc.did); r.status != 400 || r.errName() != tc.want {
			t.Errorf("%s %q: %s", tc.nsid, tc.did, r)
		}
	}
	res := ts.ok(ts.query("com.atproto.identity.resolveHandle", "", "handle", "ALICE.test"))
	if res["did"] != alice.did {
		t.Fatalf("resolveHandle: %v", res)
	}
	if r := ts.query("com.atproto.identity.resolveHandle", "", "handle", "nobody.test"); r.status != 400 {
		t.Fatalf("resolveHandle of nobody: %s", r)
	}
	wk := ts.do(http.MethodGet, "/.well-known/atproto-did", "", nil, map[string]string{"Host": "alice.test"})
	if wk.status != 200 || string(wk.body) != alice.did {
		t.Fatalf("well-known: %s", wk)
	}
	desc := ts.ok(ts.query("com.atproto.server.describeServer", ""))
	if desc["did"] != "did:web:localhost" {
		t.Fatalf("describeServer: %v", desc)
	}
	if r := ts.query("com.atproto.nope.method", ""); r.status != 501 || r.errName() != "MethodNotImplemented" {
		t.Fatalf("unknown method: %s", r)
	}
}
