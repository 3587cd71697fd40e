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
// map whose $type is a string, at most MaxRecordSize bytes.
func recordState(data []byte) uint8 {
	if len(data) > MaxRecordSize {
		return recTooLarge
	}
	r := dagcbor.NewReader(data)
	n, err := r.ReadMapHeader()
	if err != nil {
		return recNotMap
	}
	var prev []byte
	for range n {
		k, err := r.ReadMapKey(prev)
		if err != nil {
			return recNotMap // not reached after Validate
		}
		if string(k) == "$type" {
			t, err := r.ReadTextBytes()
			if err != nil || len(t) == 0 {
				return recTypeNotString
			}
			return recOK
		}
		if dagcbor.CompareKeys(k, []byte("$type")) > 0 {
			break // keys are sorted: no $type further on
		}
		if r.Skip() != nil {
			return recNotMap
		}
		prev = k
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
