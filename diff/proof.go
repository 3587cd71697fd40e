package diff

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/ipfs/go-cid"

	"github.com/arbor-atproto/arbor/mst"
)

// searchPath returns the CIDs of the nodes met looking key up from root,
// the way an inclusion or exclusion proof is read (mst.PathBelowLayer).
func searchPath(l *loader, root cid.Cid, key []byte) ([]cid.Cid, error) {
	nodes, _, err := mst.SearchPath(l, root, key, mst.PathBelowLayer)
	if err != nil {
		return nil, err
	}
	path := make([]cid.Cid, len(nodes))
	for i, n := range nodes {
		path[i] = n.CID
	}
	return path, nil
}

// addProofs fills ProofNodes, InductiveProofNodes and CoveringProof.
func addProofs(res *Result, nl *loader, newSrc mst.BlockSource) error {
	proof, covering := cidSet{}, cidSet{}
	for _, o := range res.Ops {
		p, err := searchPath(nl, res.NewRoot, []byte(o.Path))
		if err != nil {
			return err
		}
		proof.add(p...)
		covering.add(p...)
		pred, succ, err := mst.Neighbours(nl, res.NewRoot, []byte(o.Path))
		if err != nil {
			return err
		}
		for _, k := range [][]byte{pred, succ} {
			if k == nil {
				continue
			}
			p, err := searchPath(nl, res.NewRoot, k)
			if err != nil {
				return err
			}
			covering.add(p...)
		}
	}
	if len(res.Ops) > 0 {
		_, read, err := Invert(newSrc, res.NewRoot, res.Ops, true)
		if err != nil {
			return err
		}
		res.InductiveProofNodes = read
		covering.add(read...)
	}
	res.ProofNodes = proof.sorted()
	if res.InductiveProofNodes == nil {
		res.InductiveProofNodes = []cid.Cid{}
	}
	res.CoveringProof = covering.sorted()
	return nil
}

// recorder is a BlockSource that remembers the CIDs asked of it.
type recorder struct {
	src  mst.BlockSource
	mu   sync.Mutex
	seen cidSet
}

func (r *recorder) Get(c cid.Cid) ([]byte, error) {
	b, err := r.src.Get(c)
	if err == nil {
		r.mu.Lock()
		r.seen.add(c)
		r.mu.Unlock()
	}
	return b, err
}

// Invert undoes ops on the tree rooted at newRoot (nodes read from src):
// each create is deleted, each update and delete puts the old value back.
// With descending set, the ops are undone in descending path order (the
// order the mst-test-suite's inductive proofs assume); otherwise in the
// order given, last first. It returns the root it lands on and the nodes it
// had to read from src, sorted. A missing node is an error wrapping
// mst.ErrMissingBlock: src does not hold enough of the tree.
func Invert(src mst.BlockSource, newRoot cid.Cid, ops []Op, descending bool) (cid.Cid, []cid.Cid, error) {
	ops = slices.Clone(ops)
	if descending {
		slices.SortStableFunc(ops, func(a, b Op) int { return strings.Compare(b.Path, a.Path) })
	} else {
		slices.Reverse(ops)
	}
	if len(ops) == 0 {
		return newRoot, []cid.Cid{}, nil
	}
	rec := &recorder{src: src, seen: cidSet{}}
	t, err := mst.Load(rec, newRoot)
	if err != nil {
		return cid.Undef, nil, fmt.Errorf("inverting: loading new root: %w", err)
	}
	for _, o := range ops {
		key := []byte(o.Path)
		switch {
		case !o.Old.Defined() && !o.New.Defined():
			return cid.Undef, nil, fmt.Errorf("%w: %s has neither an old nor a new value", ErrBadOp, o.Path)
		case !o.Old.Defined():
			cur, found, err := t.Get(key)
			if err != nil {
				return cid.Undef, nil, fmt.Errorf("inverting create of %s: %w", o.Path, err)
			}
			if !found || cur != o.New {
				return cid.Undef, nil, fmt.Errorf("%w: create of %s: the new tree does not hold %s there", ErrBadOp, o.Path, o.New)
			}
			t, err = t.Delete(key)
			if err != nil {
				return cid.Undef, nil, fmt.Errorf("inverting create of %s: %w", o.Path, err)
			}
		default:
			cur, found, err := t.Get(key)
			if err != nil {
				return cid.Undef, nil, fmt.Errorf("inverting %s of %s: %w", o.Action(), o.Path, err)
			}
			if o.New.Defined() && (!found || cur != o.New) {
				return cid.Undef, nil, fmt.Errorf("%w: update of %s: the new tree does not hold %s there", ErrBadOp, o.Path, o.New)
			}
			if !o.New.Defined() && found {
				return cid.Undef, nil, fmt.Errorf("%w: delete of %s: the new tree still holds the key", ErrBadOp, o.Path)
			}
			if t, err = t.Insert(key, o.Old); err != nil {
				return cid.Undef, nil, fmt.Errorf("inverting %s of %s: %w", o.Action(), o.Path, err)
			}
		}
	}
	root, err := t.RootCID()
	if err != nil {
		return cid.Undef, nil, fmt.Errorf("inverting: %w", err)
	}
	return root, rec.seen.sorted(), nil
}

// CheckInversion checks that undoing ops on the tree rooted at newRoot,
// reading only from proof (for example the created nodes plus the covering
// proof of a #commit), lands on oldRoot. The ops are undone in the order
// given, last first, as a relay would for a commit's ops. It returns nil on
// success, an error wrapping mst.ErrMissingBlock when proof lacks a node the
// inversion needs, or one wrapping ErrInversion when it lands elsewhere.
func CheckInversion(proof mst.BlockSource, newRoot, oldRoot cid.Cid, ops []Op) error {
	got, _, err := Invert(proof, newRoot, ops, false)
	if err != nil {
		if errors.Is(err, mst.ErrMissingBlock) {
			return fmt.Errorf("proof is incomplete: %w", err)
		}
		return err
	}
	if got != oldRoot {
		return fmt.Errorf("%w: landed on %s, want %s", ErrInversion, got, oldRoot)
	}
	return nil
}
