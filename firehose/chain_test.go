package firehose

import (
	"testing"
)

func TestChain(t *testing.T) {
	_, evs := history(t) // seq 1..3, each commit following the last
	did := evs[0].Repo
	acct := func(seq int64, active bool) *Account {
		return &Account{Seq: seq, DID: did, Time: "2025-01-01T00:00:00.000Z", Active: active}
	}
	withSeq := func(e *Commit, seq int64) *Commit { c := clone(e); c.Seq = seq; return c }
	type step struct {
		ev   Event
		want error
	}
	cases := []struct {
		name  string
		steps []step
	}{
		{"a repository's commits in order", []step{{evs[0], nil}, {evs[1], nil}, {evs[2], nil}}},
		{"the first commit seen may start anywhere", []step{{evs[1], nil}, {evs[2], nil}}},
		{"a repeated seq", []step{{evs[0], nil}, {withSeq(evs[1], 1), ErrSeqOrder}}},
		{"a lower seq", []step{{withSeq(evs[0], 5), nil}, {withSeq(evs[1], 4), ErrSeqOrder}}},
		{"a replayed commit", []step{{evs[0], nil}, {evs[1], nil}, {withSeq(evs[1], 9), ErrRevOrder}}},
		{"a skipped commit breaks since", []step{{evs[0], nil}, {evs[2], ErrSinceMismatch}}},
		{"a dropped event leaves the chain as it was", []step{{evs[0], nil}, {evs[2], ErrSinceMismatch}, {evs[1], nil}, {evs[2], nil}}},
		{"commits of a deactivated account", []step{{evs[0], nil}, {acct(2, false), nil}, {withSeq(evs[1], 3), ErrInactiveAccount}, {acct(4, true), nil}, {withSeq(evs[1], 5), nil}}},
		{"info frames have no seq", []step{{evs[0], nil}, {&Info{Name: "x"}, nil}, {evs[1], nil}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ch := NewChain()
			for i, s := range tc.steps {
				_, err := ch.Check(s.ev)
				if s.want == nil && err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
				if s.want != nil {
					wantErr(t, err, s.want)
				}
			}
		})
	}
}

func TestChainSyncResetsTheRepository(t *testing.T) {
	_, evs := history(t)
	ch := NewChain()
	if _, err := ch.Check(evs[0]); err != nil {
		t.Fatal(err)
	}
	// A #sync to the second commit: the third then follows it.
	sync := &Sync{Seq: 2, DID: evs[1].Repo, Rev: evs[1].Rev, Time: evs[1].Time, Blocks: evs[1].Blocks}
	if _, err := ch.Check(sync); err != nil {
		t.Fatal(err)
	}
	if _, err := ch.Check(evs[2]); err != nil {
		t.Fatal(err)
	}
	if ch.repos[evs[2].Repo].data != commitData(evs[2].Blocks, evs[2].Commit) {
		t.Fatal("data not recorded")
	}
}
