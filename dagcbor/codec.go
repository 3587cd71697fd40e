package dagcbor

import (
	"bytes"
	"fmt"
	"math"
	"reflect"

	"github.com/fxamacker/cbor/v2"
	"github.com/ipfs/go-cid"
)

// The reflection-based codec: fxamacker/cbor configured for DAG-CBOR.
//
// fxamacker knows nothing of CIDs. We register cid.Cid as the content type of
// tag 42, so it is written through cid.Cid's MarshalBinary and read through
// UnmarshalBinary, which means the tag content lacks the 0x00 multibase
// prefix DAG-CBOR requires. Marshal and Unmarshal therefore pass the bytes
// through relink, which adds or strips that one byte inside every tag 42.
// Array and map heads count items, not bytes, so only the byte-string head
// of each link changes.

// codecModes holds the immutable, built-once fxamacker modes.
type codecModes struct {
	enc cbor.EncMode
	dec cbor.DecMode
}

var modes = mustBuildModes()

func mustBuildModes() codecModes {
	tags := cbor.NewTagSet()
	if err := tags.Add(cbor.TagOptions{EncTag: cbor.EncTagRequired, DecTag: cbor.DecTagRequired},
		reflect.TypeOf(cid.Cid{}), TagLink); err != nil {
		panic("dagcbor: registering tag 42: " + err.Error())
	}
	enc, err := cbor.EncOptions{
		Sort:          cbor.SortLengthFirst,
		IndefLength:   cbor.IndefLengthForbidden,
		NilContainers: cbor.NilContainerAsNull,
		BigIntConvert: cbor.BigIntConvertReject,
		Time:          cbor.TimeRFC3339Nano,
		String:        cbor.StringToTextString,
		ByteArray:     cbor.ByteArrayToByteSlice,
	}.EncModeWithTags(tags)
	if err != nil {
		panic("dagcbor: building the encoding mode: " + err.Error())
	}
	dec, err := cbor.DecOptions{
		DupMapKey:         cbor.DupMapKeyEnforcedAPF,
		IndefLength:       cbor.IndefLengthForbidden,
		TagsMd:            cbor.TagsAllowed,
		IntDec:            cbor.IntDecConvertSigned,
		MapKeyByteString:  cbor.MapKeyByteStringForbidden,
		MaxNestedLevels:   4 * MaxDepth,
		MaxArrayElements:  math.MaxInt32,
		MaxMapPairs:       math.MaxInt32,
		DefaultMapType:    reflect.TypeOf(map[string]any(nil)),
		UTF8:              cbor.UTF8RejectInvalid,
		FieldNameMatching: cbor.FieldNameMatchingCaseSensitive,
		BigIntDec:         cbor.BigIntDecodePointer,
	}.DecModeWithTags(tags)
	if err != nil {
		panic("dagcbor: building the decoding mode: " + err.Error())
	}
	return codecModes{enc: enc, dec: dec}
}

// Marshal encodes a Go value (typically a struct with `cbor:"name"` field
// tags) as canonical DAG-CBOR using fxamacker/cbor. cid.Cid fields become
// tag 42 links; nil *cid.Cid fields become null (or are left out with
// omitempty). The output is checked with Validate, so values outside the data
// model (floats, integers beyond int64, undefined or CIDv0 links) are
// rejected with the *SyntaxError Validate found in the would-be output.
func Marshal(v any) ([]byte, error) {
	b, err := modes.enc.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("dag-cbor: marshal %T: %w", v, err)
	}
	if b, err = relink(b, true); err != nil {
		return nil, fmt.Errorf("dag-cbor: marshal %T: %w", v, err)
	}
	if err := Validate(b); err != nil {
		return nil, fmt.Errorf("dag-cbor: marshal %T: value is outside the data model: %w", v, err)
	}
	return b, nil
}

// Unmarshal decodes DAG-CBOR into v (a non-nil pointer) using fxamacker/cbor.
// b is first checked with Validate, so every strictness rule holds and a
// *SyntaxError with the byte offset is returned for bad input; type
// mismatches between the data and v are reported by fxamacker (wrapped).
// Inside `any` targets, maps decode as map[string]any, integers as int64 and
// links as cid.Cid, as with Decode.
func Unmarshal(b []byte, v any) error {
	if err := Validate(b); err != nil {
		return err
	}
	nb, err := relink(b, false)
	if err != nil {
		return err
	}
	if err := modes.dec.Unmarshal(nb, v); err != nil {
		return fmt.Errorf("dag-cbor: unmarshal into %T: %w", v, err)
	}
	return nil
}

var tag42 = []byte{0xd8, TagLink}

// relink copies src, adding (add) or removing the 0x00 prefix of the byte
// string inside every tag 42. src must be well-formed definite-length CBOR
// (fxamacker output, or input that passed Validate); anything else is
// reported as a *SyntaxError rather than trusted.
func relink(src []byte, add bool) ([]byte, error) {
	if !bytes.Contains(src, tag42) {
		return src, nil
	}
	rw := relinker{src: src, add: add, out: Writer{buf: make([]byte, 0, len(src)+64)}}
	if err := rw.item(0); err != nil {
		return nil, err
	}
	if rw.off != len(src) {
		return nil, errAt(rw.off, ErrTrailing, "")
	}
	return rw.out.buf, nil
}

type relinker struct {
	src []byte
	off int
	add bool
	out Writer
}

// rawHead parses any item head without DAG-CBOR checks (floats are heads
// whose argument is the value).
func (rw *relinker) rawHead() (major byte, arg uint64, n int, err error) {
	if rw.off >= len(rw.src) {
		return 0, 0, 0, errAt(rw.off, ErrTruncated, "")
	}
	b := rw.src[rw.off]
	major, ai := b>>5, b&0x1f
	size := 0
	switch {
	case ai < 24:
		return major, uint64(ai), 1, nil
	case ai == 24:
		size = 1
	case ai == 25:
		size = 2
	case ai == 26:
		size = 4
	case ai == 27:
		size = 8
	case ai == 31:
		return 0, 0, 0, errAt(rw.off, ErrIndefinite, "")
	default:
		return 0, 0, 0, errAt(rw.off, ErrReserved, "")
	}
	if len(rw.src)-rw.off-1 < size {
		return 0, 0, 0, errAt(rw.off, ErrTruncated, "")
	}
	for _, c := range rw.src[rw.off+1 : rw.off+1+size] {
		arg = arg<<8 | uint64(c)
	}
	return major, arg, 1 + size, nil
}

func (rw *relinker) item(depth int) error {
	if depth > MaxDepth+1 {
		return errAt(rw.off, ErrTooDeep, "")
	}
	start := rw.off
	major, arg, n, err := rw.rawHead()
	if err != nil {
		return err
	}
	rw.off += n
	switch major {
	case MajorBytes, MajorText:
		if arg > uint64(len(rw.src)-rw.off) {
			return errAt(start, ErrTruncated, "declared length exceeds input")
		}
		rw.off += int(arg)
		rw.out.buf = append(rw.out.buf, rw.src[start:rw.off]...)
	case MajorArray, MajorMap:
		if arg > uint64(len(rw.src)-rw.off) {
			return errAt(start, ErrTruncated, "declared length exceeds input")
		}
		count := int(arg)
		if major == MajorMap {
			count *= 2
		}
		rw.out.buf = append(rw.out.buf, rw.src[start:rw.off]...)
		for i := 0; i < count; i++ {
			if err := rw.item(depth + 1); err != nil {
				return err
			}
		}
	case MajorTag:
		if arg == TagLink {
			return rw.link(start)
		}
		rw.out.buf = append(rw.out.buf, rw.src[start:rw.off]...)
		return rw.item(depth + 1)
	default: // integers, simple values, floats: the head is the whole item
		rw.out.buf = append(rw.out.buf, rw.src[start:rw.off]...)
	}
	return nil
}

func (rw *relinker) link(start int) error {
	bstart := rw.off
	major, arg, n, err := rw.rawHead()
	if err != nil {
		return err
	}
	if major != MajorBytes {
		return errAt(start, ErrBadLink, "tag 42 content is not a byte string")
	}
	rw.off += n
	if arg > uint64(len(rw.src)-rw.off) {
		return errAt(bstart, ErrTruncated, "declared length exceeds input")
	}
	p := rw.src[rw.off : rw.off+int(arg)]
	rw.off += int(arg)
	rw.out.buf = append(rw.out.buf, tag42...)
	if rw.add {
		rw.out.head(MajorBytes, uint64(len(p))+1)
		rw.out.buf = append(rw.out.buf, 0x00)
	} else {
		if len(p) == 0 || p[0] != 0x00 {
			return errAt(start, ErrBadLink, "missing 0x00 multibase prefix")
		}
		p = p[1:]
		rw.out.head(MajorBytes, uint64(len(p)))
	}
	rw.out.buf = append(rw.out.buf, p...)
	return nil
}
