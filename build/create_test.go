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
	"github.com/arbor-atproto/arbor/dagcbor"
	"github.com/arbor-atproto/arbor/mst"
	"github.com/arbor-atproto/arbor/repo"
)

const testDID = "did:plc:arborbuildtestaaaaaaaaaa"

// TestExportThenCreateGivesTheSourceRoot exports repos made by the reference
// implementation (golden/repos) and by real PDSes (corpus), creates a repo
// from each export, and expects the MST root the source commit holds.
func TestExportThenCreateGivesTheSourceRoot(t *testing.T) {
	key := testKeys(t)["k256"].key
	cases := []string{
		golden("repos", "empty.car"),
		golden("repos", "one.car"),
		golden("repos", "ten.car"),
		golden("repos", "r2000.car"),
		golden("repos", "p256-50.car"),
		corpus("indigo", "testing", "testdata", "greenground.repo.car"),
		corpus("indigo", "atproto", "repo", "testdata", "bnewbold.robocracy.org.20250310005405.car"),
		corpus("rsky", "rsky-repo", "resources", "test", "valid_repo.car"),
		corpus("arroba", "arroba", "tests", "snarfed2.car"),
		corpus("dnproto", "test", "mst", "msttest-06-reply.car"),
	}
	for _, path := range cases {
		t.Run(filepath.Base(path), func(t *testing.T) {
			dir, src := exportDir(t, path)
			recs, err := LoadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			res, err := Create(&out, recs, CreateOptions{DID: syntax.DID(src.Commit.DID), Key: key, Rev: syntax.TID(src.Commit.Rev)})
			if err != nil {
				t.Fatal(err)
			}
			if res.Data != src.Commit.Data {
				t.Fatalf("MST root %s, the source commit has %s", res.Data, src.Commit.Data)
			}
			// Every record block is byte-identical to the source's.
			got := readArchive(t, out.Bytes())
			if err := src.Walk(func(k []byte, v cid.Cid) error {
				want, _ := src.Get(v)
				b, err := got.Get(v)
				if err != nil || !bytes.Equal(b, want) {
					t.Errorf("record %s: block differs or missing (%v)", k, err)
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestCreateIsByteIdenticalForTheSameInput builds the same records twice,
// with each key type (atcrypto's own signing is randomised).
func TestCreateIsByteIdenticalForTheSameInput(t *testing.T) {
	dir, _ := exportDir(t, golden("repos", "r2000.car"))
	for name, k := range testKeys(t) {
		t.Run(name, func(t *testing.T) {
			var outs [2][]byte
			for i := range outs {
				recs, err := LoadDir(dir)
				if err != nil {
					t.Fatal(err)
				}
				var b bytes.Buffer
				if _, err := Create(&b, recs, CreateOptions{DID: testDID, Key: k.key, Rev: "3ktt5626c222b"}); err != nil {
					t.Fatal(err)
				}
				outs[i] = b.Bytes()
			}
			if !bytes.Equal(outs[0], outs[1]) {
				t.Fatal("two builds of the same input differ")
			}
		})
	}
}

// TestCreateSignsWithTheGivenKey checks the commit signature against the
// did:key the W3C vectors give for the key, and that it is low-S compact.
func TestCreateSignsWithTheGivenKey(t *testing.T) {
	for name, k := range testKeys(t) {
		t.Run(name, func(t *testing.T) {
			recs := mustLines(t, `{"collection":"app.bsky.feed.post","rkey":"3jzfcijpj2z2a","record":{"$type":"app.bsky.feed.post","text":"hi","createdAt":"2024-01-01T00:00:00Z"}}`)
			var b bytes.Buffer
			res, err := Create(&b, recs, CreateOptions{DID: testDID, Key: k.key, Rev: "3ktt5626c222b"})
			if err != nil {
				t.Fatal(err)
			}
			if res.SigningKey != k.didKey {
				t.Fatalf("signing key %s, want %s", res.SigningKey, k.didKey)
			}
			pub, err := repo.ParsePublicKey(k.didKey)
			if err != nil {
				t.Fatal(err)
			}
			a := readArchive(t, b.Bytes())
			if err := a.Commit.VerifySignature(pub); err != nil {
				t.Fatal(err)
			}
			other := testKeys(t)["k256"]
			if name == "k256" {
				other = testKeys(t)["p256"]
			}
			opub, _ := repo.ParsePublicKey(other.didKey)
			if a.Commit.VerifySignature(opub) == nil {
				t.Fatal("signature also verifies with another key")
			}
		})
	}
}

// TestCreateLayoutIsCommitThenNodesThenRecordsInKeyOrder reads the CAR back
// block by block.
func TestCreateLayoutIsCommitThenNodesThenRecordsInKeyOrder(t *testing.T) {
	dir, _ := exportDir(t, golden("repos", "r2000.car"))
	recs, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	res, err := Create(&b, recs, CreateOptions{DID: testDID, Key: testKeys(t)["k256"].key, Rev: "3ktt5626c222b"})
	if err != nil {
		t.Fatal(err)
	}
	cr, err := car.NewReader(bytes.NewReader(b.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if roots := cr.Roots(); len(roots) != 1 || roots[0] != res.Commit {
		t.Fatalf("roots %v, want [%s]", roots, res.Commit)
	}
	var blocks []car.Block
	for {
		blk, err := cr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		blocks = append(blocks, blk)
	}
	if blocks[0].CID != res.Commit {
		t.Fatalf("first block %s, want the commit", blocks[0].CID)
	}
	if blocks[1].CID != res.Data {
		t.Fatalf("second block %s, want the MST root", blocks[1].CID)
	}
	for i := 1; i <= res.MSTNodes; i++ {
		if _, err := mst.DecodeNode(blocks[i].Data); err != nil {
			t.Fatalf("block %d is not an MST node: %v", i, err)
		}
	}
	// The records follow in key order, as the tree lists them.
	a := readArchive(t, b.Bytes())
	var want []cid.Cid
	seen := map[cid.Cid]bool{}
	a.Walk(func(_ []byte, v cid.Cid) error {
		if !seen[v] {
			seen[v] = true
			want = append(want, v)
		}
		return nil
	})
	rest := blocks[1+res.MSTNodes:]
	if len(rest) != len(want) {
		t.Fatalf("%d record blocks, want %d", len(rest), len(want))
	}
	for i := range want {
		if rest[i].CID != want[i] {
			t.Fatalf("record block %d is %s, want %s", i, rest[i].CID, want[i])
		}
	}
}

// TestCreateAssignsTIDsBeforeTheRev checks keyless JSON lines: TIDs in input
// order, before the rev, the same for the same rev.
func TestCreateAssignsTIDsBeforeTheRev(t *testing.T) {
	input := `{"collection":"app.bsky.feed.post","record":{"$type":"app.bsky.feed.post","text":"b"}}
{"collection":"app.bsky.feed.post","rkey":"zzz","record":{"$type":"app.bsky.feed.post","text":"x"}}
{"collection":"app.bsky.feed.post","record":{"$type":"app.bsky.feed.post","text":"a"}}
`
	const rev = "3ktt5626c222b"
	var keys [2][]string
	for i := range keys {
		recs := mustLines(t, input)
		res, err := Create(io.Discard, recs, CreateOptions{DID: testDID, Key: testKeys(t)["k256"].key, Rev: rev})
		if err != nil {
			t.Fatal(err)
		}
		if res.RKeysAssigned != 2 {
			t.Fatalf("assigned %d rkeys, want 2", res.RKeysAssigned)
		}
		for _, r := range recs {
			if r.Line != 2 {
				keys[i] = append(keys[i], r.RKey)
			}
		}
	}
	if strings.Join(keys[0], ",") != strings.Join(keys[1], ",") {
		t.Fatalf("rkeys differ between runs: %v %v", keys[0], keys[1])
	}
	// recs are sorted by path now: line 1's TID sorts before line 3's.
	a, b := keys[0][0], keys[0][1]
	for _, k := range []string{a, b} {
		if _, err := repo.ParseTID(k); err != nil {
			t.Fatalf("assigned rkey %q: %v", k, err)
		}
		if k >= rev {
			t.Fatalf("assigned rkey %s is not before the rev %s", k, rev)
		}
	}
	if a >= b {
		t.Fatalf("rkeys %s, %s are not increasing", a, b)
	}
}

func TestCreateRejectsDuplicatePathsNamingBothLines(t *testing.T) {
	recs := mustLines(t, `{"collection":"app.bsky.feed.post","rkey":"a","record":{"$type":"x.y.z"}}

{"collection":"app.bsky.feed.post","rkey":"a","record":{"$type":"x.y.z","n":1}}`)
	_, err := Create(io.Discard, recs, CreateOptions{DID: testDID, Key: testKeys(t)["k256"].key})
	var ie *InputError
	if !errors.Is(err, ErrDuplicatePath) || !errors.As(err, &ie) {
		t.Fatalf("got %v, want a duplicate-path InputError", err)
	}
	if ie.Line != 3 || !strings.Contains(err.Error(), "in.jsonl:1") {
		t.Fatalf("error %q does not name lines 3 and 1", err)
	}
}

func TestCreateRejectsBadOptions(t *testing.T) {
	key := testKeys(t)["k256"].key
	cases := []struct {
		name string
		opts CreateOptions
		want error
	}{
		{"did that is not a DID", CreateOptions{DID: "alice.example.com", Key: key}, ErrBadOption},
		{"empty did", CreateOptions{DID: "", Key: key}, ErrBadOption},
		{"rev that is not a TID", CreateOptions{DID: testDID, Key: key, Rev: "2024-01-01"}, ErrBadOption},
		{"no key", CreateOptions{DID: testDID}, ErrNeedKey},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Create(io.Discard, nil, tc.opts)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

// TestEmptyCreateGivesTheReferenceEmptyTree: no records give the empty
// node the reference implementation writes for an empty repo.
func TestEmptyCreateGivesTheReferenceEmptyTree(t *testing.T) {
	var g struct{ DataCid string }
	readJSON(t, golden("repos", "empty.json"), &g)
	res, err := Create(io.Discard, nil, CreateOptions{DID: testDID, Key: testKeys(t)["k256"].key})
	if err != nil {
		t.Fatal(err)
	}
	if res.Data.String() != g.DataCid {
		t.Fatalf("empty tree %s, reference %s", res.Data, g.DataCid)
	}
}

func mustLines(t testing.TB, s string) []Record {
	t.Helper()
	recs, err := LoadJSONLines(strings.NewReader(s), "in.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// jsonLines renders every record of a repo CAR as JSON lines, in key order.
func jsonLines(t testing.TB, a *archive.Bodies) string {
	t.Helper()
	var b strings.Builder
	err := a.Walk(func(k []byte, v cid.Cid) error {
		body, err := a.Get(v)
		if err != nil {
			return err
		}
		val, err := dagcbor.Decode(body)
		if err != nil {
			return err
		}
		js, err := dagcbor.ToJSON(val)
		if err != nil {
			return err
		}
		coll, rkey, _ := strings.Cut(string(k), "/")
		b.WriteString(`{"collection":"` + coll + `","rkey":"` + rkey + `","record":`)
		b.Write(js)
		b.WriteString("}\n")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestJSONLinesCreateGivesTheReferenceRoot covers what a directory cannot
// hold: the reference's r300 repo has rkeys longer than a file name may be.
func TestJSONLinesCreateGivesTheReferenceRoot(t *testing.T) {
	for _, name := range []string{"r300", "ten", "p256-50"} {
		t.Run(name, func(t *testing.T) {
			var g struct{ DataCid, Did, Rev string }
			readJSON(t, golden("repos", name+".json"), &g)
			a := readArchive(t, readFile(t, golden("repos", name+".car")))
			recs := mustLines(t, jsonLines(t, a))
			res, err := Create(io.Discard, recs, CreateOptions{DID: syntax.DID(g.Did), Key: testKeys(t)["p256"].key, Rev: syntax.TID(g.Rev)})
			if err != nil {
				t.Fatal(err)
			}
			if res.Data.String() != g.DataCid {
				t.Fatalf("MST root %s, the reference built %s", res.Data, g.DataCid)
			}
		})
	}
}
