package repo

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors. Errors returned by this package wrap one of them, so
// callers can tell kinds apart with errors.Is.
var (
	// ErrNotACommit: bytes (or a Commit value) that are not a valid commit.
	// Returned wrapped in a *CommitError that names the field and offset.
	ErrNotACommit = errors.New("not a valid commit")
	// ErrUnknownField: a commit map key that the commit's version does not have.
	ErrUnknownField = errors.New("unknown field")
	// ErrMissingField: a commit map lacks a required field.
	ErrMissingField = errors.New("missing field")
	// ErrUnsupportedVersion: a commit version other than 2 or 3.
	ErrUnsupportedVersion = errors.New("unsupported commit version")
	// ErrLegacyCommit: an operation that only version 3 commits support
	// (such as signing) was asked of a version 2 commit.
	ErrLegacyCommit = errors.New("legacy version 2 commit is read-only")
	// ErrUnsigned: the commit has no signature.
	ErrUnsigned = errors.New("commit is not signed")
	// ErrBadSignature: the signature does not verify with the given key, or
	// is not a 64-byte low-S compact signature.
	ErrBadSignature = errors.New("bad signature")
	// ErrInvalidKey: a key string, file or DID document key that cannot be parsed.
	ErrInvalidKey = errors.New("invalid key")
	// ErrInvalidTID: a string that is not a TID.
	ErrInvalidTID = errors.New("invalid TID")
	// ErrInvalidPath: a record path that is not "collection/rkey".
	ErrInvalidPath = errors.New("invalid record path")
	// ErrInvalidATURI: a string that is not an at:// URI.
	ErrInvalidATURI = errors.New("invalid AT URI")
)

// CommitError says which field of a commit was wrong, where, and why. It
// matches ErrNotACommit and its cause (for example ErrMissingField, or a
// *dagcbor.SyntaxError) with errors.Is and errors.As.
type CommitError struct {
	Field  string // the commit field concerned; "" for the map as a whole
	Offset int    // byte offset of the problem in the input; -1 when encoding a Commit value
	Err    error  // the cause
}

func (e *CommitError) Error() string {
	var b strings.Builder
	b.WriteString("repo: not a valid commit")
	if e.Field != "" {
		fmt.Fprintf(&b, ": field %q", e.Field)
	}
	if e.Offset >= 0 {
		fmt.Fprintf(&b, " at byte %d", e.Offset)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns ErrNotACommit and the cause.
func (e *CommitError) Unwrap() []error { return []error{ErrNotACommit, e.Err} }

func commitErr(field string, off int, err error) error {
	return &CommitError{Field: field, Offset: off, Err: err}
}

// Quote shows a possibly long user input in an error message.
func Quote[S ~string](s S) string {
	const max = 80
	if len(s) > max {
		return fmt.Sprintf("%q… (%d bytes)", s[:max], len(s))
	}
	return fmt.Sprintf("%q", s)
}
