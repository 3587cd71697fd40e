package firehose

import (
	"slices"
	"testing"

	"github.com/bluesky-social/indigo/atproto/atcrypto"
	"github.com/ipfs/go-cid"

	"github.com/arbor-atproto/arbor/dagcbor"
	"github.com/arbor-atproto/arbor/diff"
	"github.com/arbor-atproto/arbor/mst"
	"github.com/arbor-atproto/arbor/repo"
)

// history builds a repository with a first commit, a commit of creates, and
// one with an update, a delete and a create, and returns the events.
func history(t testing.TB) (*testRepo, []*Commit) {
	r := newTestRepo(t, "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa")
	first := map[string]string{}
	for i := range 40 {
		first["app.bsky.feed.post/3k"+string(rune('a'+i%26))+string(rune('a'+i/26))+"aaaaaaaaa"] = "post"
	}
	e1 := r.commit(t, first)
	e2 := r.commit(t, map[string]string{"app.bsky.feed.like/3kzzzzzzzzzzz": "like", "app.bsky.feed.like/3kzzzzzzzzzzy": "like2"})
	e3 := r.commit(t, map[string]string{"app.bsky.feed.post/3kaaaaaaaaaaa": "edited", "app.bsky.feed.post/3kqqqqqqqqqqq": "new"},
		"app.bsky.feed.like/3kzzzzzzzzzzz")
	return r, []*Commit{e1, e2, e3}
}

func TestVerifyCommitAcceptsWhatCommitEventBuilds(t *testing.T) {
	r, evs := history(t)
	key := r.pub(t)
	for i, ev := range evs {
		v, err := VerifyCommit(ev, key)
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		wantChecks := []string{CheckBlocks, CheckCommit, CheckRepo, CheckRev, CheckSignature, CheckOps, CheckRecords, CheckInversion}
		if i == 0 { // first commit: no prevData
			wantChecks = []string{CheckBlocks, CheckCommit, CheckRepo, CheckRev, CheckSignature, CheckOps, CheckRecords, CheckTree}
			if len(v.Skipped) != 1 || v.Skipped[0].Check != CheckInversion {
				t.Errorf("first commit: skipped %v, want the inversion", v.Skipped)
			}
		}
		if !slices.Equal(v.Passed, wantChecks) {
			t.Errorf("event %d: passed %v, want %v", i, v.Passed, wantChecks)
		}
	}
	var actions []Action
	for _, o := range evs[2].Ops {
		actions = append(actions, o.Action)
		if (o.Action == ActionUpdate || o.Action == ActionDelete) != o.Prev.Defined() {
			t.Errorf("op %v: prev set for updates and deletes only", o)
		}
	}
	if !slices.Equal(actions, []Action{ActionDelete, ActionUpdate, ActionCreate}) {
		t.Errorf("actions %v", actions)
	}
}

func TestVerifyCommitRejects(t *testing.T) {
	r, evs := history(t)
	key := r.pub(t)
	ev := evs[2]
	other, _ := atcrypto.GeneratePrivateKeyK256()
	otherPub, _ := other.PublicKey()

	// A node the inversion reads, to remove: any MST node in the CAR.
	_, blocks := carBlocks(t, ev.Blocks)
	var node cid.Cid
	for _, b := range blocks {
		if b.CID != ev.Commit && !slices.ContainsFunc(ev.Ops, func(o RepoOp) bool { return o.CID == b.CID }) {
			node = b.CID
			break
		}
	}
	resigned := func(mut func(c *repo.Commit)) func(e *Commit) {
		return func(e *Commit) {
			_, blocks := carBlocks(t, e.Blocks)
			c, err := repo.DecodeCommit(blocks[0].Data)
			if err != nil {
				t.Fatal(err)
			}
			mut(c)
			if err := c.Sign(r.key); err != nil {
				t.Fatal(err)
			}
			b, _ := c.Bytes()
			cc, _ := c.CID()
			blocks[0].CID, blocks[0].Data = cc, b
			e.Commit = cc
			e.Blocks = writeCAR(t, []cid.Cid{cc}, blocks)
		}
	}
	cases := []struct {
		name string
		key  atcrypto.PublicKey
		mut  func(e *Commit)
		want error
	}{
		{"signature by another key", otherPub, func(*Commit) {}, repo.ErrBadSignature},
		{"flipped signature byte", key, func(e *Commit) {
			_, blocks := carBlocks(t, e.Blocks)
			c, _ := repo.DecodeCommit(blocks[0].Data)
			c.Sig[5] ^= 1
			b, _ := c.Bytes()
			cc, _ := c.CID()
			blocks[0].CID, blocks[0].Data = cc, b
			e.Commit = cc
			e.Blocks = writeCAR(t, []cid.Cid{cc}, blocks)
		}, repo.ErrBadSignature},
		{"a block whose bytes do not match its CID", key, func(e *Commit) {
			b := slices.Clone(e.Blocks)
			b[len(b)-3] ^= 0xff
			e.Blocks = b
		}, ErrBadBlocks},
		{"not a CAR", key, func(e *Commit) { e.Blocks = []byte("nope") }, ErrBadBlocks},
		{"commit CID not in the CAR", key, func(e *Commit) { e.Commit = evs[1].Commit }, mst.ErrMissingBlock},
		{"rev differs from the commit's", key, func(e *Commit) { e.Rev = evs[1].Rev }, ErrRevMismatch},
		{"repo differs from the commit's", key, func(e *Commit) { e.Repo = "did:plc:bbbbbbbbbbbbbbbbbbbbbbbb" }, ErrRepoMismatch},
		{"commit for another DID, re-signed", key, resigned(func(c *repo.Commit) { c.DID = "did:plc:bbbbbbbbbbbbbbbbbbbbbbbb" }), ErrRepoMismatch},
		{"prevData of an older commit", key, func(e *Commit) { e.PrevData = evs[1].PrevData }, ErrInversionFailed},
		{"a record block removed", key, func(e *Commit) {
			e.Blocks = withoutBlock(t, e.Blocks, e.Ops[2].CID)
		}, mst.ErrMissingBlock},
		{"an MST node removed", key, func(e *Commit) { e.Blocks = withoutBlock(t, e.Blocks, node) }, mst.ErrMissingBlock},
		{"an op dropped", key, func(e *Commit) { e.Ops = e.Ops[1:] }, ErrInversionFailed},
		{"an update without prev", key, func(e *Commit) { e.Ops[1].Prev = cid.Undef }, diff.ErrBadOp},
		{"a create with prev", key, func(e *Commit) { e.Ops[2].Prev = e.Ops[1].Prev }, diff.ErrBadOp},
		{"a delete with a cid", key, func(e *Commit) { e.Ops[0].CID = e.Ops[1].CID }, diff.ErrBadOp},
		{"a path twice", key, func(e *Commit) { e.Ops = append(e.Ops, e.Ops[2]) }, diff.ErrBadOp},
		{"an op whose cid the tree does not hold", key, func(e *Commit) { e.Ops[2].CID = e.Ops[1].CID }, ErrOpMismatch},
		{"a wrong prev", key, func(e *Commit) { e.Ops[1].Prev = e.Ops[2].CID }, ErrInversionFailed},
		{"a delete whose key is still there", key, func(e *Commit) {
			e.Ops[2].Action, e.Ops[2].Prev, e.Ops[2].CID = ActionDelete, e.Ops[2].CID, cid.Undef
		}, ErrOpMismatch},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := clone(ev)
			tc.mut(e)
			v, err := VerifyCommit(e, tc.key)
			wantErr(t, err, tc.want)
			if v.OK() {
				t.Fatal("OK() with a problem")
			}
		})
	}
	// Sanity: the untouched event passes, so each failure above comes from
	// its change.
	if _, err := VerifyCommit(ev, key); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyCommitWithoutPrevDataChecksTheTree(t *testing.T) {
	r, evs := history(t)
	ev := clone(evs[2])
	ev.PrevData = cid.Undef
	for i := range ev.Ops {
		ev.Ops[i].Prev = cid.Undef
	}
	v, err := VerifyCommit(ev, r.pub(t))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(v.Passed, CheckTree) || len(v.Skipped) != 1 || v.Skipped[0].Check != CheckInversion {
		t.Fatalf("passed %v skipped %v", v.Passed, v.Skipped)
	}
	ev.Ops[2].CID = ev.Ops[1].CID // a create the tree does not reflect
	_, err = VerifyCommit(ev, r.pub(t))
	wantErr(t, err, ErrOpMismatch)
}

func TestVerifyCommitSkips(t *testing.T) {
	_, evs := history(t)
	t.Run("signature without a key", func(t *testing.T) {
		v, err := VerifyCommit(evs[1], nil)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(v.Skipped, func(s Skipped) bool { return s.Check == CheckSignature }) {
			t.Fatalf("skipped %v", v.Skipped)
		}
	})
	t.Run("op checks of a tooBig event", func(t *testing.T) {
		e := clone(evs[1])
		e.TooBig = true
		e.Ops = e.Ops[:1] // would fail the inversion
		v, err := VerifyCommit(e, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(v.Skipped) != 5 {
			t.Fatalf("skipped %v", v.Skipped)
		}
	})
}

func TestVerifyCommitReportsEveryProblem(t *testing.T) {
	_, evs := history(t)
	e := clone(evs[2])
	e.Rev = evs[1].Rev
	e.PrevData = evs[1].PrevData
	other, _ := atcrypto.GeneratePrivateKeyK256()
	pub, _ := other.PublicKey()
	v, err := VerifyCommit(e, pub)
	for _, want := range []error{ErrRevMismatch, repo.ErrBadSignature, ErrInversionFailed} {
		wantErr(t, err, want)
	}
	if len(v.Problems) != 3 {
		t.Fatalf("problems %v", v.Problems)
	}
}

func TestCommitEventRoundTripsThroughFrames(t *testing.T) {
	_, evs := history(t)
	for _, ev := range evs {
		b, err := EncodeFrame(ev)
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodeFrame(b)
		if err != nil {
			t.Fatal(err)
		}
		b2, err := EncodeFrame(got)
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != string(b2) {
			t.Fatal("re-encoding changed the frame")
		}
		if c := got.(*Commit); c.PrevData != ev.PrevData || len(c.Ops) != len(ev.Ops) || c.Commit != ev.Commit {
			t.Fatalf("decoded %+v", c)
		}
	}
	_ = dagcbor.CodecDagCBOR
}
