package dagcbor

import (
	"encoding/hex"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/arbor-atproto/arbor/internal/testfixtures"
	"github.com/ipfs/go-cid"
)

// Expected encodings are worked out by hand from RFC 8949 and the DAG-CBOR
// spec, not taken from Encode.
func TestEncodeWritesCanonicalForm(t *testing.T) {
	link := testfixtures.CID(t, "bafyreidfayvfuwqa7qlnopdjiqrxzs6blmoeu4rujcjtnci5beludirz2a")
	var nilLink *cid.Cid
	cases := []struct {
		name string
		v    any
		hex  string
	}{
		{"null", nil, "f6"},
		{"true", true, "f5"},
		{"int 0", 0, "00"},
		{"int 23", 23, "17"},
		{"int 24 takes one extra byte", 24, "1818"},
		{"int 255", int64(255), "18ff"},
		{"int 256", int32(256), "190100"},
		{"int 65535", uint16(65535), "19ffff"},
		{"int 65536", 65536, "1a00010000"},
		{"int 2^32-1", uint32(math.MaxUint32), "1affffffff"},
		{"int 2^32", int64(1) << 32, "1b0000000100000000"},
		{"int64 max as uint64", uint64(math.MaxInt64), "1b7fffffffffffffff"},
		{"int -1", -1, "20"},
		{"int -24", int8(-24), "37"},
		{"int -25", -25, "3818"},
		{"int -256", int16(-256), "38ff"},
		{"int -257", -257, "390100"},
		{"int64 min", int64(math.MinInt64), "3b7fffffffffffffff"},
		{"empty string", "", "60"},
		{"unicode string", "水", "63e6b0b4"},
		{"bytes", []byte{1, 2, 3}, "43010203"},
		{"empty bytes", []byte{}, "40"},
		{"link", link, "d82a5825" + "00" + cidv1Hex},
		{"link pointer", &link, "d82a5825" + "00" + cidv1Hex},
		{"nil link pointer is null", nilLink, "f6"},
		{"array", []any{1, "a", nil}, "830161" + "61f6"},
		{"map keys length-first then bytewise", map[string]any{"aaa": 1, "b": 2, "aa": 3, "a": 4},
			"a4" + "616104" + "616202" + "62616103" + "63616161" + "01"},
		{"map keys bytewise within a length", map[string]any{"b": 1, "B": 2, "é": 3},
			"a3" + "614202" + "616201" + "62c3a903"},
		{"empty map", map[string]any{}, "a0"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Encode(c.v)
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			if hex.EncodeToString(got) != c.hex {
				t.Fatalf("Encode = %x, want %s", got, c.hex)
			}
		})
	}
}

func TestEncodeRejectsValuesOutsideTheDataModel(t *testing.T) {
	v0 := testfixtures.CID(t, "QmQg1v4o9xdT3Q14wh4S7dxZkDjyZ9ssFzFzyep1YrVJBY")
	deep := any(1)
	for i := 0; i <= MaxDepth; i++ {
		deep = []any{deep}
	}
	cases := []struct {
		name string
		v    any
		want error
		path string
	}{
		{"float64", 1.5, ErrFloat, "$"},
		{"integral float32", float32(2), ErrFloat, "$"},
		{"uint64 above int64", uint64(1) << 63, ErrIntRange, "$"},
		{"uint above int64", uint(math.MaxUint64), ErrIntRange, "$"},
		{"invalid UTF-8 string", "\xff", ErrUTF8, "$"},
		{"invalid UTF-8 key", map[string]any{"\xff": 1}, ErrUTF8, `$["\xff"]`},
		{"CIDv0", v0, ErrBadLink, "$"},
		{"undefined CID", cid.Undef, ErrBadLink, "$"},
		{"struct", struct{ A int }{1}, ErrUnsupportedType, "$"},
		{"typed map", map[string]string{"a": "b"}, ErrUnsupportedType, "$"},
		{"typed slice", []string{"a"}, ErrUnsupportedType, "$"},
		{"float nested in map and array", map[string]any{"a": []any{0, 0.5}}, ErrFloat, `$["a"][1]`},
		{"too deep", deep, ErrTooDeep, "$" + strings.Repeat("[0]", MaxDepth+1)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Encode(c.v)
			if !errors.Is(err, c.want) {
				t.Fatalf("Encode = %v, want %v", err, c.want)
			}
			var ee *EncodeError
			if !errors.As(err, &ee) {
				t.Fatalf("%v is not an *EncodeError", err)
			}
			if ee.Path != c.path {
				t.Fatalf("path %s, want %s", ee.Path, c.path)
			}
		})
	}
}

func TestEncodeOutputDecodesToEqualValue(t *testing.T) {
	link := testfixtures.CID(t, "bafkreiccldh766hwcnuxnf2wh6jgzepf2nlu2lvcllt63eww5p6chi4ity")
	v := map[string]any{
		"$type": "com.example.thing",
		"n":     int64(-9),
		"list":  []any{true, false, nil, []byte("hi"), link, map[string]any{}},
		"nest":  map[string]any{"x": []any{}},
	}
	b, err := Encode(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := Validate(b); err != nil {
		t.Fatalf("Validate(Encode(v)): %v", err)
	}
	back, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if !dataEqual(v, back) {
		t.Fatalf("Decode(Encode(v)) = %#v, want %#v", back, v)
	}
}

func TestDecodeCopiesBytesRatherThanAliasingInput(t *testing.T) {
	b, _ := hex.DecodeString("43010203")
	v, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	b[1] = 0xff
	if got := v.([]byte); got[0] != 1 {
		t.Fatalf("decoded bytes changed with the input: %x", got)
	}
}
