package diff

import (
	"slices"
	"strings"

	"github.com/ipfs/go-cid"
)

// Action is what happened to one record path.
type Action int

// Actions, in the order the reference implementation names them.
const (
	Create Action = iota + 1
	Update
	Delete
)

func (a Action) String() string {
	switch a {
	case Create:
		return "create"
	case Update:
		return "update"
	case Delete:
		return "delete"
	}
	return "unknown"
}

// Op is the change of one record path between the old and the new tree.
// Old is cid.Undef for a create, New is cid.Undef for a delete; an update
// has both, and they differ.
type Op struct {
	Path string
	Old  cid.Cid
	New  cid.Cid
}

// Action tells a create, update or delete apart.
func (o Op) Action() Action {
	switch {
	case !o.Old.Defined():
		return Create
	case !o.New.Defined():
		return Delete
	}
	return Update
}

// Collection is the part of the path before the first '/'.
func (o Op) Collection() string {
	c, _, _ := strings.Cut(o.Path, "/")
	return c
}

// Result is the difference between two trees. Every CID list is a set,
// sorted by the CID's string form (as the mst-test-suite stores them).
type Result struct {
	OldRoot, NewRoot cid.Cid

	// Ops holds one operation per changed path, sorted by path.
	Ops []Op

	// CreatedNodes are MST nodes of the new tree that the old tree lacks;
	// DeletedNodes the old tree's nodes that the new tree lacks.
	CreatedNodes, DeletedNodes []cid.Cid

	// CreatedRecords are the record CIDs the operations introduce (new
	// values) that no operation removes; DeletedRecords the old values no
	// operation brings back. A record CID also held by an untouched path
	// is not detected here (that would need a walk of the whole tree);
	// callers holding both block sets can filter with them.
	CreatedRecords, DeletedRecords []cid.Cid

	// ProofNodes are the new tree's nodes on the search path of every
	// changed key: inclusion proofs for creates and updates, exclusion
	// proofs for deletes (mst-test-suite "proof_nodes").
	ProofNodes []cid.Cid
	// InductiveProofNodes are the new tree's nodes read while inverting
	// the operations in descending path order (mst-test-suite
	// "inductive_proof_nodes").
	InductiveProofNodes []cid.Cid
	// CoveringProof is what a sync v1.1 #commit carries besides the
	// created nodes and records so that a relay can invert the operations
	// in any order: ProofNodes, InductiveProofNodes, and the search paths
	// of each changed key's neighbours in the new tree (the reference's
	// getCoveringProof). It includes created nodes on those paths.
	CoveringProof []cid.Cid

	// OldVisited and NewVisited count the nodes the walk decoded on each
	// side: the work done, proportional to the change, not the repo.
	OldVisited, NewVisited int
}

// SortSets sorts CreatedNodes, DeletedNodes, CreatedRecords and
// DeletedRecords by the CIDs' string form, as Compare leaves them (Ops does
// not).
func (r *Result) SortSets() {
	for _, l := range [][]cid.Cid{r.CreatedNodes, r.DeletedNodes, r.CreatedRecords, r.DeletedRecords} {
		sortCIDs(l)
	}
}

// Identical reports whether both trees hold the same records.
func (r *Result) Identical() bool { return len(r.Ops) == 0 }

// Counts returns the number of creates, updates and deletes.
func (r *Result) Counts() (creates, updates, deletes int) {
	for _, o := range r.Ops {
		switch o.Action() {
		case Create:
			creates++
		case Update:
			updates++
		case Delete:
			deletes++
		}
	}
	return
}

// cidSet is a set of CIDs that remembers nothing but membership.
type cidSet map[cid.Cid]struct{}

func (s cidSet) add(cs ...cid.Cid) {
	for _, c := range cs {
		if c.Defined() {
			s[c] = struct{}{}
		}
	}
}

// minus returns the elements of s not in t, sorted if asked.
func (s cidSet) minus(t cidSet, sorted bool) []cid.Cid {
	out := make([]cid.Cid, 0, len(s))
	for c := range s {
		if _, ok := t[c]; !ok {
			out = append(out, c)
		}
	}
	if !sorted {
		return out
	}
	return sortCIDs(out)
}

func (s cidSet) sorted() []cid.Cid {
	out := make([]cid.Cid, 0, len(s))
	for c := range s {
		out = append(out, c)
	}
	return sortCIDs(out)
}

// sortCIDs sorts by string form, in place, and returns cs. Each string is
// made once and kept beside its CID, so comparisons cost no encoding or
// lookups.
func sortCIDs(cs []cid.Cid) []cid.Cid {
	type keyed struct {
		key string
		c   cid.Cid
	}
	ks := make([]keyed, len(cs))
	for i, c := range cs {
		ks[i] = keyed{c.String(), c}
	}
	slices.SortFunc(ks, func(a, b keyed) int { return strings.Compare(a.key, b.key) })
	for i := range ks {
		cs[i] = ks[i].c
	}
	return cs
}
