package build

import (
	"bytes"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/arbor-atproto/arbor/archive"
	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/ipfs/go-cid"

	"github.com/arbor-atproto/arbor/car"
	"github.com/arbor-atproto/arbor/repo"
)

// rewrite runs Rewrite on a CAR held in memory.
func rewrite(t testing.TB, in []byte, opts RewriteOptions) ([]byte, *RewriteResult, error) {
	t.Helper()
	var out bytes.Buffer
	res, err := Rewrite(bytes.NewReader(in), &out, opts)
	return out.Bytes(), res, err
}

// TestRewriteWithNoOptionIsByteStable on repos from the reference
// implementation, real PDS exports and legacy exports with history.
func TestRewriteWithNoOptionIsByteStable(t *testing.T) {
	for _, path := range []string{
		golden("repos", "empty.car"),
		golden("repos", "r2000.car"),
		golden("repos", "p256-50.car"),
		corpus("indigo", "testing", "testdata", "greenground.repo.car"),
		corpus("indigo", "testing", "testdata", "fakermaker.repo.car"),
		corpus("indigo", "atproto", "repo", "testdata", "bnewbold.robocracy.org.20250310005405.car"),
		corpus("arroba", "arroba", "tests", "snarfed2.car"),
	} {
		t.Run(filepath.Base(path), func(t *testing.T) {
			in := readFile(t, path)
			out, res, err := rewrite(t, in, RewriteOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(in, out) {
				t.Fatalf("output differs from input (%d vs %d bytes)", len(out), len(in))
			}
			if !res.Unchanged || res.CommitChanged || res.TreeRebuilt {
				t.Fatalf("result claims changes: %+v", res)
			}
		})
	}
}

// withExtraBlocks returns the CAR with an unreferenced block and a repeat of
// its second block appended.
func withExtraBlocks(t testing.TB, in []byte) ([]byte, cid.Cid) {
	t.Helper()
	cr, err := car.NewReader(bytes.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	cw, err := car.NewWriter(&out, cr.Roots())
	if err != nil {
		t.Fatal(err)
	}
	var second car.Block
	for i := 0; ; i++ {
		b, err := cr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if i == 1 {
			second = b
		}
		cw.Put(b.CID, b.Data)
	}
	stray := []byte{0xa1, 0x61, 0x78, 0x01} // {"x": 1}
	strayCID := cid.NewCidV1(cid.DagCBOR, mustHash(stray))
	cw.Put(strayCID, stray)
	cw.Put(second.CID, second.Data)
	if err := cw.Flush(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes(), strayCID
}

// TestRewriteKeepsOrCompactsExtraBlocks: without --compact, unreferenced and
// repeated blocks stay (byte-stable); with it they go and the repo is the
// same.
func TestRewriteKeepsOrCompactsExtraBlocks(t *testing.T) {
	orig := readFile(t, golden("repos", "ten.car"))
	in, stray := withExtraBlocks(t, orig)
	out, _, err := rewrite(t, in, RewriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(in, out) {
		t.Fatal("no-option rewrite of a CAR with a repeated block is not byte-stable")
	}
	out, res, err := rewrite(t, in, RewriteOptions{Compact: true})
	if err != nil {
		t.Fatal(err)
	}
	a := readArchive(t, out)
	if a.Has(stray) || a.Duplicates != 0 {
		t.Fatalf("compacted output still has the stray block (%v) or %d duplicates", a.Has(stray), a.Duplicates)
	}
	src := readArchive(t, orig)
	if res.NewCommit != src.Root || a.Root != src.Root || a.DistinctBlocks() != src.DistinctBlocks() {
		t.Fatalf("compaction changed the repo: root %s (want %s), %d blocks (want %d)", a.Root, src.Root, a.DistinctBlocks(), src.DistinctBlocks())
	}
}

// TestRewriteDropsRecordsAndTheirBlocks: the records chosen go, the tree is
// canonical again, and no block of a dropped record is left in the file.
func TestRewriteDropsRecordsAndTheirBlocks(t *testing.T) {
	in := readFile(t, golden("repos", "ten.car"))
	src := readArchive(t, in)
	key := testKeys(t)["p256"]
	cases := []struct {
		name string
		opts RewriteOptions
		gone func(path string) bool
	}{
		{"drop-collection", RewriteOptions{DropCollections: []syntax.NSID{"app.bsky.feed.like"}},
			func(p string) bool { return strings.HasPrefix(p, "app.bsky.feed.like/") }},
		{"keep-collection", RewriteOptions{KeepCollections: []syntax.NSID{"app.bsky.feed.post", "app.bsky.actor.profile"}},
			func(p string) bool {
				return !strings.HasPrefix(p, "app.bsky.feed.post/") && !strings.HasPrefix(p, "app.bsky.actor.profile/")
			}},
		{"drop path", RewriteOptions{DropPaths: []string{"app.bsky.actor.profile/self"}},
			func(p string) bool { return p == "app.bsky.actor.profile/self" }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Key = key.key
			out, res, err := rewrite(t, in, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			got := readArchive(t, out)
			pub, _ := repo.ParsePublicKey(key.didKey)
			rep, err := got.Verify(archive.VerifyOptions{Key: pub})
			if err != nil || !rep.Valid() {
				t.Fatalf("output invalid: %v %+v", err, rep)
			}
			kept := map[cid.Cid]bool{}
			got.Walk(func(_ []byte, v cid.Cid) error { kept[v] = true; return nil })
			wantOut, dropped := 0, 0
			src.Walk(func(k []byte, v cid.Cid) error {
				if tc.gone(string(k)) {
					dropped++
					if got.Has(v) && !kept[v] {
						t.Errorf("block of dropped record %s is still in the file", k)
					}
					return nil
				}
				wantOut++
				if !kept[v] {
					t.Errorf("record %s lost", k)
				}
				return nil
			})
			if dropped == 0 || res.RecordsOut != wantOut || rep.Records != wantOut {
				t.Fatalf("records out %d (verified %d), want %d; dropped %d", res.RecordsOut, rep.Records, wantOut, dropped)
			}
			if got.DistinctBlocks() != got.BlockCount {
				t.Fatal("output repeats blocks")
			}
		})
	}
}

// TestRewriteResignsAndMovesDID: the new commit verifies with the new key
// only, names the new DID and keeps the tree; a fixed rev makes it
// deterministic.
func TestRewriteResignsAndMovesDID(t *testing.T) {
	in := readFile(t, golden("repos", "ten.car"))
	src := readArchive(t, in)
	keys := testKeys(t)
	opts := RewriteOptions{Key: keys["k256"].key, DID: "did:web:example.com", Rev: "3kzzzzzzzzz22"}
	out, res, err := rewrite(t, in, opts)
	if err != nil {
		t.Fatal(err)
	}
	again, _, err := rewrite(t, in, opts)
	if err != nil || !bytes.Equal(out, again) {
		t.Fatalf("the same rewrite twice differs (%v)", err)
	}
	a := readArchive(t, out)
	if a.Commit.DID != "did:web:example.com" || a.Commit.Rev != "3kzzzzzzzzz22" || a.Data != src.Data || res.TreeRebuilt {
		t.Fatalf("commit %+v; data %s, want %s", a.Commit, a.Data, src.Data)
	}
	k256, _ := repo.ParsePublicKey(keys["k256"].didKey)
	p256, _ := repo.ParsePublicKey(keys["p256"].didKey)
	if err := a.Commit.VerifySignature(k256); err != nil {
		t.Fatal(err)
	}
	if a.Commit.VerifySignature(p256) == nil {
		t.Fatal("signature verifies with another key")
	}
	if a.Has(src.Root) {
		t.Fatal("the old commit is still in the file")
	}
}

// TestRewriteWithoutRevGoesForward: the default rev is after the old one.
func TestRewriteWithoutRevGoesForward(t *testing.T) {
	if got := nextRev("3zzzzzzzzzz22", timeOfTID(t, "3kzzzzzzzzz22")); got <= "3zzzzzzzzzz22" {
		t.Fatalf("next rev %s is not after an old rev from the future", got)
	}
	if got := nextRev("2222222222222", timeOfTID(t, "3kzzzzzzzzz22")); got != (repo.TIDFromTime(timeOfTID(t, "3kzzzzzzzzz22"), 0)) {
		t.Fatalf("next rev %s, want the TID of now", got)
	}
}

// TestRewriteRefusals: invalid input without --force, changes without a
// key, unknown paths, bad option values.
func TestRewriteRefusals(t *testing.T) {
	ten := readFile(t, golden("repos", "ten.car"))
	bad := readFile(t, golden("repos", "noncanonical-flat.car"))
	key := testKeys(t)["k256"].key
	cases := []struct {
		name string
		in   []byte
		opts RewriteOptions
		want error
	}{
		{"non-canonical input", bad, RewriteOptions{}, ErrInvalidInput},
		{"non-canonical input, forced, no key", bad, RewriteOptions{Force: true}, ErrNeedKey},
		{"drop without key", ten, RewriteOptions{DropCollections: []syntax.NSID{"app.bsky.feed.like"}}, ErrNeedKey},
		{"new DID without key", ten, RewriteOptions{DID: "did:plc:othermovedtoanewdidaaaaa"}, ErrNeedKey},
		{"DID that is not a DID", ten, RewriteOptions{DID: "bob", Key: key}, ErrBadOption},
		{"rev that is not a TID", ten, RewriteOptions{Rev: "yesterday", Key: key}, ErrBadOption},
		{"collection that is not an NSID", ten, RewriteOptions{DropCollections: []syntax.NSID{"likes"}, Key: key}, ErrBadOption},
		{"path that is not a path", ten, RewriteOptions{DropPaths: []string{"app.bsky.feed.like"}, Key: key}, ErrBadOption},
		{"path not in the repo", ten, RewriteOptions{DropPaths: []string{"app.bsky.feed.like/nope"}, Key: key}, ErrNoSuchRecord},
		{"not a CAR", []byte("hello"), RewriteOptions{}, ErrInvalidInput},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, _, err := rewrite(t, tc.in, tc.opts)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if len(out) != 0 {
				t.Fatalf("wrote %d bytes before refusing", len(out))
			}
		})
	}
}

// TestForcedRewriteRebuildsTheCanonicalTree: the reference's deliberately
// flat tree, rewritten with --force, gets the root the reference computes
// for the same records.
func TestForcedRewriteRebuildsTheCanonicalTree(t *testing.T) {
	var g struct{ CanonicalDataCid string }
	readJSON(t, golden("repos", "noncanonical-flat.json"), &g)
	out, res, err := rewrite(t, readFile(t, golden("repos", "noncanonical-flat.car")), RewriteOptions{Force: true, Key: testKeys(t)["k256"].key})
	if err != nil {
		t.Fatal(err)
	}
	if res.NewData.String() != g.CanonicalDataCid || len(res.InputErrors) == 0 {
		t.Fatalf("data %s, want the reference's canonical %s (input problems %d)", res.NewData, g.CanonicalDataCid, len(res.InputErrors))
	}
	rep, err := readArchive(t, out).Verify(archive.VerifyOptions{})
	if err != nil || !rep.Valid() {
		t.Fatalf("output invalid: %v %+v", err, rep)
	}
}
