package firehose

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"

	"github.com/bluesky-social/indigo/atproto/atcrypto"
	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/ipfs/go-cid"

	"github.com/arbor-atproto/arbor/car"
	"github.com/arbor-atproto/arbor/diff"
	"github.com/arbor-atproto/arbor/internal/testfixtures"
	"github.com/arbor-atproto/arbor/mst"
	"github.com/arbor-atproto/arbor/repo"
)

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reference file missing: %v", err)
	}
	return b
}

func roundTrip(t *testing.T, ev Event) []byte {
	t.Helper()
	b, err := EncodeFrame(ev)
	if err != nil {
		t.Fatalf("EncodeFrame: %v", err)
	}
	back, err := DecodeFrame(b)
	if err != nil {
		t.Fatalf("DecodeFrame of EncodeFrame: %v", err)
	}
	b2, err := EncodeFrame(back)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, b2) {
		t.Fatal("frame changed on a decode/encode round trip")
	}
	js, err := MarshalJSON(back)
	if err != nil {
		t.Fatal(err)
	}
	fromJSON, err := DecodeJSON(js)
	if err != nil {
		t.Fatalf("DecodeJSON of MarshalJSON: %v", err)
	}
	b3, err := EncodeFrame(fromJSON)
	if err != nil || !bytes.Equal(b, b3) {
		t.Fatalf("frame changed through the JSON form (%v)", err)
	}
	return b
}

// The real #commit messages of indigo's repo tests (sync 1.0, no prevData,
// no keys for their accounts).
func TestIndigoCommitMessages(t *testing.T) {
	files, _ := filepath.Glob(shared("corpus", "indigo", "atproto", "repo", "testdata", "firehose_commit_*.json"))
	if len(files) != 4 {
		t.Fatalf("found %d firehose_commit files, want 4", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			ev, err := DecodeJSONBody(TypeCommit, readFile(t, f))
			if err != nil {
				t.Fatal(err)
			}
			c := ev.(*Commit)
			if _, ok := c.Extra["prev"]; !ok {
				t.Error("the deprecated prev field was not kept in Extra")
			}
			roundTrip(t, c)
			v, err := VerifyCommit(c, nil)
			if err != nil {
				t.Fatal(err)
			}
			var skipped []string
			for _, s := range v.Skipped {
				skipped = append(skipped, s.Check)
			}
			if !slices.Equal(skipped, []string{CheckSignature, CheckInversion}) {
				t.Errorf("skipped %v, want signature (no key) and inversion (no prevData)", skipped)
			}
			if !slices.Contains(v.Passed, CheckTree) || !slices.Contains(v.Passed, CheckRecords) {
				t.Errorf("passed %v", v.Passed)
			}

			tampered := clone(c)
			tampered.Blocks = slices.Clone(c.Blocks)
			tampered.Blocks[len(tampered.Blocks)-1] ^= 1
			_, err = VerifyCommit(tampered, nil)
			wantErr(t, err, ErrBadBlocks)

			// A commit block re-encoded with a changed signature has
			// another CID: the event's commit is then missing.
			roots, blocks := carBlocks(t, c.Blocks)
			for i, b := range blocks {
				if b.CID != c.Commit {
					continue
				}
				cm, err := repo.DecodeCommit(b.Data)
				if err != nil {
					t.Fatal(err)
				}
				cm.Sig[0] ^= 1
				blocks[i].Data, _ = cm.Bytes()
				blocks[i].CID, _ = cm.CID()
			}
			tampered = clone(c)
			tampered.Blocks = writeCAR(t, roots, blocks)
			_, err = VerifyCommit(tampered, nil)
			wantErr(t, err, mst.ErrMissingBlock)
		})
	}
}

type relayCase struct {
	Lenient  bool `json:"lenient"`
	Accounts []struct {
		Identity struct {
			DID  string `json:"did"`
			Keys map[string]struct {
				Type               string `json:"type"`
				PublicKeyMultibase string `json:"publicKeyMultibase"`
			} `json:"keys"`
		} `json:"identity"`
		Status string `json:"status"`
	} `json:"accounts"`
	Messages []struct {
		Frame json.RawMessage `json:"frame"`
		Drop  bool            `json:"drop"`
	} `json:"messages"`
}

// indigo's relay scenarios: frame sequences with the relay's verdict on
// each (drop or pass), and the accounts' keys.
func TestRelayScenarios(t *testing.T) {
	files, _ := filepath.Glob(shared("corpus", "indigo", "cmd", "relay", "testing", "testdata", "*.json"))
	if len(files) != 7 {
		t.Fatalf("found %d relay scenario files, want 7", len(files))
	}
	verified11, undecodable := 0, 0
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			var sc relayCase
			if err := json.Unmarshal(readFile(t, f), &sc); err != nil {
				t.Fatal(err)
			}
			keys := map[string]atcrypto.PublicKey{}
			for _, a := range sc.Accounts {
				k, err := atcrypto.ParsePublicMultibase(a.Identity.Keys["atproto"].PublicKeyMultibase)
				if err != nil {
					t.Fatal(err)
				}
				keys[a.Identity.DID] = k
			}
			ch := NewChain()
			ch.Lenient = sc.Lenient
			for i, m := range sc.Messages {
				ev, err := DecodeJSON(m.Frame)
				if err != nil {
					// rev_ordering.json has a rev that is not a TID
					// ("3lmxjza3nva00"); the relay drops it for its
					// order, we refuse it as a frame.
					if !m.Drop {
						t.Fatalf("message %d: %v", i, err)
					}
					undecodable++
					continue
				}
				roundTrip(t, ev)
				_, err = ch.Check(ev)
				if (err != nil) != m.Drop {
					t.Errorf("message %d (%s): Chain.Check error %v, want drop=%v", i, ev.Type(), err, m.Drop)
				}
				if m.Drop {
					continue
				}
				switch e := ev.(type) {
				case *Commit:
					v, err := VerifyCommit(e, keys[e.Repo.String()])
					if err != nil {
						t.Errorf("message %d: VerifyCommit: %v", i, err)
					}
					if slices.Contains(v.Passed, CheckInversion) {
						verified11++
					}
					if !slices.Contains(v.Passed, CheckSignature) {
						t.Errorf("message %d: signature not checked", i)
					}
					// The same event with another account's key fails.
					other, _ := atcrypto.GeneratePrivateKeyP256()
					pub, _ := other.PublicKey()
					_, err = VerifyCommit(e, pub)
					wantErr(t, err, repo.ErrBadSignature)
				case *Sync:
					if _, err := VerifySync(e, keys[e.DID.String()]); err != nil {
						t.Errorf("message %d: VerifySync: %v", i, err)
					}
				}
			}
		})
	}
	if undecodable != 1 {
		t.Errorf("%d frames refused, want 1 (the bad rev of rev_ordering.json)", undecodable)
	}
	if verified11 < 6 {
		t.Errorf("only %d sync v1.1 commits inverted", verified11)
	}
}

// A relay in strict mode drops a commit whose since or prevData do not
// follow the last commit; a lenient one lets it through with a warning.
func TestRelayScenarioStrictSince(t *testing.T) {
	var sc relayCase
	if err := json.Unmarshal(readFile(t, shared("corpus", "indigo", "cmd", "relay", "testing", "testdata", "post_lifecycle.json")), &sc); err != nil {
		t.Fatal(err)
	}
	var evs []*Commit
	for _, m := range sc.Messages {
		ev, err := DecodeJSON(m.Frame)
		if err != nil {
			t.Fatal(err)
		}
		evs = append(evs, ev.(*Commit))
	}
	skipOne := func(lenient bool) (warnings []error, err error) {
		ch := NewChain()
		ch.Lenient = lenient
		if _, err := ch.Check(evs[0]); err != nil {
			t.Fatal(err)
		}
		return ch.Check(evs[2]) // evs[1] never arrived
	}
	_, err := skipOne(false)
	wantErr(t, err, ErrSinceMismatch)
	w, err := skipOne(true)
	if err != nil || len(w) == 0 || !errors.Is(w[0], ErrSinceMismatch) {
		t.Fatalf("lenient: warnings %v, error %v", w, err)
	}
	// evs[2]'s prevData equals evs[0]'s (evs[1] undid evs[0]); after
	// evs[0] and evs[1], a prevData naming another root is refused.
	ch := NewChain()
	for _, e := range evs[:2] {
		if _, err := ch.Check(e); err != nil {
			t.Fatal(err)
		}
	}
	bad := clone(evs[2])
	bad.PrevData = evs[1].PrevData
	_, err = ch.Check(bad)
	wantErr(t, err, ErrPrevDataMismatch)
}

func buildTree(t *testing.T, keys []string, val func(k string) cid.Cid, src mst.MapSource) cid.Cid {
	t.Helper()
	s := slices.Clone(keys)
	sort.Strings(s)
	leaves := make([]mst.Leaf, len(s))
	for i, k := range s {
		leaves[i] = mst.Leaf{Key: []byte(k), Value: val(k)}
	}
	tr, err := mst.BuildTree(leaves)
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.WriteBlocks(func(c cid.Cid, d []byte) error { src[c] = d; return nil }); err != nil {
		t.Fatal(err)
	}
	root, err := tr.RootCID()
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// mapNodes pairs the nodes of two trees of the same shape.
func mapNodes(t *testing.T, a, b mst.MapSource, ra, rb cid.Cid, m map[cid.Cid]cid.Cid) {
	t.Helper()
	m[ra] = rb
	na, err := mst.DecodeNode(a[ra])
	if err != nil {
		t.Fatal(err)
	}
	nb, err := mst.DecodeNode(b[rb])
	if err != nil {
		t.Fatal(err)
	}
	if len(na.Entries) != len(nb.Entries) || na.Left.Defined() != nb.Left.Defined() {
		t.Fatal("trees of different shapes")
	}
	if na.Left.Defined() {
		mapNodes(t, a, b, na.Left, nb.Left, m)
	}
	for i, e := range na.Entries {
		if e.Right.Defined() {
			mapNodes(t, a, b, e.Right, nb.Entries[i].Right, m)
		}
	}
}

// The interop suite's commit proofs: a #commit carrying exactly the proof
// nodes the suite lists (plus the commit and the new records) verifies;
// without any one of them, or with another prevData, it does not.
func TestCommitProofFixtures(t *testing.T) {
	fixtures := testfixtures.CommitProofs(t)
	if len(fixtures) != 6 {
		t.Fatalf("%d fixtures, want 6", len(fixtures))
	}
	priv, _ := atcrypto.GeneratePrivateKeyK256()
	pub, _ := priv.PublicKey()
	recBytes, recCID := record(t, "a record")
	for _, f := range fixtures {
		t.Run(f.Comment, func(t *testing.T) {
			leaf, _ := cid.Decode(f.LeafValue)
			before, _ := cid.Decode(f.RootBeforeCommit)
			after, _ := cid.Decode(f.RootAfterCommit)
			var afterKeys []string
			for _, k := range f.Keys {
				if !slices.Contains(f.Dels, k) {
					afterKeys = append(afterKeys, k)
				}
			}
			afterKeys = append(afterKeys, f.Adds...)

			// The fixture as given: values all leafValue.
			fsrc := mst.MapSource{}
			if got := buildTree(t, f.Keys, func(string) cid.Cid { return leaf }, mst.MapSource{}); got != before {
				t.Fatalf("before root %s, want %s", got, before)
			}
			if got := buildTree(t, afterKeys, func(string) cid.Cid { return leaf }, fsrc); got != after {
				t.Fatalf("after root %s, want %s", got, after)
			}
			var dops []diff.Op
			var ops []RepoOp
			for _, k := range f.Adds {
				dops = append(dops, diff.Op{Path: k, New: leaf})
			}
			for _, k := range f.Dels {
				dops = append(dops, diff.Op{Path: k, Old: leaf})
			}
			proof := mst.MapSource{}
			for _, s := range f.BlocksInProof {
				c, _ := cid.Decode(s)
				if fsrc[c] == nil {
					t.Fatalf("proof block %s is not a node of the after tree", c)
				}
				proof[c] = fsrc[c]
			}
			if err := diff.CheckInversion(proof, after, before, dops); err != nil {
				t.Fatalf("inverting with the fixture's proof: %v", err)
			}

			// The same trees with the added records' values replaced by a
			// real record, so that the event carries its block.
			vsrc := mst.MapSource{}
			val := func(k string) cid.Cid {
				if slices.Contains(f.Adds, k) {
					return recCID
				}
				return leaf
			}
			vafter := buildTree(t, afterKeys, val, vsrc)
			pairs := map[cid.Cid]cid.Cid{}
			mapNodes(t, fsrc, vsrc, after, vafter, pairs)
			for _, k := range f.Adds {
				ops = append(ops, RepoOp{Action: ActionCreate, Path: k, CID: recCID})
			}
			for _, k := range f.Dels {
				ops = append(ops, RepoOp{Action: ActionDelete, Path: k, Prev: leaf})
			}
			did := syntax.DID("did:plc:aaaaaaaaaaaaaaaaaaaaaaaa")
			cm := &repo.Commit{DID: did, Version: 3, Data: vafter, Rev: "3lmxjza3nva27"}
			if err := cm.Sign(priv); err != nil {
				t.Fatal(err)
			}
			cmBytes, _ := cm.Bytes()
			cmCID, _ := cm.CID()
			var proofNodes []cid.Cid
			for _, s := range f.BlocksInProof {
				c, _ := cid.Decode(s)
				proofNodes = append(proofNodes, pairs[c])
			}
			event := func(drop cid.Cid) *Commit {
				blocks := []car.Block{{CID: cmCID, Data: cmBytes}}
				if len(f.Adds) > 0 {
					blocks = append(blocks, car.Block{CID: recCID, Data: recBytes})
				}
				for _, c := range proofNodes {
					if c != drop {
						blocks = append(blocks, car.Block{CID: c, Data: vsrc[c]})
					}
				}
				since := "3lmxjxi3hjn23"
				return &Commit{Seq: 1, Repo: syntax.DID(did), Commit: cmCID, Rev: syntax.TID(cm.Rev), Since: &since, Blobs: []cid.Cid{},
					Blocks: writeCAR(t, []cid.Cid{cmCID}, blocks), Ops: ops, PrevData: before, Time: "2025-04-16T21:30:26.717Z"}
			}
			ev := event(cid.Undef)
			if _, err := VerifyCommit(ev, pub); err != nil {
				t.Fatalf("VerifyCommit: %v", err)
			}
			// Each proof node the inversion reads is needed: without it
			// the event fails. The suite's proof is a covering proof
			// (the reference also adds the changed keys' neighbours); a
			// node our inversion does not read can go, since landing on
			// prevData proves the ops without it.
			vops := make([]diff.Op, len(ops))
			for i, o := range ops {
				vops[i] = diff.Op{Path: o.Path, Old: o.Prev, New: o.CID}
			}
			_, read, err := diff.Invert(vsrc, vafter, vops, false)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Contains(read, vafter) {
				t.Fatalf("the inversion did not read the root")
			}
			for _, c := range proofNodes {
				_, err := VerifyCommit(event(c), pub)
				if slices.Contains(read, c) {
					wantErr(t, err, mst.ErrMissingBlock)
				} else if err != nil {
					t.Errorf("without proof node %s, which the inversion does not read: %v", c, err)
				} else {
					t.Logf("proof node %s is not read by the inversion", c)
				}
			}
			for _, c := range read {
				if !slices.Contains(proofNodes, c) {
					t.Errorf("the inversion read node %s, which is not in the suite's proof", c)
				}
			}
			changed := clone(ev)
			changed.PrevData = after
			_, err = VerifyCommit(changed, pub)
			wantErr(t, err, ErrInversionFailed)

			// CommitEvent (a producer's view) carries at least these nodes.
			both := mst.MapSource{}
			buildTree(t, f.Keys, func(string) cid.Cid { return leaf }, both)
			buildTree(t, afterKeys, val, both)
			both[recCID] = recBytes
			built, err := CommitEvent(both, before, cm, nil)
			if err != nil {
				t.Fatal(err)
			}
			_, carried := carBlocks(t, built.Blocks)
			for _, c := range proofNodes {
				if !slices.ContainsFunc(carried, func(b car.Block) bool { return b.CID == c }) {
					t.Errorf("CommitEvent lacks proof node %s", c)
				}
			}
			if _, err := VerifyCommit(built, pub); err != nil {
				t.Errorf("VerifyCommit(CommitEvent): %v", err)
			}
		})
	}
}
