package archive

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
	major, n, off, ok := dagcbor.ValidatedHead(data, 0)
	if !ok || major != dagcbor.MajorMap {
		return recNotMap
	}
	for range n {
		m, klen, koff, ok := dagcbor.ValidatedHead(data, off)
		if !ok || m != dagcbor.MajorText || koff+int(klen) > len(data) {
			return recNotMap // not reached after Validate
		}
		key := data[koff : koff+int(klen)]
		off = koff + int(klen)
		if string(key) == "$type" {
			m, tlen, _, ok := dagcbor.ValidatedHead(data, off)
			if !ok || m != dagcbor.MajorText || tlen == 0 {
				return recTypeNotString
			}
			return recOK
		}
		if dagcbor.CompareKeys(key, []byte("$type")) > 0 {
			break // keys are sorted: no $type further on
		}
		if off, ok = dagcbor.ValidatedSkip(data, off); !ok {
			return recNotMap
		}
	}
	return recNoType
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
