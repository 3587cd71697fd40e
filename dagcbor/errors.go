package dagcbor

import (
	"errors"
	"fmt"
	"strconv"
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
	// ErrDuplicateMapKey: the same map key twice.
	ErrDuplicateMapKey = errors.New("duplicate map key")
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
	return message(e.Err, "byte "+strconv.Itoa(e.Offset), e.Detail)
}

func (e *SyntaxError) Unwrap() error { return e.Err }

func errAt(off int, err error, detail string) error {
	return &SyntaxError{Offset: off, Err: err, Detail: detail}
}

// Sentinel errors of the value codecs (Encode, Marshal, ToJSON, FromJSON,
// ValidateRecord). They are wrapped in *EncodeError or *JSONError.
var (
	// ErrUnsupportedType: a Go value that has no data-model equivalent.
	ErrUnsupportedType = errors.New("unsupported Go type")
	// ErrJSONSyntax: input that is not well-formed JSON.
	ErrJSONSyntax = errors.New("malformed JSON")
	// ErrNotObject: a JSON document or record whose top level is not an object.
	ErrNotObject = errors.New("top level is not an object")
	// ErrBadBytes: a {"$bytes"} object that is malformed.
	ErrBadBytes = errors.New("malformed $bytes object")
	// ErrBadBlob: a {"$type":"blob"} object that is malformed.
	ErrBadBlob = errors.New("malformed blob")
	// ErrBadType: a "$type" field that is not a non-empty string.
	ErrBadType = errors.New("invalid $type")
	// ErrReservedKey: a map with a "$link" or "$bytes" key, which the JSON
	// form cannot represent.
	ErrReservedKey = errors.New("map uses a key reserved by the JSON form")
)

// EncodeError says what is wrong with a Go value given to Encode, Marshal,
// ToJSON or ValidateRecord, and where inside it: Path is a JSONPath-like
// location such as $["embed"]["images"][0].
type EncodeError struct {
	Path   string
	Err    error
	Detail string
}

func (e *EncodeError) Error() string { return message(e.Err, e.Path, e.Detail) }

// message is the text of a SyntaxError or an EncodeError: the kind of
// problem, where it is, and the specifics when there are any.
func message(err error, where, detail string) string {
	s := fmt.Sprintf("dag-cbor: %v at %s", err, where)
	if detail != "" {
		s += ": " + detail
	}
	return s
}

func (e *EncodeError) Unwrap() error { return e.Err }

// JSONError says what is wrong with atproto JSON given to FromJSON: Offset is
// the byte offset in the input near which the problem was found (for
// structural problems, the end of the offending value), Path is where in the
// document it is.
type JSONError struct {
	Offset int64
	Path   string
	Err    error
	Detail string
}

func (e *JSONError) Error() string {
	s := fmt.Sprintf("atproto json: %v at byte %d", e.Err, e.Offset)
	if e.Path != "" {
		s += " (" + e.Path + ")"
	}
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

func (e *JSONError) Unwrap() error { return e.Err }

func typeName(v any) string { return fmt.Sprintf("%T", v) }
