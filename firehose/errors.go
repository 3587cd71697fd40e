package firehose

import (
	"errors"
	"fmt"

	"github.com/arbor-atproto/arbor/internal/sentinel"
	"github.com/arbor-atproto/arbor/mst"
	"github.com/arbor-atproto/arbor/repo"
)

// Sentinel errors. Errors returned by this package wrap one of them, or the
// sentinel of the package that owns the concept (see the kinds below), so
// callers can test the kind of problem with errors.Is.
var (
	// ErrBadFrame: a frame that is not a valid subscribeRepos frame (not
	// two strict DAG-CBOR objects, a bad header, a body field missing or of
	// the wrong type or syntax). Decoding errors also wrap the dagcbor
	// sentinel when the bytes are not strict DAG-CBOR.
	ErrBadFrame = errors.New("malformed firehose frame")

	// ErrFutureCursor: the server refused a cursor beyond its latest seq
	// (error frame FutureCursor).
	ErrFutureCursor = errors.New("cursor is in the future")
	// ErrConsumerTooSlow: the server dropped the consumer for falling
	// behind (error frame ConsumerTooSlow).
	ErrConsumerTooSlow = errors.New("consumer too slow")
	// ErrStop: returned by a Subscribe callback to end the subscription;
	// Subscribe then returns nil.
	ErrStop = errors.New("stop subscription")

	// ErrBadBlocks: a #commit's blocks field is not a valid CAR slice, or
	// its root is not the commit.
	ErrBadBlocks = errors.New("invalid blocks CAR")
	// ErrBadCommit: the commit block does not decode as a signed v3 commit.
	ErrBadCommit = errors.New("invalid commit block")
	// ErrRepoMismatch: the commit's DID is not the event's repo.
	ErrRepoMismatch = errors.New("commit DID does not match the event's repo")
	// ErrRevMismatch: the commit's rev is not the event's rev.
	ErrRevMismatch = errors.New("commit rev does not match the event's rev")
	// ErrOpMismatch: the new tree does not reflect an operation (a create
	// or update whose key does not hold the op's cid, a delete whose key is
	// still there).
	ErrOpMismatch = errors.New("operation not reflected in the new tree")
	// ErrInversionFailed: undoing the operations on the new tree does not
	// land on prevData.
	ErrInversionFailed = errors.New("inverted operations do not land on prevData")

	// ErrSeqOrder: an event whose seq is not above the last one seen.
	ErrSeqOrder = errors.New("seq does not increase")
	// ErrRevOrder: a commit whose rev is not above the repository's last.
	ErrRevOrder = errors.New("rev does not increase")
	// ErrSinceMismatch: a commit whose since is not the repository's
	// last rev.
	ErrSinceMismatch = errors.New("since is not the previous rev")
	// ErrPrevDataMismatch: a commit whose prevData is not the previous
	// commit's data.
	ErrPrevDataMismatch = errors.New("prevData is not the previous commit's data")
	// ErrInactiveAccount: a commit for an account last reported inactive.
	ErrInactiveAccount = errors.New("commit for an inactive account")
)

// Kinds owned by other packages, worded for an event. A block the event
// must carry but its CAR lacks (the commit, a record, or an MST node the
// inversion needs) is mst.ErrMissingBlock; a commit signature that does not
// verify with the account's key is repo.ErrBadSignature; an operation that
// is invalid as written (a create with a prev, an update without a cid, a
// path twice, a path that is not an MST key, an update or delete without
// prev when prevData is given, more ops than MaxCommitOps) is diff.ErrBadOp.
var (
	errMissingBlock = sentinel.Alias("block missing from the event", mst.ErrMissingBlock)
	errBadSignature = sentinel.Alias("commit signature does not verify", repo.ErrBadSignature)
)

// FieldError is a body or header field that is missing, of the wrong type
// or of the wrong syntax. It wraps ErrBadFrame.
type FieldError struct {
	Type  string // the message type, "" for the header or an error frame
	Field string // e.g. "ops[2].path"
	Msg   string
}

func (e *FieldError) Error() string {
	where := e.Field
	if e.Type != "" {
		where = e.Type + " " + e.Field
	}
	return fmt.Sprintf("%v: %s: %s", ErrBadFrame, where, e.Msg)
}

func (e *FieldError) Unwrap() error { return ErrBadFrame }
