package dagcbor

import (
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

// cidv1Hex is bafyreidfayvfuwqa7qlnopdjiqrxzs6blmoeu4rujcjtnci5beludirz2a
// (from the interop data-model fixtures) in binary: version 1, dag-cbor,
// sha2-256, 32-byte digest.
const cidv1Hex = "01711220" + "65062a5a5a00fc16d73c6944237ccbc15b1c4a7234489336891d091741a239d0"

// Every strictness rule of the binary form, each pinned by a hand-written
// encoding; Validate and Decode must both reject it with the same sentinel
// at the same offset.
func TestStrictnessRulesRejectedByValidateAndDecode(t *testing.T) {
	cases := []struct {
		name   string
		hex    string
		want   error
		offset int
	}{
		{"empty input", "", ErrTruncated, 0},
		{"non-minimal uint32", "1a0000ffff", ErrNonMinimal, 0},
		{"non-minimal uint64", "1b00000000ffffffff", ErrNonMinimal, 0},
		{"non-minimal negative int", "3800", ErrNonMinimal, 0},
		{"non-minimal text length", "780161", ErrNonMinimal, 0},
		{"non-minimal bytes length", "5801ff", ErrNonMinimal, 0},
		{"non-minimal array length", "9800", ErrNonMinimal, 0},
		{"non-minimal map length", "b800", ErrNonMinimal, 0},
		{"non-minimal map length 16-bit", "b90001616100", ErrNonMinimal, 0},
		{"non-minimal tag 42", "d9002a" + "5825" + "00" + cidv1Hex, ErrNonMinimal, 0},
		{"non-minimal length nested in array", "82007800", ErrNonMinimal, 2},
		{"indefinite text", "7f6161ff", ErrIndefinite, 0},
		{"indefinite bytes", "5f4101ff", ErrIndefinite, 0},
		{"indefinite array", "9f00ff", ErrIndefinite, 0},
		{"break byte alone", "ff", ErrIndefinite, 0},
		{"float32", "fa3f800000", ErrFloat, 0},
		{"float inside map", "a16161f93c00", ErrFloat, 3},
		{"simple value 0", "e0", ErrSimple, 0},
		{"simple value 32 (two-byte form)", "f820", ErrSimple, 0},
		{"undefined in array", "81f7", ErrSimple, 1},
		{"tag 1 (epoch time)", "c100", ErrTag, 0},
		{"tag 43", "d82b40", ErrTag, 0},
		{"tag 42 over text", "d82a6161", ErrBadLink, 0},
		{"tag 42 over integer", "d82a01", ErrBadLink, 0},
		{"tag 42 over empty bytes", "d82a40", ErrBadLink, 0},
		{"tag 42 with only the prefix", "d82a4100", ErrBadLink, 0},
		{"CIDv0 in a link", "d82a5823" + "00" + "1220" + strings.Repeat("ab", 32), ErrBadLink, 0},
		{"CIDv1 without 0x00 prefix", "d82a5824" + cidv1Hex, ErrBadLink, 0},
		{"link with bytes after the CID", "d82a5826" + "00" + cidv1Hex + "00", ErrBadLink, 0},
		{"link with truncated digest", "d82a5824" + "00" + cidv1Hex[:len(cidv1Hex)-2], ErrBadLink, 0},
		{"byte string map key", "a14100f6", ErrMapKey, 1},
		{"integer map key", "a10000", ErrMapKey, 1},
		{"keys same length out of order", "a2616201616101", ErrKeyOrder, 4},
		{"longer key before shorter", "a262616101616201", ErrKeyOrder, 5},
		{"duplicate key", "a2616101616101", ErrDuplicateMapKey, 4},
		{"invalid UTF-8 in key", "a161ff00", ErrUTF8, 1},
		{"overlong UTF-8", "62c0af", ErrUTF8, 0},
		{"UTF-16 surrogate in UTF-8", "63eda080", ErrUTF8, 0},
		{"negative below int64", "3b8000000000000000", ErrIntRange, 0},
		{"unsigned above int64", "1b8000000000000000", ErrIntRange, 0},
		{"truncated map", "a1", ErrTruncated, 0},
		{"truncated text", "6361", ErrTruncated, 0},
		{"truncated array element", "82001901", ErrTruncated, 2},
		{"truncated 64-bit head", "1b0000", ErrTruncated, 0},
		{"declared array length beyond input", "9bffffffffffffffff", ErrTruncated, 0},
		{"reserved additional info 29", "1d", ErrReserved, 0},
		{"reserved additional info 30 in map", "bd", ErrReserved, 0},
		{"trailing byte", "f6f6", ErrTrailing, 1},
		{"nesting one level too deep", strings.Repeat("81", MaxDepth+1) + "80", ErrTooDeep, MaxDepth + 1},
		{"scalar one level too deep", strings.Repeat("81", MaxDepth+1) + "00", ErrTooDeep, MaxDepth + 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, err := hex.DecodeString(c.hex)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range []struct {
				name string
				run  func([]byte) error
			}{
				{"Validate", Validate},
				{"Decode", func(b []byte) error { _, err := Decode(b); return err }},
				{"Unmarshal", func(b []byte) error { var v any; return Unmarshal(b, &v) }},
			} {
				err := f.run(b)
				if !errors.Is(err, c.want) {
					t.Fatalf("%s(%s) = %v, want %v", f.name, c.hex, err, c.want)
				}
				var se *SyntaxError
				if !errors.As(err, &se) {
					t.Fatalf("%s: error %v is not a *SyntaxError", f.name, err)
				}
				if se.Offset != c.offset {
					t.Fatalf("%s: offset %d, want %d (%v)", f.name, se.Offset, c.offset, err)
				}
			}
		})
	}
}

func TestStrictnessBoundariesAccepted(t *testing.T) {
	cases := []struct {
		name string
		hex  string
	}{
		{"deepest allowed nesting", strings.Repeat("81", MaxDepth) + "80"},
		{"deepest allowed scalar", strings.Repeat("81", MaxDepth) + "00"},
		{"int64 min", "3b7fffffffffffffff"},
		{"int64 max", "1b7fffffffffffffff"},
		{"smallest one-byte argument", "1818"},
		{"smallest two-byte argument", "190100"},
		{"smallest four-byte argument", "1a00010000"},
		{"smallest eight-byte argument", "1b0000000100000000"},
		{"24-byte text", "7818" + strings.Repeat("61", 24)},
		{"false true null", "83f4f5f6"},
		{"CIDv1 link", "d82a5825" + "00" + cidv1Hex},
		{"empty key sorts first", "a260006161f6"},
		{"keys length-first", "a3616201626161026361616103"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, err := hex.DecodeString(c.hex)
			if err != nil {
				t.Fatal(err)
			}
			if err := Validate(b); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			v, err := Decode(b)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			out, err := Encode(v)
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			if hex.EncodeToString(out) != c.hex {
				t.Fatalf("Encode(Decode(x)) = %x, want %s", out, c.hex)
			}
		})
	}
}

func TestReaderTypedReadsRejectOtherTypesWithoutConsuming(t *testing.T) {
	cases := []struct {
		name string
		hex  string
		read func(r *Reader) error
	}{
		{"ReadUint on negative", "20", func(r *Reader) error { _, err := r.ReadUint(); return err }},
		{"ReadInt on text", "6161", func(r *Reader) error { _, err := r.ReadInt(); return err }},
		{"ReadBool on null", "f6", func(r *Reader) error { _, err := r.ReadBool(); return err }},
		{"ReadNull on false", "f4", func(r *Reader) error { return r.ReadNull() }},
		{"ReadBytes on text", "6161", func(r *Reader) error { _, err := r.ReadBytes(); return err }},
		{"ReadString on bytes", "4161", func(r *Reader) error { _, err := r.ReadString(); return err }},
		{"ReadMapHeader on array", "80", func(r *Reader) error { _, err := r.ReadMapHeader(); return err }},
		{"ReadArrayHeader on map", "a0", func(r *Reader) error { _, err := r.ReadArrayHeader(); return err }},
		{"ReadLink on bytes", "4100", func(r *Reader) error { _, err := r.ReadLink(); return err }},
		{"ReadNullableLink on false", "f4", func(r *Reader) error { _, _, err := r.ReadNullableLink(); return err }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, _ := hex.DecodeString(c.hex)
			r := NewReader(b)
			err := c.read(r)
			if !errors.Is(err, ErrType) {
				t.Fatalf("err = %v, want ErrType", err)
			}
			if r.Offset() != 0 {
				t.Fatalf("offset %d after a type mismatch, want 0", r.Offset())
			}
			if err := r.Skip(); err != nil {
				t.Fatalf("Skip after mismatch: %v", err)
			}
		})
	}
}

func TestReadNullableLinkReadsNullAndLinks(t *testing.T) {
	b, _ := hex.DecodeString("82f6d82a5825" + "00" + cidv1Hex)
	r := NewReader(b)
	if n, err := r.ReadArrayHeader(); err != nil || n != 2 {
		t.Fatalf("header %d %v", n, err)
	}
	if _, ok, err := r.ReadNullableLink(); ok || err != nil {
		t.Fatalf("null: ok=%v err=%v", ok, err)
	}
	c, ok, err := r.ReadNullableLink()
	if !ok || err != nil || c.String() != "bafyreidfayvfuwqa7qlnopdjiqrxzs6blmoeu4rujcjtnci5beludirz2a" {
		t.Fatalf("link: %s ok=%v err=%v", c, ok, err)
	}
	if err := r.Done(); err != nil {
		t.Fatal(err)
	}
}
