package firehose

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/bluesky-social/indigo/atproto/atcrypto"
	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/ipfs/go-cid"

	"github.com/arbor-atproto/arbor/car"
	"github.com/arbor-atproto/arbor/diff"
	"github.com/arbor-atproto/arbor/mst"
	"github.com/arbor-atproto/arbor/repo"
)

// Checks VerifyCommit runs, by name.
const (
	CheckBlocks    = "blocks"    // the CAR reads, every block matches its CID, its root is the commit
	CheckCommit    = "commit"    // the commit block is present and a strict v3 commit
	CheckRepo      = "repo"      // commit DID = event repo
	CheckRev       = "rev"       // commit rev = event rev
	CheckSignature = "signature" // the commit's signature, with the account's key
	CheckOps       = "ops"       // operations well formed (actions, cids, prev, no path twice)
	CheckRecords   = "records"   // the record block of every create and update is carried
	CheckTree      = "tree"      // each op is reflected in the new tree (sync 1.0 events)
	CheckInversion = "inversion" // undoing the ops on the new tree lands on prevData (sync 1.1)
)

// Limits of com.atproto.sync.subscribeRepos (its lexicon's maxLength;
// relays refuse bigger events as exceeding the protocol limit).
const (
	MaxCommitBlocks = 2_000_000 // bytes of a #commit's blocks
	MaxCommitOps    = 200       // operations of a #commit
	MaxSyncBlocks   = 10_000    // bytes of a #sync's blocks
)

// Skipped is a check VerifyCommit did not run, and why.
type Skipped struct {
	Check  string
	Reason string
}

// Verification is what VerifyCommit found about one #commit.
type Verification struct {
	// Commit is the decoded commit block (nil if it could not be read).
	Commit *repo.Commit
	// Passed lists the checks that ran and passed, in the order run.
	Passed []string
	// Skipped lists the checks that could not run.
	Skipped []Skipped
	// Problems holds one error per failed check; each wraps one of the
	// sentinels (repo.ErrBadSignature, ErrInversionFailed, mst.ErrMissingBlock, ...).
	Problems []error
}

// OK reports whether no check failed (some may have been skipped).
func (v *Verification) OK() bool { return len(v.Problems) == 0 }

func (v *Verification) fail(err error) { v.Problems = append(v.Problems, err) }
func (v *Verification) skip(check, reason string) {
	v.Skipped = append(v.Skipped, Skipped{check, reason})
}

// VerifyCommit checks a #commit event the way a sync v1.1 relay does, from
// the event alone plus the account's signing key:
//
//   - blocks is at most MaxCommitBlocks bytes (else nothing more is
//     checked: the event is refused as a relay refuses it), a valid CAR
//     (every block hashing to its CID) rooted at the commit, and holds the
//     commit, a strict signed v3 commit whose DID and rev are the event's
//     repo and rev;
//   - the signature verifies with key (skipped when key is nil);
//   - the ops are well formed: at most MaxCommitOps of them, each path a
//     valid MST key (DecodeFrame checks the stricter record-path syntax),
//     no path twice, creates with a cid and no prev, updates with a cid,
//     deletes without one, and with prevData present updates and deletes
//     carry prev;
//   - the record block of every create and update is present;
//   - with prevData (sync v1.1): undoing the ops on the new tree, reading
//     only the carried blocks, lands exactly on prevData;
//   - without prevData (sync 1.0): inversion is skipped, and each op is
//     checked against the new tree instead (as far as the carried blocks
//     reach).
//
// A tooBig event skips the op checks. The returned Verification lists what
// passed, what was skipped and every problem; the error is nil when nothing
// failed, else all problems joined (errors.Is works on each).
func VerifyCommit(ev *Commit, key atcrypto.PublicKey) (*Verification, error) {
	v := &Verification{}
	done := func() (*Verification, error) {
		return v, errors.Join(v.Problems...)
	}
	roots, blocks, ok := v.readBlocks(ev.Blocks, MaxCommitBlocks)
	if !ok {
		return done()
	}
	if len(roots) != 1 || roots[0] != ev.Commit {
		v.fail(fmt.Errorf("%w: CAR roots %v, want the commit %s", ErrBadBlocks, roots, ev.Commit))
	} else {
		v.Passed = append(v.Passed, CheckBlocks)
	}
	src := mst.MapSource(blocks)

	cb, ok := blocks[ev.Commit]
	if !ok {
		v.fail(fmt.Errorf("%w: commit block %s", errMissingBlock, ev.Commit))
		return done()
	}
	c, err := repo.DecodeCommit(cb)
	if err != nil {
		v.fail(fmt.Errorf("%w: %s: %w", ErrBadCommit, ev.Commit, err))
		return done()
	}
	if c.Version != repo.VersionCurrent {
		v.fail(fmt.Errorf("%w: %s: version %d, want %d", ErrBadCommit, ev.Commit, c.Version, repo.VersionCurrent))
		return done()
	}
	v.checkCommit(c, ev.Commit, ev.Repo, ev.Rev, key)

	if ev.TooBig {
		for _, ch := range []string{CheckOps, CheckRecords, CheckTree, CheckInversion} {
			v.skip(ch, "tooBig event: ops and blocks may be incomplete")
		}
		return done()
	}
	ops, opsOK := checkOps(v, ev)
	if opsOK {
		v.Passed = append(v.Passed, CheckOps)
	}
	recordsOK := true
	for _, o := range ev.Ops {
		if (o.Action == ActionCreate || o.Action == ActionUpdate) && o.CID.Defined() {
			if _, ok := blocks[o.CID]; !ok {
				recordsOK = false
				v.fail(fmt.Errorf("%w: record %s of %s %s", errMissingBlock, o.CID, o.Action, o.Path))
			}
		}
	}
	if recordsOK {
		v.Passed = append(v.Passed, CheckRecords)
	}
	if !opsOK {
		v.skip(CheckTree, "operations are malformed")
		v.skip(CheckInversion, "operations are malformed")
		return done()
	}
	if !ev.PrevData.Defined() {
		v.skip(CheckInversion, "no prevData (sync 1.0 event or first commit)")
		if err := checkTree(src, c.Data, ev.Ops); err != nil {
			v.fail(err)
		} else {
			v.Passed = append(v.Passed, CheckTree)
		}
		return done()
	}
	if err := diff.CheckInversion(src, c.Data, ev.PrevData, ops); err != nil {
		v.fail(inversionError(err, ev.PrevData))
	} else {
		v.Passed = append(v.Passed, CheckInversion)
	}
	return done()
}

// checkOps checks the ops one by one and converts them for the diff package.
func checkOps(v *Verification, ev *Commit) ([]diff.Op, bool) {
	ok := true
	bad := func(i int, o RepoOp, format string, args ...any) {
		ok = false
		v.fail(fmt.Errorf("%w: ops[%d] %s %s: %s", diff.ErrBadOp, i, o.Action, o.Path, fmt.Sprintf(format, args...)))
	}
	if len(ev.Ops) > MaxCommitOps {
		ok = false
		v.fail(fmt.Errorf("%w: %d ops, more than the protocol's limit of %d", diff.ErrBadOp, len(ev.Ops), MaxCommitOps))
	}
	seen := make(map[string]bool, len(ev.Ops))
	ops := make([]diff.Op, 0, len(ev.Ops))
	v11 := ev.PrevData.Defined()
	for i, o := range ev.Ops {
		if seen[o.Path] {
			bad(i, o, "path appears twice")
		}
		seen[o.Path] = true
		if err := mst.ValidateKey([]byte(o.Path)); err != nil {
			bad(i, o, "%v", err)
		}
		switch o.Action {
		case ActionCreate:
			if !o.CID.Defined() {
				bad(i, o, "no cid")
			}
			if o.Prev.Defined() {
				bad(i, o, "a create with prev")
			}
		case ActionUpdate:
			if !o.CID.Defined() {
				bad(i, o, "no cid")
			}
			if v11 && !o.Prev.Defined() {
				bad(i, o, "no prev (required with prevData)")
			}
			if o.Prev.Defined() && o.Prev == o.CID {
				bad(i, o, "prev and cid are the same")
			}
		case ActionDelete:
			if o.CID.Defined() {
				bad(i, o, "a delete with a cid")
			}
			if v11 && !o.Prev.Defined() {
				bad(i, o, "no prev (required with prevData)")
			}
		default:
			bad(i, o, "unknown action")
		}
		ops = append(ops, diff.Op{Path: o.Path, Old: o.Prev, New: o.CID})
	}
	return ops, ok
}

// checkTree checks that the new tree holds each create's and update's CID
// and lacks each deleted path.
func checkTree(src mst.BlockSource, root cid.Cid, ops []RepoOp) error {
	t, err := mst.Load(src, root)
	if err != nil {
		return treeError(err, "loading the new tree")
	}
	var errs []error
	for _, o := range ops {
		got, found, err := t.Get([]byte(o.Path))
		if err != nil {
			errs = append(errs, treeError(err, "looking up "+o.Path))
			continue
		}
		switch {
		case o.Action == ActionDelete && found:
			errs = append(errs, fmt.Errorf("%w: delete of %s: the new tree still holds %s there", ErrOpMismatch, o.Path, got))
		case o.Action != ActionDelete && !found:
			errs = append(errs, fmt.Errorf("%w: %s of %s: the new tree lacks the key", ErrOpMismatch, o.Action, o.Path))
		case o.Action != ActionDelete && got != o.CID:
			errs = append(errs, fmt.Errorf("%w: %s of %s: the new tree holds %s, the op %s", ErrOpMismatch, o.Action, o.Path, got, o.CID))
		}
	}
	return errors.Join(errs...)
}

func treeError(err error, what string) error {
	if errors.Is(err, mst.ErrMissingBlock) {
		return fmt.Errorf("%w: MST node needed for %s: %w", errMissingBlock, what, err)
	}
	return fmt.Errorf("%w: %s: %w", ErrOpMismatch, what, err)
}

func inversionError(err error, prevData cid.Cid) error {
	switch {
	case errors.Is(err, mst.ErrMissingBlock):
		return fmt.Errorf("%w: MST node needed to invert the ops: %w", errMissingBlock, err)
	case errors.Is(err, diff.ErrBadOp):
		return fmt.Errorf("%w: %w", ErrOpMismatch, err)
	default:
		return fmt.Errorf("%w (prevData %s): %w", ErrInversionFailed, prevData, err)
	}
}

// VerifySync checks a #sync event: blocks is a valid CAR of at most
// MaxSyncBlocks bytes rooted at a strict
// signed v3 commit whose DID and rev are the event's, and the signature
// verifies with key (skipped when key is nil). The tree itself is not
// carried and not checked.
func VerifySync(ev *Sync, key atcrypto.PublicKey) (*Verification, error) {
	v := &Verification{}
	done := func() (*Verification, error) { return v, errors.Join(v.Problems...) }
	roots, blocks, ok := v.readBlocks(ev.Blocks, MaxSyncBlocks)
	if !ok {
		return done()
	}
	if len(roots) != 1 {
		v.fail(fmt.Errorf("%w: %d CAR roots, want the commit alone", ErrBadBlocks, len(roots)))
		return done()
	}
	v.Passed = append(v.Passed, CheckBlocks)
	cb, ok := blocks[roots[0]]
	if !ok {
		v.fail(fmt.Errorf("%w: commit block %s", errMissingBlock, roots[0]))
		return done()
	}
	c, err := repo.DecodeCommit(cb)
	if err != nil || c.Version != repo.VersionCurrent {
		if err == nil {
			err = fmt.Errorf("version %d", c.Version)
		}
		v.fail(fmt.Errorf("%w: %s: %w", ErrBadCommit, roots[0], err))
		return done()
	}
	v.checkCommit(c, roots[0], ev.DID, ev.Rev, key)
	return done()
}

// readBlocks reads an event's CAR slice, of at most max bytes; false when
// it is larger or does not read as a CAR (the problem is recorded).
func (v *Verification) readBlocks(b []byte, max int) ([]cid.Cid, map[cid.Cid][]byte, bool) {
	if len(b) > max {
		v.fail(fmt.Errorf("%w: %d bytes, more than the protocol's limit of %d", ErrBadBlocks, len(b), max))
		return nil, nil, false
	}
	roots, blocks, err := car.ReadAll(bytes.NewReader(b))
	if err != nil {
		v.fail(fmt.Errorf("%w: %w", ErrBadBlocks, err))
		return nil, nil, false
	}
	return roots, blocks, true
}

// checkCommit takes c, the strict v3 commit of block at, as the event's
// commit and checks it against the event: its DID and rev are the event's,
// and its signature verifies with key (skipped when key is nil).
func (v *Verification) checkCommit(c *repo.Commit, at cid.Cid, did syntax.DID, rev syntax.TID, key atcrypto.PublicKey) {
	v.Commit = c
	v.Passed = append(v.Passed, CheckCommit)
	if c.DID != did {
		v.fail(fmt.Errorf("%w: commit %s is for %s, event for %s", ErrRepoMismatch, at, c.DID, did))
	} else {
		v.Passed = append(v.Passed, CheckRepo)
	}
	if c.Rev != rev {
		v.fail(fmt.Errorf("%w: commit %s has rev %s, event %s", ErrRevMismatch, at, c.Rev, rev))
	} else {
		v.Passed = append(v.Passed, CheckRev)
	}
	if key == nil {
		v.skip(CheckSignature, "no key given")
	} else if err := c.VerifySignature(key); err != nil {
		v.fail(fmt.Errorf("%w: commit %s of %s: %w", errBadSignature, at, did, err))
	} else {
		v.Passed = append(v.Passed, CheckSignature)
	}
}
