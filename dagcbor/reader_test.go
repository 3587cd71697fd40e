package dagcbor

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"
	"unicode/utf8"
)

func TestValidateRejects(t *testing.T) {
	cases := []struct {
		name string
		hex  string
		want error
	}{
		{"truncated uint16", "19ff", ErrTruncated},
		{"non-minimal uint8", "1817", ErrNonMinimal},
		{"non-minimal uint16", "1900ff", ErrNonMinimal},
		{"indefinite map", "bfff", ErrIndefinite},
		{"float64", "fb3ff0000000000000", ErrFloat},
		{"float16", "f93c00", ErrFloat},
		{"undefined", "f7", ErrSimple},
		{"tag 0", "c06161", ErrTag},
		{"int key", "a10101", ErrMapKey},
		{"keys out of order", "a2616201616101", ErrKeyOrder},
		{"longer key first", "a262616101616201", ErrKeyOrder},
		{"duplicate key", "a2616101616101", ErrDuplicateMapKey},
		{"bad utf8", "61ff", ErrUTF8},
		{"link without 0x00", "d82a4101", ErrBadLink},
		{"huge declared length", "5affffffff00", ErrTruncated},
		{"trailing", "0000", ErrTrailing},
		{"uint above int64", "1bffffffffffffffff", ErrIntRange},
		{"reserved ai", "1c", ErrReserved},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, err := hex.DecodeString(c.hex)
			if err != nil {
				t.Fatal(err)
			}
			err = Validate(b)
			if !errors.Is(err, c.want) {
				t.Fatalf("Validate(%s) = %v, want %v", c.hex, err, c.want)
			}
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("error %v is not a *SyntaxError", err)
			}
		})
	}
}

func TestWriterRoundTripsThroughReader(t *testing.T) {
	w := NewWriter(nil)
	w.WriteMapHeader(3)
	w.WriteString("a")
	w.WriteInt(-500)
	w.WriteString("bb")
	w.WriteLink(SumCID(CodecDagCBOR, []byte{0xa0}))
	w.WriteString("ccc")
	w.WriteArrayHeader(2)
	w.WriteUint(1 << 40)
	w.WriteNull()
	if err := Validate(w.Bytes()); err != nil {
		t.Fatalf("writer output does not validate: %v", err)
	}
	r := NewReader(w.Bytes())
	n, err := r.ReadMapHeader()
	if err != nil || n != 3 {
		t.Fatalf("map header %d %v", n, err)
	}
	k, _ := r.ReadMapKey(nil)
	if i, err := r.ReadInt(); err != nil || i != -500 {
		t.Fatalf("int %d %v", i, err)
	}
	k, _ = r.ReadMapKey(k)
	c, err := r.ReadLink()
	if err != nil || c != SumCID(CodecDagCBOR, []byte{0xa0}) {
		t.Fatalf("link %s %v", c, err)
	}
	if _, err := r.ReadMapKey(k); err != nil {
		t.Fatal(err)
	}
	if err := r.Skip(); err != nil {
		t.Fatal(err)
	}
	if err := r.Done(); err != nil {
		t.Fatal(err)
	}
}

// validUTF8 decides as utf8.Valid does, wherever in the string, at any
// length around its eight-byte steps, a non-ASCII byte falls.
func TestValidUTF8AgreesWithTheStandardLibrary(t *testing.T) {
	bad := [][]byte{{0x80}, {0xff}, {0xc3}, {0xe2, 0x82}, {0xed, 0xa0, 0x80}, {0xf4, 0x90, 0x80, 0x80}}
	good := [][]byte{[]byte("é"), []byte("€"), []byte("😀")}
	for n := 0; n <= 40; n++ {
		for at := 0; at <= n; at++ {
			for _, ins := range append(bad, good...) {
				b := append(append(bytes.Repeat([]byte("a"), at), ins...), bytes.Repeat([]byte("z"), n-at)...)
				if got, want := validUTF8(b), utf8.Valid(b); got != want {
					t.Fatalf("validUTF8(%q) = %v, utf8.Valid says %v", b, got, want)
				}
			}
		}
		if b := bytes.Repeat([]byte("k"), n); !validUTF8(b) {
			t.Fatalf("validUTF8 refuses %d ASCII bytes", n)
		}
	}
}
