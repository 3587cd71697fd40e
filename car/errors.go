package car

import (
	"errors"
	"fmt"

	"github.com/arbor-atproto/arbor/dagcbor"
	"github.com/ipfs/go-cid"
)

// Sentinel errors. Every error returned by a Reader wraps one of them in a
// *HeaderError or a *BlockError that also says where the problem was found,
// so callers can test the kind of problem with errors.Is and the position
// with errors.As. An input that ends inside the header or inside a
// section is dagcbor.ErrTruncated, the one sentinel for truncated input.
var (
	// ErrBadVarint: a length prefix that is not a minimal unsigned varint of
	// at most 9 bytes (63 bits).
	ErrBadVarint = errors.New("malformed varint length")
	// ErrBadHeader: the header is not the DAG-CBOR map {roots: [CIDv1...], version: 1}.
	ErrBadHeader = errors.New("bad header")
	// ErrBlockTooLarge: a section declares more block bytes than the
	// configured maximum (see WithMaxBlockSize).
	ErrBlockTooLarge = errors.New("block too large")
	// ErrBadSection: a section of length zero, or one too short for its CID.
	ErrBadSection = errors.New("malformed section")
	// ErrBadCID: the bytes at the start of a section are not a CID.
	ErrBadCID = errors.New("malformed CID")
	// ErrUnsupportedCID: a well-formed CID that atproto does not use: CIDv0,
	// a hash other than sha2-256 with a 32-byte digest, or a codec other
	// than dag-cbor (0x71) and raw (0x55).
	ErrUnsupportedCID = errors.New("unsupported CID")
	// ErrHashMismatch: the sha2-256 of the block bytes is not the digest in
	// its CID.
	ErrHashMismatch = errors.New("hash mismatch")
	// ErrRootUndefined: NewWriter was given an undefined (zero) root CID.
	ErrRootUndefined = errors.New("undefined root CID")
)

// HeaderError is returned by NewReader when the CAR header cannot be read.
//
// Offset is 0 for a problem with the header's length prefix, the offset of
// the offending DAG-CBOR item for a problem with its content, and the offset
// where the input ends for a truncated header.
type HeaderError struct {
	Offset int64  // byte offset in the input, see above
	Err    error  // one of the sentinel errors above
	Detail string // human-readable specifics, may be empty
	Cause  error  // underlying error (for example a *dagcbor.SyntaxError), may be nil
}

func (e *HeaderError) Error() string {
	msg := fmt.Sprintf("car: header at byte %d: %v", e.Offset, e.Err)
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	var se *dagcbor.SyntaxError
	switch {
	case errors.As(e.Cause, &se):
		// Offset already says where; the syntax error's own offset is
		// relative to the header bytes and would only confuse.
		msg += ": " + se.Err.Error()
		if se.Detail != "" {
			msg += ": " + se.Detail
		}
	case e.Cause != nil:
		msg += ": " + e.Cause.Error()
	}
	return msg
}

// Unwrap returns the sentinel and, if set, the underlying cause.
func (e *HeaderError) Unwrap() []error {
	if e.Cause != nil {
		return []error{e.Err, e.Cause}
	}
	return []error{e.Err}
}

// BlockError is returned by Reader.Next (and by Writer.Put) for a problem
// with one section of the file.
type BlockError struct {
	Offset int64   // byte offset of the section start (its length varint)
	CID    cid.Cid // the block's CID, or cid.Undef if it could not be read
	Err    error   // one of the sentinel errors above
	Detail string  // human-readable specifics, may be empty
}

func (e *BlockError) Error() string {
	var msg string
	if e.CID.Defined() {
		msg = fmt.Sprintf("car: block %s at byte %d: %v", e.CID, e.Offset, e.Err)
	} else {
		msg = fmt.Sprintf("car: section at byte %d: %v", e.Offset, e.Err)
	}
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	return msg
}

func (e *BlockError) Unwrap() error { return e.Err }
