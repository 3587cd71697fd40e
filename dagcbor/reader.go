package dagcbor

import (
	"bytes"
	"encoding/binary"
	"math"
	"unicode/utf8"

	"github.com/ipfs/go-cid"
)

// Major types of CBOR.
const (
	MajorUint   = 0
	MajorNegInt = 1
	MajorBytes  = 2
	MajorText   = 3
	MajorArray  = 4
	MajorMap    = 5
	MajorTag    = 6
	MajorSimple = 7
)

// TagLink is the only CBOR tag DAG-CBOR allows: a CID.
const TagLink = 42

// Reader reads strict DAG-CBOR items from a byte slice, one primitive at a
// time. It is the building block of typed decoders (MST nodes, commits) that
// want a single pass without building generic values. Every method enforces
// the DAG-CBOR rules for the item it reads; typed decoders must check map key
// order themselves with ReadMapKey.
//
// Slices returned by ReadBytes and ReadMapKey alias the input.
type Reader struct {
	buf []byte
	off int
}

// NewReader returns a Reader over b.
func NewReader(b []byte) *Reader { return &Reader{buf: b} }

// Offset is the position of the next unread byte.
func (r *Reader) Offset() int { return r.off }

// Done returns ErrTrailing unless every byte has been read.
func (r *Reader) Done() error {
	if r.off != len(r.buf) {
		return errAt(r.off, ErrTrailing, "")
	}
	return nil
}

// PeekMajor returns the major type of the next item without consuming it.
func (r *Reader) PeekMajor() (int, error) {
	if r.off >= len(r.buf) {
		return 0, errAt(r.off, ErrTruncated, "")
	}
	return int(r.buf[r.off] >> 5), nil
}

// PeekNull reports whether the next item is null.
func (r *Reader) PeekNull() bool {
	return r.off < len(r.buf) && r.buf[r.off] == 0xf6
}

// head reads an item head: its major type and argument, checking that the
// argument is minimally encoded and not indefinite.
func (r *Reader) head() (major int, arg uint64, start int, err error) {
	start = r.off
	if r.off >= len(r.buf) {
		return 0, 0, start, errAt(start, ErrTruncated, "")
	}
	b := r.buf[r.off]
	major = int(b >> 5)
	ai := b & 0x1f
	r.off++
	switch {
	case ai < 24:
		return major, uint64(ai), start, nil
	case ai == 24:
		if r.off+1 > len(r.buf) {
			return 0, 0, start, errAt(start, ErrTruncated, "")
		}
		arg = uint64(r.buf[r.off])
		r.off++
		if major == MajorSimple {
			return major, arg, start, errAt(start, ErrSimple, "")
		}
		if arg < 24 {
			return major, arg, start, errAt(start, ErrNonMinimal, "")
		}
	case ai == 25:
		if r.off+2 > len(r.buf) {
			return 0, 0, start, errAt(start, ErrTruncated, "")
		}
		arg = uint64(r.buf[r.off])<<8 | uint64(r.buf[r.off+1])
		r.off += 2
		if major == MajorSimple {
			return major, arg, start, errAt(start, ErrFloat, "")
		}
		if arg <= math.MaxUint8 {
			return major, arg, start, errAt(start, ErrNonMinimal, "")
		}
	case ai == 26:
		if r.off+4 > len(r.buf) {
			return 0, 0, start, errAt(start, ErrTruncated, "")
		}
		p := r.buf[r.off:]
		arg = uint64(p[0])<<24 | uint64(p[1])<<16 | uint64(p[2])<<8 | uint64(p[3])
		r.off += 4
		if major == MajorSimple {
			return major, arg, start, errAt(start, ErrFloat, "")
		}
		if arg <= math.MaxUint16 {
			return major, arg, start, errAt(start, ErrNonMinimal, "")
		}
	case ai == 27:
		if r.off+8 > len(r.buf) {
			return 0, 0, start, errAt(start, ErrTruncated, "")
		}
		p := r.buf[r.off:]
		arg = uint64(p[0])<<56 | uint64(p[1])<<48 | uint64(p[2])<<40 | uint64(p[3])<<32 |
			uint64(p[4])<<24 | uint64(p[5])<<16 | uint64(p[6])<<8 | uint64(p[7])
		r.off += 8
		if major == MajorSimple {
			return major, arg, start, errAt(start, ErrFloat, "")
		}
		if arg <= math.MaxUint32 {
			return major, arg, start, errAt(start, ErrNonMinimal, "")
		}
	case ai == 31:
		return major, 0, start, errAt(start, ErrIndefinite, "")
	default:
		return major, 0, start, errAt(start, ErrReserved, "")
	}
	return major, arg, start, nil
}

// length reads a head of the given major type and returns its length, which
// must fit in what is left of the input (each element takes at least a byte),
// so that a declared length of 4 GB fails at once instead of allocating.
func (r *Reader) length(want int) (int, int, error) {
	major, arg, start, err := r.head()
	if err != nil {
		return 0, start, err
	}
	if major != want {
		r.off = start
		return 0, start, errAt(start, ErrType, "expected "+majorName(want)+", found "+majorName(major))
	}
	if arg > uint64(len(r.buf)-r.off) {
		return 0, start, errAt(start, ErrTruncated, "declared length exceeds input")
	}
	return int(arg), start, nil
}

// ReadMapHeader reads a map head and returns its number of pairs.
func (r *Reader) ReadMapHeader() (int, error) {
	n, _, err := r.length(MajorMap)
	return n, err
}

// ReadArrayHeader reads an array head and returns its number of elements.
func (r *Reader) ReadArrayHeader() (int, error) {
	n, _, err := r.length(MajorArray)
	return n, err
}

// ReadBytes reads a byte string. The result aliases the input.
func (r *Reader) ReadBytes() ([]byte, error) {
	n, _, err := r.length(MajorBytes)
	if err != nil {
		return nil, err
	}
	b := r.buf[r.off : r.off+n : r.off+n]
	r.off += n
	return b, nil
}

// ReadTextBytes reads a text string, checks that it is valid UTF-8, and
// returns its bytes (aliasing the input).
func (r *Reader) ReadTextBytes() ([]byte, error) {
	n, start, err := r.length(MajorText)
	if err != nil {
		return nil, err
	}
	b := r.buf[r.off : r.off+n : r.off+n]
	if !validUTF8(b) {
		return nil, errAt(start, ErrUTF8, "")
	}
	r.off += n
	return b, nil
}

// ReadString reads a text string.
func (r *Reader) ReadString() (string, error) {
	b, err := r.ReadTextBytes()
	return string(b), err
}

// ReadMapKey reads a map key and checks that it sorts strictly after prev in
// DAG-CBOR order. Pass nil as prev for the first key of a map.
func (r *Reader) ReadMapKey(prev []byte) ([]byte, error) {
	start := r.off
	// Fast path: a short key in order after prev.
	if r.off < len(r.buf) {
		if c := r.buf[r.off]; c>>5 == MajorText && c&0x1f < 24 {
			end := r.off + 1 + int(c&0x1f)
			if end <= len(r.buf) {
				k := r.buf[r.off+1 : end : end]
				if validUTF8(k) && (prev == nil || CompareKeys(prev, k) < 0) {
					r.off = end
					return k, nil
				}
			}
		}
	}
	if m, err := r.PeekMajor(); err != nil {
		return nil, err
	} else if m != MajorText {
		return nil, errAt(start, ErrMapKey, "found "+majorName(m))
	}
	k, err := r.ReadTextBytes()
	if err != nil {
		return nil, err
	}
	if prev != nil {
		switch c := CompareKeys(prev, k); {
		case c == 0:
			return nil, errAt(start, ErrDuplicateMapKey, string(k))
		case c > 0:
			return nil, errAt(start, ErrKeyOrder, "\""+string(k)+"\" after \""+string(prev)+"\"")
		}
	}
	return k, nil
}

// CompareKeys orders map keys the DAG-CBOR way: shorter keys first, then
// bytewise. It returns -1, 0 or 1.
func CompareKeys(a, b []byte) int {
	if len(a) != len(b) {
		if len(a) < len(b) {
			return -1
		}
		return 1
	}
	return bytes.Compare(a, b)
}

// ReadUint reads a non-negative integer.
func (r *Reader) ReadUint() (uint64, error) {
	major, arg, start, err := r.head()
	if err != nil {
		return 0, err
	}
	if major != MajorUint {
		r.off = start
		return 0, errAt(start, ErrType, "expected unsigned integer, found "+majorName(major))
	}
	if arg > math.MaxInt64 {
		return 0, errAt(start, ErrIntRange, "")
	}
	return arg, nil
}

// ReadInt reads a signed integer.
func (r *Reader) ReadInt() (int64, error) {
	major, arg, start, err := r.head()
	if err != nil {
		return 0, err
	}
	switch major {
	case MajorUint:
		if arg > math.MaxInt64 {
			return 0, errAt(start, ErrIntRange, "")
		}
		return int64(arg), nil
	case MajorNegInt:
		if arg > math.MaxInt64 {
			return 0, errAt(start, ErrIntRange, "")
		}
		return -1 - int64(arg), nil
	}
	r.off = start
	return 0, errAt(start, ErrType, "expected integer, found "+majorName(major))
}

// ReadBool reads true or false.
func (r *Reader) ReadBool() (bool, error) {
	if r.off >= len(r.buf) {
		return false, errAt(r.off, ErrTruncated, "")
	}
	switch r.buf[r.off] {
	case 0xf4:
		r.off++
		return false, nil
	case 0xf5:
		r.off++
		return true, nil
	}
	return false, errAt(r.off, ErrType, "expected boolean")
}

// ReadNull reads null.
func (r *Reader) ReadNull() error {
	if r.off >= len(r.buf) {
		return errAt(r.off, ErrTruncated, "")
	}
	if r.buf[r.off] != 0xf6 {
		return errAt(r.off, ErrType, "expected null")
	}
	r.off++
	return nil
}

// ReadLink reads a tag-42 CID link.
func (r *Reader) ReadLink() (cid.Cid, error) {
	major, arg, start, err := r.head()
	if err != nil {
		return cid.Undef, err
	}
	if major != MajorTag {
		r.off = start
		return cid.Undef, errAt(start, ErrType, "expected CID link, found "+majorName(major))
	}
	if arg != TagLink {
		return cid.Undef, errAt(start, ErrTag, tagDetail(arg))
	}
	return r.linkBody(start)
}

// ReadNullableLink reads a CID link or null; ok is false for null.
func (r *Reader) ReadNullableLink() (c cid.Cid, ok bool, err error) {
	if r.PeekNull() {
		r.off++
		return cid.Undef, false, nil
	}
	c, err = r.ReadLink()
	return c, err == nil, err
}

func (r *Reader) linkBody(start int) (cid.Cid, error) {
	if m, err := r.PeekMajor(); err != nil {
		return cid.Undef, err
	} else if m != MajorBytes {
		return cid.Undef, errAt(start, ErrBadLink, "tag 42 content is not a byte string")
	}
	b, err := r.ReadBytes()
	if err != nil {
		return cid.Undef, err
	}
	return parseLinkBytes(b, start)
}

func parseLinkBytes(b []byte, start int) (cid.Cid, error) {
	if len(b) < 2 || b[0] != 0x00 {
		return cid.Undef, errAt(start, ErrBadLink, "missing 0x00 multibase prefix")
	}
	if b[1] != 0x01 {
		return cid.Undef, errAt(start, ErrBadLink, "not a CIDv1")
	}
	c, err := cid.Cast(b[1:])
	if err != nil {
		return cid.Undef, errAt(start, ErrBadLink, err.Error())
	}
	return c, nil
}

// ReadLinkBytes reads a CID link as ReadLink does, with the same checks
// and errors, and returns the CID's binary form (aliasing the input)
// without building a cid.Cid, so without allocating.
func (r *Reader) ReadLinkBytes() ([]byte, error) {
	major, arg, start, err := r.head()
	if err != nil {
		return nil, err
	}
	if major != MajorTag {
		r.off = start
		return nil, errAt(start, ErrType, "expected CID link, found "+majorName(major))
	}
	if arg != TagLink {
		return nil, errAt(start, ErrTag, tagDetail(arg))
	}
	if m, err := r.PeekMajor(); err != nil {
		return nil, err
	} else if m != MajorBytes {
		return nil, errAt(start, ErrBadLink, "tag 42 content is not a byte string")
	}
	b, err := r.ReadBytes()
	if err != nil {
		return nil, err
	}
	if len(b) < 2 || b[0] != 0x00 {
		return nil, errAt(start, ErrBadLink, "missing 0x00 multibase prefix")
	}
	if b[1] != 0x01 {
		return nil, errAt(start, ErrBadLink, "not a CIDv1")
	}
	if !wellFormedCIDv1(b[2:]) {
		// Let go-cid say what is wrong; this path is rare.
		_, err := parseLinkBytes(b, start)
		if err == nil {
			err = errAt(start, ErrBadLink, "malformed CID")
		}
		return nil, err
	}
	return b[1:], nil
}

// ReadNullableLinkBytes reads a CID link or null as ReadNullableLink does;
// it returns nil for null, else the CID's binary form (see ReadLinkBytes).
func (r *Reader) ReadNullableLinkBytes() ([]byte, error) {
	if r.PeekNull() {
		r.off++
		return nil, nil
	}
	return r.ReadLinkBytes()
}

// skipLink checks a tag-42 link like ReadLink does, without allocating.
func (r *Reader) skipLink() error {
	_, err := r.ReadLinkBytes()
	return err
}

// wellFormedCIDv1 checks what go-cid's Cast checks for a CIDv1 after its
// version byte: a codec varint, then a multihash (code varint, length
// varint, exactly that many digest bytes) that ends the input. Varints must
// be minimal and at most 9 bytes, as go-varint requires.
func wellFormedCIDv1(b []byte) bool {
	_, n := minimalUvarint(b)
	if n <= 0 {
		return false
	}
	b = b[n:]
	if len(b) < 2 {
		return false
	}
	_, n = minimalUvarint(b)
	if n <= 0 {
		return false
	}
	b = b[n:]
	l, n := minimalUvarint(b)
	if n <= 0 {
		return false
	}
	return uint64(len(b)-n) == l
}

// minimalUvarint decodes an unsigned LEB128 varint, returning n <= 0 when it
// is truncated, longer than 9 bytes or not minimal.
func minimalUvarint(b []byte) (uint64, int) {
	var x uint64
	for i := 0; i < len(b) && i < 9; i++ {
		c := b[i]
		x |= uint64(c&0x7f) << (7 * i)
		if c < 0x80 {
			if c == 0 && i > 0 {
				return 0, -1
			}
			return x, i + 1
		}
	}
	return 0, -1
}

// Skip reads and discards one complete item, enforcing every DAG-CBOR rule
// inside it (including map key order).
func (r *Reader) Skip() error { return r.skip(0) }

func (r *Reader) skip(depth int) error {
	if depth > MaxDepth {
		return errAt(r.off, ErrTooDeep, "")
	}
	// Fast paths for the commonest items, short strings and small
	// integers; anything unusual falls through to the general code, which
	// also produces the errors.
	if r.off < len(r.buf) {
		c := r.buf[r.off]
		if c < 24 || (c >= 0x20 && c < 0x20+24) {
			r.off++
			return nil
		}
		if c>>5 == MajorText && c&0x1f < 24 {
			end := r.off + 1 + int(c&0x1f)
			if end <= len(r.buf) && validUTF8(r.buf[r.off+1:end]) {
				r.off = end
				return nil
			}
		}
	}
	major, err := r.PeekMajor()
	if err != nil {
		return err
	}
	switch major {
	case MajorUint, MajorNegInt:
		_, err = r.ReadInt()
		return err
	case MajorBytes:
		_, err = r.ReadBytes()
		return err
	case MajorText:
		_, err = r.ReadTextBytes()
		return err
	case MajorArray:
		n, err := r.ReadArrayHeader()
		if err != nil {
			return err
		}
		for i := 0; i < n; i++ {
			if err := r.skip(depth + 1); err != nil {
				return err
			}
		}
		return nil
	case MajorMap:
		n, err := r.ReadMapHeader()
		if err != nil {
			return err
		}
		var prev []byte
		for i := 0; i < n; i++ {
			k, err := r.ReadMapKey(prev)
			if err != nil {
				return err
			}
			prev = k
			if err := r.skip(depth + 1); err != nil {
				return err
			}
		}
		return nil
	case MajorTag:
		return r.skipLink()
	default: // MajorSimple
		switch r.buf[r.off] {
		case 0xf4, 0xf5, 0xf6:
			r.off++
			return nil
		}
		return r.badSimple()
	}
}

// badSimple reports the simple value or float at the read position, which
// is not false, true or null: the head's own fault (a float, a reserved or
// non-minimal head, truncation) when it has one, else ErrSimple. skip and
// decodeValue both end here, so they refuse such items alike.
func (r *Reader) badSimple() error {
	start := r.off
	if _, _, _, err := r.head(); err != nil {
		return err
	}
	return errAt(start, ErrSimple, "")
}

// Validate checks that b is exactly one DAG-CBOR item that obeys every rule
// of the atproto data model's binary form. It allocates nothing for valid
// input.
func Validate(b []byte) error {
	r := Reader{buf: b}
	if err := r.skip(0); err != nil {
		return err
	}
	return r.Done()
}

func majorName(m int) string {
	switch m {
	case MajorUint:
		return "unsigned integer"
	case MajorNegInt:
		return "negative integer"
	case MajorBytes:
		return "byte string"
	case MajorText:
		return "text string"
	case MajorArray:
		return "array"
	case MajorMap:
		return "map"
	case MajorTag:
		return "tag"
	}
	return "simple value or float"
}

func tagDetail(t uint64) string {
	const digits = "0123456789"
	if t == 0 {
		return "tag 0"
	}
	var b []byte
	for t > 0 {
		b = append([]byte{digits[t%10]}, b...)
		t /= 10
	}
	return "tag " + string(b)
}

// validUTF8 is utf8.Valid with a quicker path for the ASCII strings (map
// keys, identifiers, most text) that make up most of a record: eight bytes
// are looked at a time, and utf8.Valid takes over from the first word that
// has a byte of 0x80 or more.
func validUTF8(b []byte) bool {
	for len(b) >= 8 {
		if binary.LittleEndian.Uint64(b)&0x8080808080808080 != 0 {
			return utf8.Valid(b)
		}
		b = b[8:]
	}
	for i, c := range b {
		if c >= 0x80 {
			return utf8.Valid(b[i:])
		}
	}
	return true
}
