package plc

import (
	"fmt"
	"strings"
	"time"

	"github.com/bluesky-social/indigo/atproto/atcrypto"
)

// Rollback modes.
const (
	ModeNullify = "nullify" // fork from the target; the directory nullifies what followed
	ModeRestore = "restore" // a new operation on the head restoring the target's state
)

// RollbackPlan says what a rollback does, and carries its signed operation.
type RollbackPlan struct {
	Mode      string
	Target    int    // index of the operation whose state is restored
	TargetCID string // its CID
	// Nullified lists the indexes of the operations the directory would
	// nullify (nullify mode only), and Deadline the last instant at which it
	// accepts the nullification (72 hours after the first of them).
	Nullified []int
	Deadline  time.Time
	// SignerKey is the signer's did:key, SignerIndex its position in the
	// rotation keys it is checked against.
	SignerKey   string
	SignerIndex int
	Op          *Operation
	CID         string
	// After is the state of the log with the operation appended.
	After *State
}

// ResolveTarget finds the rollback target: the operation with CID to, or
// (when to is "") the active operation last steps before the head.
func (st *State) ResolveTarget(to string, last int) (int, error) {
	if to != "" {
		for i, e := range st.Entries {
			if e.CID == to {
				return i, nil
			}
		}
		return -1, wrapf(ErrRollback, "no operation %s in the log of %s", to, st.DID)
	}
	chain := st.ActiveChain()
	if last < 1 || last >= len(chain) {
		return -1, wrapf(ErrRollback, "--last %d: the active history has %d operation(s) after genesis", last, len(chain)-1)
	}
	return chain[len(chain)-1-last], nil
}

// PlanNullify plans a rollback that forks history at target: a new
// operation with prev = target and target's content, signed by signer. It
// checks what the directory will check: target is active and not a
// tombstone, something follows it, signer holds a rotation key of target
// with strictly higher priority than the key that signed the first
// operation to be nullified, and now is within 72 hours of that operation.
func PlanNullify(st *State, target int, signer atcrypto.PrivateKey, now time.Time) (*RollbackPlan, error) {
	if target < 0 || target >= st.Len() {
		return nil, wrapf(ErrRollback, "no operation %d", target)
	}
	te := st.Entries[target]
	if te.Nullified {
		return nil, wrapf(ErrRollback, "operation %d (%s) is already nullified", target, te.CID)
	}
	top := st.Op(target)
	if top.IsTombstone() {
		return nil, wrapf(ErrRollback, "operation %d (%s) is a tombstone; roll back to the operation before it", target, te.CID)
	}
	first := int(st.chain.nodes[target].lastChild)
	if first < 0 {
		return nil, wrapf(ErrRollback, "operation %d (%s) is the head; nothing follows it to nullify", target, te.CID)
	}
	if !st.timed {
		return nil, fmt.Errorf("%w: %w (use the directory's /log/audit form)", ErrRollback, ErrNoTimestamps)
	}
	pub, err := signer.PublicKey()
	if err != nil {
		return nil, err
	}
	dk := pub.DIDKey()
	keys := top.EffectiveRotationKeys()
	allowedN := int(st.chain.nodes[target].allowedN)
	idx := indexOf(keys, dk)
	fe := st.Entries[first]
	plan := &RollbackPlan{Mode: ModeNullify, Target: target, TargetCID: te.CID, SignerKey: dk, SignerIndex: idx,
		Deadline: fe.CreatedAt.Add(RecoveryWindow)}
	for n := first; n >= 0; n = int(st.chain.nodes[n].lastChild) {
		plan.Nullified = append(plan.Nullified, n)
	}
	switch {
	case idx < 0:
		return plan, wrapf(ErrNotRotationKey, "%s is not a rotation key of operation %d (%s): [%s]", dk, target, te.CID, strings.Join(keys, ", "))
	case idx >= allowedN:
		return plan, wrapf(ErrKeyPriority, "your key is rotation key %d of operation %d, but operation %d (%s), the first that would be nullified, was signed by key %d; only keys 0..%d can nullify it",
			idx, target, first, fe.CID, fe.KeyIndex, allowedN-1)
	}
	if now.After(plan.Deadline) {
		return plan, wrapf(ErrLateRecovery, "operation %d (%s) was created %s; nullifying it was possible until %s (it is %s); use --mode restore instead",
			first, fe.CID, FormatTime(fe.CreatedAt), FormatTime(plan.Deadline), FormatTime(now))
	}
	return plan, plan.sign(st, top, te.CID, signer, now)
}

// PlanRestore plans a rollback as a new operation on top of the head that
// restores target's state (rotation keys, verification methods, handles and
// services). It works at any age, with a rotation key of the head.
func PlanRestore(st *State, target int, signer atcrypto.PrivateKey, now time.Time) (*RollbackPlan, error) {
	if target < 0 || target >= st.Len() {
		return nil, wrapf(ErrRollback, "no operation %d", target)
	}
	te := st.Entries[target]
	top := st.Op(target)
	if top.IsTombstone() {
		return nil, wrapf(ErrRollback, "operation %d (%s) is a tombstone, which has no state to restore", target, te.CID)
	}
	if st.Tombstoned() {
		return nil, wrapf(ErrTombstoned, "%s: nothing can follow the tombstone; only --mode nullify within 72 hours can undo it", st.DID)
	}
	if target == st.HeadIndex {
		return nil, wrapf(ErrRollback, "operation %d (%s) is the head already", target, te.CID)
	}
	pub, err := signer.PublicKey()
	if err != nil {
		return nil, err
	}
	dk := pub.DIDKey()
	headKeys := st.Head().EffectiveRotationKeys()
	plan := &RollbackPlan{Mode: ModeRestore, Target: target, TargetCID: te.CID, SignerKey: dk, SignerIndex: indexOf(headKeys, dk)}
	if plan.SignerIndex < 0 {
		return plan, wrapf(ErrNotRotationKey, "%s is not a rotation key of the head %s: [%s]", dk, st.HeadCID(), strings.Join(headKeys, ", "))
	}
	return plan, plan.sign(st, top, st.HeadCID(), signer, now)
}

// sign completes plan with the operation that copies top's state on top of
// prev, checked against the directory's limits, signed by signer, and the
// state after appending it to st at now.
func (plan *RollbackPlan) sign(st *State, top *Operation, prev string, signer atcrypto.PrivateKey, now time.Time) error {
	op := top.Normalize()
	op.Prev, op.Sig = prev, ""
	if err := CheckLimits(op); err != nil {
		return err
	}
	if err := Sign(op, signer); err != nil {
		return err
	}
	after, err := st.Append(op, now)
	if err != nil {
		return err
	}
	plan.Op, plan.CID, plan.After = op, op.CID().String(), after
	return nil
}

func indexOf(ss []string, s string) int {
	for i, x := range ss {
		if x == s {
			return i
		}
	}
	return -1
}
