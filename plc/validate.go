package plc

import (
	"fmt"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"
)

// RecoveryWindow is how long after the first operation it nullifies a
// higher-priority rotation key may still fork history. A fork exactly
// RecoveryWindow later is allowed.
const RecoveryWindow = 72 * time.Hour

// EntryStatus is what validation found out about one log entry.
type EntryStatus struct {
	Index     int
	CID       string
	Type      string
	Prev      string
	CreatedAt time.Time // zero in a log without timestamps
	// SignedBy is the rotation key that verified the signature, and KeyIndex
	// its position in the list of keys it was checked against (the rotation
	// keys of the operation named by prev, or of the genesis operation itself).
	SignedBy string
	KeyIndex int
	// Nullified is true when a later operation forked history before this
	// one; NullifiedBy is then the index of that operation.
	Nullified   bool
	NullifiedBy int
}

// State is the result of validating a log.
type State struct {
	DID syntax.DID
	// Entries, one per log entry, in log order.
	Entries []EntryStatus
	// HeadIndex is the index of the current (last active) operation.
	HeadIndex int
	// Nullified lists the indexes of nullified entries, in log order.
	Nullified []int

	ops     []*Operation
	chain   chain
	timed   bool
	entries []LogEntry
}

// Head returns the current operation (a tombstone when the DID is
// deactivated).
func (s *State) Head() *Operation { return s.ops[s.HeadIndex] }

// HeadCID returns the CID of the current operation.
func (s *State) HeadCID() string { return s.Entries[s.HeadIndex].CID }

// Tombstoned reports whether the DID has been deactivated.
func (s *State) Tombstoned() bool { return s.Head().IsTombstone() }

// Op returns the operation of entry i.
func (s *State) Op(i int) *Operation { return s.ops[i] }

// Len returns the number of entries.
func (s *State) Len() int { return len(s.ops) }

// Timed reports whether the log carried timestamps (an audit log).
func (s *State) Timed() bool { return s.timed }

// Current returns the normalised plc_operation the DID currently resolves
// to, or nil when it is tombstoned.
func (s *State) Current() *Operation { return s.Head().Normalize() }

// ValidateLog validates an operation log for did as a directory does (see
// the package documentation for the rules) and returns the resulting state.
// did may be "", in which case the log's own DID (or the genesis hash, for
// a plain list of operations) is used. Errors are *OpError values naming the
// first bad entry and wrapping one of the sentinel errors.
func ValidateLog(did syntax.DID, entries []LogEntry) (*State, error) {
	return validateLog(did, entries, make(keyCache, 4), true)
}

func validateLog(did syntax.DID, entries []LogEntry, cache keyCache, checkFlags bool) (*State, error) {
	if len(entries) == 0 {
		return nil, ErrEmptyLog
	}
	if did == "" {
		did = syntax.DID(entries[0].DID)
	}
	if did == "" && entries[0].Operation != nil && entries[0].Operation.IsGenesis() && entries[0].Operation.Signed() {
		did, _ = DIDFromGenesis(entries[0].Operation)
	}
	if !ValidDID(did.String()) {
		return nil, wrapf(ErrBadDID, "%q", did)
	}
	s := &State{
		DID:     did,
		Entries: make([]EntryStatus, 0, len(entries)),
		ops:     make([]*Operation, 0, len(entries)),
		timed:   entries[0].HasMeta,
		entries: entries,
	}
	s.chain = newChain(true, s.timed, len(entries))
	for i := range entries {
		if err := s.apply(&entries[i], cache); err != nil {
			oe := &OpError{Index: i, Err: err}
			if entries[i].Operation != nil {
				oe.CID = entries[i].Operation.CID().String()
			}
			return nil, oe
		}
	}
	for i := range entries {
		if s.Entries[i].Nullified {
			s.Nullified = append(s.Nullified, i)
		}
		e := &entries[i]
		if checkFlags && e.HasMeta && e.Nullified != s.Entries[i].Nullified {
			err := fmt.Errorf("%w: log says nullified=%v, the rules give %v", ErrNullifiedMismatch, e.Nullified, s.Entries[i].Nullified)
			return nil, &OpError{Index: i, CID: s.Entries[i].CID, Err: err}
		}
	}
	return s, nil
}

// apply validates entry e (the next in the log) against the state so far
// and adds it.
func (s *State) apply(e *LogEntry, cache keyCache) error {
	a, err := s.chain.apply(s.DID.String(), e, cache)
	if err != nil {
		return err
	}
	i := len(s.ops)
	op := e.Operation
	if a.first >= 0 {
		for n := a.first; n >= 0; n = int(s.chain.nodes[n].lastChild) {
			s.Entries[n].Nullified, s.Entries[n].NullifiedBy = true, i
		}
	}
	s.ops = append(s.ops, op)
	s.Entries = append(s.Entries, EntryStatus{Index: i, CID: a.cid, Type: op.Type, Prev: op.Prev, CreatedAt: e.CreatedAt,
		SignedBy: a.signedBy, KeyIndex: a.keyIndex, NullifiedBy: -1})
	s.HeadIndex = i
	return nil
}

// ActiveChain returns the indexes of the operations that are not
// nullified, genesis first.
func (s *State) ActiveChain() []int {
	var out []int
	for i := range s.Entries {
		if !s.Entries[i].Nullified {
			out = append(out, i)
		}
	}
	return out
}

// LogEntries returns the log the state was built from, with the nullified
// flags the rules give.
func (s *State) LogEntries() []LogEntry {
	out := make([]LogEntry, len(s.entries))
	copy(out, s.entries)
	for i := range out {
		if out[i].HasMeta {
			out[i].Nullified = s.Entries[i].Nullified
		}
	}
	return out
}

// checkRotationKeyCount is the spec's limit on every operation of a log,
// old or new (@did-plc/lib's assureValidOp, unlike the directory's other
// limits, which bind only new operations: CheckLimits): at most 5 rotation
// keys. No keys at all is allowed in a log (the interop vectors hold such
// a log as valid: the DID can no longer change); only CheckLimits refuses
// it in a new operation.
func checkRotationKeyCount(op *Operation) error {
	if op.Type != TypeOperation {
		return nil
	}
	if n := len(op.RotationKeys); n > MaxRotationKeys {
		return &LimitError{Field: "rotationKeys", Msg: fmt.Sprintf("%d keys; the did:plc spec allows at most %d", n, MaxRotationKeys)}
	}
	return nil
}
