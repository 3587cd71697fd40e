package firehose

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/bluesky-social/indigo/atproto/atcrypto"
	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/ipfs/go-cid"

	"github.com/arbor-atproto/arbor/build/hostile"
	"github.com/arbor-atproto/arbor/diff"
	"github.com/arbor-atproto/arbor/internal/testfixtures"
	"github.com/arbor-atproto/arbor/mst"
	"github.com/arbor-atproto/arbor/repo"
)

// hostileEvent is a #commit carrying a whole generated repository as its
// blocks (its commit signed with key), with a create of its one record;
// prevData, when defined, asks for the inversion check.
func hostileEvent(t testing.TB, r *hostile.Repo, prevData cid.Cid) *Commit {
	t.Helper()
	var ops []RepoOp
	for path, c := range r.Records {
		ops = append(ops, RepoOp{Action: ActionCreate, Path: path, CID: c})
		break
	}
	return &Commit{Seq: 1, Repo: syntax.DID(r.DID), Commit: r.Commit, Rev: syntax.TID(r.Rev), Blocks: r.CAR, Ops: ops, PrevData: prevData, Time: "2025-01-01T00:00:00.000Z"}
}

// A #commit whose tree is a chain of entry-less nodes far deeper than any
// layer (20,000 levels: as deep as fits in the protocol's limit on
// blocks), or a DAG of shared subtrees, fails verification (its signature
// is genuine) with the tree check or the inversion, without walking the
// chain or every path of the DAG. A deeper chain (150,000 levels) is over
// the limit and refused before its blocks are read.
func TestVerifyCommitRefusesMalformedTrees(t *testing.T) {
	k := testfixtures.NewKey(t, false)
	pub, _ := k.PublicKey()
	const did = "did:plc:abcdefghijklmnopqrstuvwx"
	gen := func(f func(atcrypto.PrivateKey, syntax.DID, int) (*hostile.Repo, error), n int) *hostile.Repo {
		r, err := f(k, did, n)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	deep, deeper, shared := gen(hostile.DeepChain, 20_000), gen(hostile.DeepChain, 150_000), gen(hostile.SharedChain, 40)
	if len(deep.CAR) > MaxCommitBlocks || len(deeper.CAR) <= MaxCommitBlocks {
		t.Fatalf("chains of %d and %d bytes: want one under the limit, one over", len(deep.CAR), len(deeper.CAR))
	}
	empty, err := mst.NewEmpty().RootCID()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		ev   *Commit
		want error
	}{
		{"deep chain, no prevData", hostileEvent(t, deep, cid.Undef), ErrOpMismatch},
		{"deep chain, prevData", hostileEvent(t, deep, empty), ErrInversionFailed},
		{"chain over the blocks limit", hostileEvent(t, deeper, empty), ErrBadBlocks},
		{"shared subtrees, no prevData", hostileEvent(t, shared, cid.Undef), ErrOpMismatch},
		{"shared subtrees, prevData", hostileEvent(t, shared, empty), ErrInversionFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Through the frame codec, as the command reads it.
			b, err := EncodeFrame(tc.ev)
			if err != nil {
				t.Fatal(err)
			}
			ev, err := DecodeFrame(b)
			if err != nil {
				t.Fatal(err)
			}
			v, err := VerifyCommit(ev.(*Commit), pub)
			if v.OK() || !errors.Is(err, tc.want) {
				t.Fatalf("ok %v, error %v; want one wrapping %v", v.OK(), err, tc.want)
			}
			for _, p := range v.Problems {
				if errors.Is(p, repo.ErrBadSignature) || (tc.want != ErrBadBlocks && errors.Is(p, ErrBadBlocks)) {
					t.Errorf("problem %v: the signature and blocks are genuine", p)
				}
			}
		})
	}
}

// The protocol's limits on a #commit and a #sync are enforced.
func TestVerifyRefusesEventsOverTheProtocolLimits(t *testing.T) {
	r, evs := history(t)
	key := r.pub(t)
	many := clone(evs[1])
	for i := len(many.Ops); i <= MaxCommitOps; i++ {
		many.Ops = append(many.Ops, RepoOp{Action: ActionCreate, Path: fmt.Sprintf("app.bsky.feed.post/3k%011d", i), CID: many.Ops[0].CID})
	}
	if _, err := VerifyCommit(many, key); !errors.Is(err, diff.ErrBadOp) || !strings.Contains(err.Error(), "limit of 200") {
		t.Errorf("%d ops: %v, want diff.ErrBadOp over the limit", len(many.Ops), err)
	}
	big := &Sync{DID: syntax.DID(r.did), Rev: evs[2].Rev, Blocks: make([]byte, MaxSyncBlocks+1)}
	if _, err := VerifySync(big, key); !errors.Is(err, ErrBadBlocks) || !strings.Contains(err.Error(), "limit of 10000") {
		t.Errorf("#sync of %d bytes: %v, want ErrBadBlocks over the limit", len(big.Blocks), err)
	}
}
