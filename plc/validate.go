package plc

import (
	"errors"
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
	info    []opInfo
	timed   bool
	entries []LogEntry
}

type opInfo struct {
	lastChild int // index of the active child, -1 if none
	allowedN  int // rotation keys [:allowedN] may still sign a child
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
		info:    make([]opInfo, 0, len(entries)),
		timed:   entries[0].HasMeta,
		entries: entries,
	}
	byCID := make(map[string]int, len(entries))
	for i := range entries {
		if err := s.apply(&entries[i], byCID, cache); err != nil {
			oe := &OpError{Index: i, Err: err}
			if i < len(s.Entries) {
				oe.CID = s.Entries[i].CID
			} else if entries[i].Operation != nil {
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
func (s *State) apply(e *LogEntry, byCID map[string]int, cache keyCache) error {
	i := len(s.ops)
	op := e.Operation
	if op == nil {
		return malformed("log entry has no operation")
	}
	if e.HasMeta != s.timed {
		return malformed("log mixes audit entries and bare operations")
	}
	c := op.CID().String()
	if e.HasMeta {
		if e.DID != s.DID.String() {
			return wrapf(ErrLogDIDMismatch, "entry is for %s, log is for %s", e.DID, s.DID)
		}
		if e.CID != c {
			return wrapf(ErrCIDMismatch, "entry says %s, operation hashes to %s", e.CID, c)
		}
	}
	if _, dup := byCID[c]; dup {
		return wrapf(ErrMisordered, "operation %s appears twice", c)
	}
	if !op.Signed() {
		return ErrNotSigned
	}
	if err := checkRotationKeyCount(op); err != nil {
		return err
	}
	st := EntryStatus{Index: i, CID: c, Type: op.Type, Prev: op.Prev, CreatedAt: e.CreatedAt, NullifiedBy: -1}

	if i == 0 {
		if !op.IsGenesis() {
			return wrapf(ErrMisordered, "the log must start with a genesis operation (prev null), not a %s with prev %s", op.Type, op.Prev)
		}
		if got := didFromSignedCBOR(op.SignedCBOR()); got != s.DID {
			return wrapf(ErrGenesisHash, "genesis operation hashes to %s, not %s", got, s.DID)
		}
		keys := op.EffectiveRotationKeys()
		idx, err := verifyAny(op, keys, cache)
		if err != nil {
			return fmt.Errorf("genesis signature: %w", err)
		}
		st.SignedBy, st.KeyIndex = keys[idx], idx
		s.add(op, st, c, byCID)
		return nil
	}
	if op.IsGenesis() {
		return wrapf(ErrMisordered, "a second genesis operation (prev null)")
	}
	pi, ok := byCID[op.Prev]
	if !ok {
		return wrapf(ErrPrevNotFound, "prev %s", op.Prev)
	}
	prev := s.ops[pi]
	pst := &s.Entries[pi]
	if pst.Nullified {
		return wrapf(ErrPrevNullified, "prev %s (operation %d) was nullified by operation %d", op.Prev, pi, pst.NullifiedBy)
	}
	if prev.IsTombstone() {
		return wrapf(ErrAfterTombstone, "prev %s (operation %d) is a tombstone", op.Prev, pi)
	}
	pinfo := &s.info[pi]
	keys := prev.EffectiveRotationKeys()
	allowed := keys[:pinfo.allowedN]
	fork := pinfo.lastChild >= 0
	idx, err := verifyAny(op, allowed, cache)
	if err != nil {
		if fork && errors.Is(err, ErrBadOpSignature) {
			if j, err2 := verifyAny(op, keys[pinfo.allowedN:], cache); err2 == nil {
				first := pinfo.lastChild
				return wrapf(ErrKeyPriority, "signed by rotation key %d (%s) of operation %d, but operation %d, which it would nullify, was signed by key %d; only keys before it may nullify",
					pinfo.allowedN+j, keys[pinfo.allowedN+j], pi, first, s.Entries[first].KeyIndex)
			}
		}
		return err
	}
	st.SignedBy, st.KeyIndex = allowed[idx], idx
	if s.timed {
		ref := pi
		if fork {
			ref = s.HeadIndex
		}
		if !e.CreatedAt.After(s.Entries[ref].CreatedAt) {
			return wrapf(ErrTimestamp, "createdAt %s is not after %s (operation %d)", FormatTime(e.CreatedAt), FormatTime(s.Entries[ref].CreatedAt), ref)
		}
	}
	if fork {
		if !s.timed {
			return ErrNoTimestamps
		}
		first := pinfo.lastChild
		lapsed := e.CreatedAt.Sub(s.Entries[first].CreatedAt)
		if lapsed > RecoveryWindow {
			return wrapf(ErrLateRecovery, "operation %d (%s, %s) would be nullified %s after it was created; the window closed at %s",
				first, s.Entries[first].CID, FormatTime(s.Entries[first].CreatedAt), lapsed, FormatTime(s.Entries[first].CreatedAt.Add(RecoveryWindow)))
		}
		for n := first; n >= 0; n = s.info[n].lastChild {
			s.Entries[n].Nullified = true
			s.Entries[n].NullifiedBy = i
		}
	}
	pinfo.allowedN = idx
	pinfo.lastChild = i
	s.add(op, st, c, byCID)
	return nil
}

func (s *State) add(op *Operation, st EntryStatus, c string, byCID map[string]int) {
	byCID[c] = len(s.ops)
	s.ops = append(s.ops, op)
	s.Entries = append(s.Entries, st)
	s.info = append(s.info, opInfo{lastChild: -1, allowedN: len(op.EffectiveRotationKeys())})
	s.HeadIndex = st.Index
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
