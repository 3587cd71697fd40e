package repo

import (
	"errors"
	"fmt"

	"github.com/arbor-atproto/arbor/dagcbor"
)

// MaxRecordSize is the largest record a repository may hold, in bytes of
// DAG-CBOR: what create accepts (build.MaxRecordSize is this) and what
// Verify allows.
const MaxRecordSize = 1 << 20

// ErrNotARecord: a block the tree holds as a record that is not one: not
// DAG-CBOR, not a map, without a string $type, larger than MaxRecordSize,
// or an MST node or commit.
var ErrNotARecord = errors.New("not a valid record")

// What ReadArchive learnt of a block as a record, kept in its table entry
// (blockEntry.rec). recUnknown is a block not seen (a placeholder) or one
// whose bytes are not trusted (flagBad, bad encoding): its problem is
// reported otherwise.
const (
	recUnknown uint8 = iota
	recOK
	recNotDagCBOR
	recNotMap
	recNoType
	recTypeNotString
	recTooLarge
	recNode
	recCommit
)

// recordState checks a block that passed dagcbor.Validate as a record: a
// map whose $type is a string, at most MaxRecordSize bytes. The block is
// known to be strict DAG-CBOR, so this only walks heads: the keys shorter
// than "$type" (which come first) and their values, then $type's.
func recordState(data []byte) uint8 {
	if len(data) > MaxRecordSize {
		return recTooLarge
	}
	major, n, off, ok := cborHead(data, 0)
	if !ok || major != 5 {
		return recNotMap
	}
	for range n {
		m, klen, koff, ok := cborHead(data, off)
		if !ok || m != 3 || koff+int(klen) > len(data) {
			return recNotMap // not reached after Validate
		}
		key := data[koff : koff+int(klen)]
		off = koff + int(klen)
		if string(key) == "$type" {
			m, tlen, _, ok := cborHead(data, off)
			if !ok || m != 3 || tlen == 0 {
				return recTypeNotString
			}
			return recOK
		}
		if dagcbor.CompareKeys(key, []byte("$type")) > 0 {
			break // keys are sorted: no $type further on
		}
		if off, ok = cborSkip(data, off); !ok {
			return recNotMap
		}
	}
	return recNoType
}

// cborHead reads the head at off of a block known to be valid: major type,
// argument, and where what follows the head starts.
func cborHead(b []byte, off int) (major int, arg uint64, next int, ok bool) {
	if off >= len(b) {
		return 0, 0, 0, false
	}
	major, info := int(b[off]>>5), b[off]&0x1f
	off++
	switch {
	case info < 24:
		return major, uint64(info), off, true
	case info <= 27:
		n := 1 << (info - 24)
		if off+n > len(b) {
			return 0, 0, 0, false
		}
		for _, c := range b[off : off+n] {
			arg = arg<<8 | uint64(c)
		}
		return major, arg, off + n, true
	}
	return 0, 0, 0, false
}

// cborSkip returns where the item at off ends: strings and integers by
// their head, anything else through a Reader.
func cborSkip(b []byte, off int) (int, bool) {
	major, arg, next, ok := cborHead(b, off)
	if !ok {
		return 0, false
	}
	switch major {
	case 0, 1, 7:
		return next, true
	case 2, 3:
		if arg > uint64(len(b)-next) {
			return 0, false
		}
		return next + int(arg), true
	}
	r := dagcbor.NewReader(b[off:])
	if r.Skip() != nil {
		return 0, false
	}
	return off + r.Offset(), true
}

// recordErr says why a block of state st is not a record; nil for recOK
// and recUnknown (nothing to say, or said elsewhere).
func recordErr(st uint8) error {
	var why string
	switch st {
	case recOK, recUnknown:
		return nil
	case recNotDagCBOR:
		why = "not DAG-CBOR"
	case recNotMap:
		why = "not a map"
	case recNoType:
		why = "no $type"
	case recTypeNotString:
		why = "$type is not a non-empty string"
	case recTooLarge:
		why = fmt.Sprintf("larger than %d bytes (1 MiB)", MaxRecordSize)
	case recNode:
		why = "an MST node"
	case recCommit:
		why = "a commit"
	default:
		why = "unknown"
	}
	return fmt.Errorf("%w: %s", ErrNotARecord, why)
}
