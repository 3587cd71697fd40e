package mst

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/ipfs/go-cid"
)

// Sentinel errors. Errors returned by this package wrap one of them, so
// callers can test the kind of problem with errors.Is; most are carried in a
// Problem (which also names the node CID and the key) or a *KeyError.
var (
	// ErrBadKey: a key that is not a valid MST key (see ValidateKey).
	ErrBadKey = errors.New("invalid MST key")
	// ErrKeyNotFound: Delete of a key that is not in the tree.
	ErrKeyNotFound = errors.New("key not found")
	// ErrUnsorted: keys out of order (within a node, or across the in-order walk).
	ErrUnsorted = errors.New("keys out of order")
	// ErrDuplicateKey: the same key twice.
	ErrDuplicateKey = errors.New("duplicate key")
	// ErrWrongLayer: an entry whose key height differs from its node's layer,
	// a subtree link below layer 0, or links nested deeper than MaxDepth
	// levels (deeper than any layer).
	ErrWrongLayer = errors.New("entry or subtree at the wrong layer")
	// ErrEmptyNode: a node with no entries and no subtree anywhere but the
	// root of an empty tree, or a root with no entries that only points to a
	// subtree (an untrimmed root).
	ErrEmptyNode = errors.New("invalid empty node")
	// ErrNonMinimalPrefix: an entry whose prefix length is shorter than the
	// bytes it really shares with the previous key of its node.
	ErrNonMinimalPrefix = errors.New("non-minimal key prefix compression")
	// ErrMissingBlock: a node block the source does not have.
	ErrMissingBlock = errors.New("missing block")
	// ErrBadBlock: a block the source has but cannot vouch for (its bytes
	// do not match its CID, or its CID is not one a repository may use).
	// Verify lists it like a missing block; a source reports it wrapped.
	ErrBadBlock = errors.New("bad block")
	// ErrNotANode: a block that does not decode as a strict MST node
	// (including non-canonical DAG-CBOR), or a link whose codec is not dag-cbor.
	ErrNotANode = errors.New("not an MST node")
	// ErrCycle: a node met twice, either as its own ancestor or as the child
	// of two different parents.
	ErrCycle = errors.New("node cycle or reuse")
	// ErrRootMismatch: rebuilding the tree from its leaves gives another root.
	ErrRootMismatch = errors.New("root does not match the tree rebuilt from its leaves")
)

// Problem is one thing wrong with a tree, found at node CID, near key Key.
//
// For entry problems Key is the entry's full key. For node problems (missing
// block, undecodable block, empty node, cycle) Key is the last key walked in
// order before the node ("" if none). Err wraps one of the sentinel errors.
// Problem is also the error type returned by Tree operations that meet a bad
// node; use errors.As(err, new(Problem)).
type Problem struct {
	CID cid.Cid
	Key string
	Err error
}

func (p Problem) Error() string {
	s := "mst: "
	if p.CID.Defined() {
		s += "node " + p.CID.String() + ": "
	}
	if p.Key != "" {
		s += "key " + strconv.Quote(p.Key) + ": "
	}
	if p.Err == nil {
		return s + "unknown problem"
	}
	return s + p.Err.Error()
}

// Unwrap returns Err, so errors.Is(problem, ErrUnsorted) works.
func (p Problem) Unwrap() error { return p.Err }

// KeyError says why a key is not a valid MST key. It wraps ErrBadKey.
type KeyError struct {
	Key    string
	Reason string
}

func (e *KeyError) Error() string {
	k := e.Key
	if len(k) > 80 {
		k = k[:80] + "..."
	}
	return fmt.Sprintf("mst: invalid key %q: %s", k, e.Reason)
}

// Unwrap returns ErrBadKey.
func (e *KeyError) Unwrap() error { return ErrBadKey }

func problem(c cid.Cid, key []byte, sentinel error, format string, args ...any) Problem {
	var err error
	if format == "" {
		err = sentinel
	} else {
		err = fmt.Errorf("%w: %s", sentinel, fmt.Sprintf(format, args...))
	}
	return Problem{CID: c, Key: string(key), Err: err}
}
