package dagcbor

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error returned by this package wraps one of them in
// a *SyntaxError that also says at which byte offset the problem was found,
// so callers can test the kind of problem with errors.Is and the position
// with errors.As.
var (
	// ErrTruncated: the input ends in the middle of a value.
	ErrTruncated = errors.New("truncated input")
	// ErrTrailing: bytes follow the single top-level value.
	ErrTrailing = errors.New("trailing bytes after value")
	// ErrNonMinimal: an integer, length or tag is not in its shortest form.
	ErrNonMinimal = errors.New("non-minimal integer or length encoding")
	// ErrIndefinite: an indefinite-length string, array or map.
	ErrIndefinite = errors.New("indefinite-length item")
	// ErrFloat: a floating point number (forbidden by the atproto data model).
	ErrFloat = errors.New("floating point number")
	// ErrSimple: a simple value other than false, true and null (for example undefined).
	ErrSimple = errors.New("forbidden simple value")
	// ErrTag: a tag other than 42.
	ErrTag = errors.New("forbidden tag")
	// ErrBadLink: a tag 42 whose content is not a 0x00-prefixed CIDv1 byte string.
	ErrBadLink = errors.New("malformed CID link")
	// ErrMapKey: a map key that is not a text string.
	ErrMapKey = errors.New("map key is not a string")
	// ErrKeyOrder: map keys out of DAG-CBOR order (shorter first, then bytewise).
	ErrKeyOrder = errors.New("map keys out of canonical order")
	// ErrDuplicateKey: the same map key twice.
	ErrDuplicateKey = errors.New("duplicate map key")
	// ErrUTF8: a text string that is not valid UTF-8.
	ErrUTF8 = errors.New("invalid UTF-8 in string")
	// ErrIntRange: an integer outside the signed 64-bit range of the data model.
	ErrIntRange = errors.New("integer out of 64-bit signed range")
	// ErrTooDeep: nesting deeper than MaxDepth.
	ErrTooDeep = errors.New("nesting too deep")
	// ErrType: a value of another type than the one the caller asked for.
	ErrType = errors.New("unexpected type")
	// ErrReserved: reserved additional-information values 28 to 30.
	ErrReserved = errors.New("reserved additional information")
)

// MaxDepth is how deeply arrays and maps may nest.
const MaxDepth = 128

// SyntaxError says what is wrong with an encoding and where.
type SyntaxError struct {
	Offset int   // byte offset in the input where the bad item starts
	Err    error // one of the sentinel errors above
	Detail string
}

func (e *SyntaxError) Error() string {
	if e.Detail != "" {
		return fmt.Sprintf("dag-cbor: %v at byte %d: %s", e.Err, e.Offset, e.Detail)
	}
	return fmt.Sprintf("dag-cbor: %v at byte %d", e.Err, e.Offset)
}

func (e *SyntaxError) Unwrap() error { return e.Err }

func errAt(off int, err error, detail string) error {
	return &SyntaxError{Offset: off, Err: err, Detail: detail}
}
