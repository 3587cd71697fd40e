package plc

import (
	"errors"
	"fmt"
)

// Sentinel errors. Errors returned by this package wrap one of these, so
// callers can test the reason with errors.Is.
var (
	ErrMalformedOp       = errors.New("malformed operation")
	ErrUnknownType       = errors.New("unknown operation type")
	ErrNotSigned         = errors.New("operation is not signed")
	ErrSigEncoding       = errors.New("signature is not strict unpadded base64url")
	ErrBadOpSignature    = errors.New("signature does not verify with any allowed rotation key")
	ErrBadDIDKey         = errors.New("invalid did:key")
	ErrNotGenesis        = errors.New("not a genesis operation")
	ErrGenesisHash       = errors.New("genesis operation does not hash to the DID")
	ErrBadDID            = errors.New("not a did:plc identifier")
	ErrLogDIDMismatch    = errors.New("log entry is for a different DID")
	ErrCIDMismatch       = errors.New("log entry CID does not match the operation")
	ErrEmptyLog          = errors.New("empty operation log")
	ErrMisordered        = errors.New("operation is out of order")
	ErrPrevNotFound      = errors.New("prev does not name an earlier operation")
	ErrPrevNullified     = errors.New("prev names a nullified operation")
	ErrAfterTombstone    = errors.New("operation after a tombstone")
	ErrTimestamp         = errors.New("timestamps are not strictly increasing")
	ErrLateRecovery      = errors.New("nullification outside the 72-hour recovery window")
	ErrKeyPriority       = errors.New("nullification needs a rotation key of strictly higher priority")
	ErrNullifiedMismatch = errors.New("nullified flag does not match the log")
	ErrNoTimestamps      = errors.New("a fork in a log without timestamps cannot be checked")
	ErrLimit             = errors.New("operation exceeds the directory's limits")
	ErrNotRotationKey    = errors.New("signing key is not an allowed rotation key")
	ErrTombstoned        = errors.New("DID is tombstoned")
	ErrRollback          = errors.New("rollback not possible")
	ErrNoChange          = errors.New("update changes nothing")
)

// OpError says which operation of a log failed and why. Index is the
// position in the log (0-based); CID is the operation's CID when known.
type OpError struct {
	Index int
	CID   string
	Err   error
}

func (e *OpError) Error() string {
	if e.CID != "" {
		return fmt.Sprintf("operation %d (%s): %v", e.Index, e.CID, e.Err)
	}
	return fmt.Sprintf("operation %d: %v", e.Index, e.Err)
}

func (e *OpError) Unwrap() error { return e.Err }

// LimitError names the limit an operation exceeds.
type LimitError struct {
	Field string // e.g. "rotationKeys", "services.atproto_pds.endpoint"
	Limit int
	Got   int
	Msg   string
}

func (e *LimitError) Error() string {
	if e.Msg != "" {
		return fmt.Sprintf("%v: %s: %s", ErrLimit, e.Field, e.Msg)
	}
	return fmt.Sprintf("%v: %s is %d, limit %d", ErrLimit, e.Field, e.Got, e.Limit)
}

func (e *LimitError) Unwrap() error { return ErrLimit }

// wrapf returns an error wrapping sentinel with extra detail.
func wrapf(sentinel error, format string, args ...any) error {
	return fmt.Errorf("%w: %s", sentinel, fmt.Sprintf(format, args...))
}
