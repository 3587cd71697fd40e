package diff

import (
	"errors"
	"fmt"

	"github.com/ipfs/go-cid"

	"github.com/arbor-atproto/arbor/internal/sentinel"
	"github.com/arbor-atproto/arbor/repo"
)

// Sentinel errors. Errors returned by this package wrap one of them (or a
// sentinel of the mst package, such as mst.ErrMissingBlock, for a block a
// source does not have), so callers can test the kind with errors.Is.
var (
	// ErrBadTree: a node met during the walk that breaks the MST rules the
	// walk relies on (keys out of order, an entry on the wrong layer, a link
	// below layer 0, an entry-less node where none may be).
	ErrBadTree = errors.New("malformed MST")
	// ErrInversion: inverting the operations on the new tree did not land on
	// the old root.
	ErrInversion = errors.New("inverted operations do not give the old root")
	// ErrBadOp: an operation that cannot be inverted as given (a create
	// whose key is not in the new tree, an op without any CID, ...).
	ErrBadOp = errors.New("invalid operation")
	// ErrSliceMismatch: a slice that does not fit its base: the new tree or
	// its records cannot be completed from base plus slice, or the slice is
	// for another repository.
	ErrSliceMismatch = errors.New("slice does not fit the base snapshot")
)

// errNotACommit: a slice whose root is not a commit. It is
// repo.ErrNotACommit, the one sentinel for "not a commit", under the words
// of a slice.
var errNotACommit = sentinel.Alias("slice root is not a commit", repo.ErrNotACommit)

// TreeError says where the walk met a malformed tree: which side, which node,
// and near which key.
type TreeError struct {
	Side string  // "old" or "new"
	CID  cid.Cid // node concerned
	Key  string  // key concerned, if any
	Err  error   // wraps ErrBadTree or an mst sentinel
}

func (e *TreeError) Error() string {
	s := fmt.Sprintf("%s tree: node %s", e.Side, e.CID)
	if e.Key != "" {
		s += fmt.Sprintf(" near key %q", e.Key)
	}
	return s + ": " + e.Err.Error()
}

// Unwrap returns the cause.
func (e *TreeError) Unwrap() error { return e.Err }
