package firehose

import (
	"bytes"
	"fmt"

	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/ipfs/go-cid"

	"github.com/arbor-atproto/arbor/car"
	"github.com/arbor-atproto/arbor/repo"
)

// Chain checks that a stream of events hangs together, as a relay does
// before passing events on: seq strictly increases over the whole stream;
// per repository, each commit's rev is above the last accepted one, its
// since is that rev and its prevData that commit's data; commits for an
// account whose last #account said inactive are refused. A #sync resets the
// repository to its commit; an #account sets the account's status.
//
// The first event seen for a repository has nothing to be checked against.
// A Chain is not safe for concurrent use.
type Chain struct {
	// Lenient tolerates since and prevData mismatches (they come back as
	// warnings and the event is accepted), as relays do for sync 1.0
	// producers; seq, rev and account-status errors still refuse the event.
	Lenient bool

	seq     int64
	seenSeq bool
	repos   map[syntax.DID]*repoState
}

type repoState struct {
	rev      syntax.TID
	data     cid.Cid // the last commit's MST root; Undef when unknown
	inactive bool
}

// NewChain returns an empty Chain; set Lenient as wanted.
func NewChain() *Chain { return &Chain{repos: map[syntax.DID]*repoState{}} }

// Check checks ev against what the Chain has accepted. A non-nil err
// (wrapping ErrSeqOrder, ErrRevOrder, ErrInactiveAccount, or in strict
// mode ErrSinceMismatch or ErrPrevDataMismatch) means the event should be
// dropped, and the Chain is left as it was; otherwise the event is
// recorded, and warnings holds the mismatches Lenient let through. Frames
// without a seq (#info, errors, unknown types) are accepted as they are.
func (c *Chain) Check(ev Event) (warnings []error, err error) {
	seq, ok := ev.Sequence()
	if !ok {
		return nil, nil
	}
	if c.seenSeq && seq <= c.seq {
		return nil, fmt.Errorf("%w: %s seq %d after %d", ErrSeqOrder, ev.Type(), seq, c.seq)
	}
	var apply func()
	switch e := ev.(type) {
	case *Commit:
		st := c.repos[e.Repo]
		data := commitData(e.Blocks, e.Commit)
		if st != nil {
			if st.inactive {
				return nil, fmt.Errorf("%w: %s (seq %d)", ErrInactiveAccount, e.Repo, seq)
			}
			if st.rev != "" && e.Rev <= st.rev {
				return nil, fmt.Errorf("%w: %s rev %s is not above %s (seq %d)", ErrRevOrder, e.Repo, e.Rev, st.rev, seq)
			}
			var mismatches []error
			if st.rev != "" && (e.Since == nil || *e.Since != st.rev.String()) {
				since := "null"
				if e.Since != nil {
					since = *e.Since
				}
				mismatches = append(mismatches, fmt.Errorf("%w: %s since %s, last rev %s (seq %d)", ErrSinceMismatch, e.Repo, since, st.rev, seq))
			}
			if st.data.Defined() && e.PrevData.Defined() && e.PrevData != st.data {
				mismatches = append(mismatches, fmt.Errorf("%w: %s prevData %s, last data %s (seq %d)", ErrPrevDataMismatch, e.Repo, e.PrevData, st.data, seq))
			}
			if len(mismatches) > 0 {
				if !c.Lenient {
					return nil, mismatches[0]
				}
				warnings = mismatches
			}
		}
		apply = func() {
			s := c.state(e.Repo)
			s.rev, s.data = e.Rev, data
		}
	case *Sync:
		apply = func() {
			s := c.state(e.DID)
			s.rev, s.data = e.Rev, cid.Undef
			if _, blocks, err := car.ReadAll(bytes.NewReader(e.Blocks)); err == nil {
				for _, b := range blocks {
					if cm, err := repo.DecodeCommit(b); err == nil && cm.DID == e.DID {
						s.data = cm.Data
					}
				}
			}
		}
	case *Account:
		apply = func() { c.state(e.DID).inactive = !e.Active }
	}
	c.seq, c.seenSeq = seq, true
	if apply != nil {
		apply()
	}
	return warnings, nil
}

func (c *Chain) state(did syntax.DID) *repoState {
	if c.repos == nil {
		c.repos = map[syntax.DID]*repoState{}
	}
	s := c.repos[did]
	if s == nil {
		s = &repoState{}
		c.repos[did] = s
	}
	return s
}

// commitData returns the data (MST root) of the commit block commitCID in
// the CAR, or cid.Undef when it cannot be read.
func commitData(carBytes []byte, commitCID cid.Cid) cid.Cid {
	r, err := car.NewReader(bytes.NewReader(carBytes))
	if err != nil {
		return cid.Undef
	}
	for {
		b, err := r.Next()
		if err != nil {
			return cid.Undef
		}
		if b.CID == commitCID {
			cm, err := repo.DecodeCommit(b.Data)
			if err != nil {
				return cid.Undef
			}
			return cm.Data
		}
	}
}
