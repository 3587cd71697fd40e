package dagcbor

import (
	"errors"
	"strings"
	"testing"

	"github.com/arbor-atproto/arbor/internal/testfixtures"
)

func TestToJSONRendersAtprotoForm(t *testing.T) {
	link := testfixtures.CID(t, "bafyreidfayvfuwqa7qlnopdjiqrxzs6blmoeu4rujcjtnci5beludirz2a")
	cases := []struct {
		name string
		v    any
		want string
	}{
		{"scalars", []any{nil, true, false, int64(-7), uint8(8)}, `[null,true,false,-7,8]`},
		{"bytes as unpadded base64", []byte{1, 2, 3, 4}, `{"$bytes":"AQIDBA"}`},
		{"empty bytes", []byte{}, `{"$bytes":""}`},
		{"link", link, `{"$link":"bafyreidfayvfuwqa7qlnopdjiqrxzs6blmoeu4rujcjtnci5beludirz2a"}`},
		{"keys sorted bytewise", map[string]any{"b": 1, "aa": 2, "B": 3}, `{"B":3,"aa":2,"b":1}`},
		{"escapes", "q\"b\\n\n\t\x01<>&\u2028é", `"q\"b\\n\n\t\u0001<>&\u2028é"`},
		{"int64 extremes", []any{int64(-9223372036854775808), int64(9223372036854775807)}, `[-9223372036854775808,9223372036854775807]`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ToJSON(c.v)
			if err != nil {
				t.Fatalf("ToJSON: %v", err)
			}
			if string(got) != c.want {
				t.Fatalf("ToJSON = %s, want %s", got, c.want)
			}
		})
	}
}

func TestToJSONIndentIndentsNestedValues(t *testing.T) {
	got, err := ToJSONIndent(map[string]any{"a": []any{1}, "b": map[string]any{}}, "  ")
	if err != nil {
		t.Fatal(err)
	}
	want := "{\n  \"a\": [\n    1\n  ],\n  \"b\": {}\n}"
	if string(got) != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}

func TestToJSONRejectsUnrepresentableValues(t *testing.T) {
	cases := []struct {
		name string
		v    any
		want error
	}{
		{"float", map[string]any{"a": 0.5}, ErrFloat},
		{"map with $link key reads back as a link", map[string]any{"$link": "x"}, ErrReservedKey},
		{"map with $bytes key", map[string]any{"$bytes": "", "a": 1}, ErrReservedKey},
		{"CIDv0", testfixtures.CID(t, "QmQg1v4o9xdT3Q14wh4S7dxZkDjyZ9ssFzFzyep1YrVJBY"), ErrBadLink},
		{"uint64 above int64", uint64(1) << 63, ErrIntRange},
		{"unsupported type", struct{}{}, ErrUnsupportedType},
		{"invalid UTF-8", "\xfe", ErrUTF8},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := ToJSON(c.v); !errors.Is(err, c.want) {
				t.Fatalf("ToJSON = %v, want %v", err, c.want)
			}
		})
	}
}

func TestFromJSONAcceptsAndConverts(t *testing.T) {
	link := testfixtures.CID(t, "bafkreiccldh766hwcnuxnf2wh6jgzepf2nlu2lvcllt63eww5p6chi4ity")
	cases := []struct {
		name string
		in   string
		want any
	}{
		{"integer-like float is an integer", `{"a":123.0}`, map[string]any{"a": int64(123)}},
		{"negative zero", `{"a":-0}`, map[string]any{"a": int64(0)}},
		{"int64 min", `{"a":-9223372036854775808}`, map[string]any{"a": int64(-9223372036854775808)}},
		{"bytes", `{"a":{"$bytes":"AQID"}}`, map[string]any{"a": []byte{1, 2, 3}}},
		{"link", `{"a":{"$link":"bafkreiccldh766hwcnuxnf2wh6jgzepf2nlu2lvcllt63eww5p6chi4ity"}}`, map[string]any{"a": link}},
		{"blob", `{"$type":"blob","ref":{"$link":"bafkreiccldh766hwcnuxnf2wh6jgzepf2nlu2lvcllt63eww5p6chi4ity"},"mimeType":"image/png","size":0}`,
			map[string]any{"$type": "blob", "ref": link, "mimeType": "image/png", "size": int64(0)}},
		{"escaped key and string", `{"\u00e9":"\n"}`, map[string]any{"é": "\n"}},
		{"whitespace around", " \n{ } \t", map[string]any{}},
		{"deepest allowed nesting", `{"a":` + strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth) + "}",
			map[string]any{"a": nestedArrays(MaxDepth)}},
		{"link at deepest level", `{"a":` + strings.Repeat("[", MaxDepth-1) + `{"$link":"bafkreiccldh766hwcnuxnf2wh6jgzepf2nlu2lvcllt63eww5p6chi4ity"}` + strings.Repeat("]", MaxDepth-1) + "}",
			map[string]any{"a": wrapArrays(link, MaxDepth-1)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := FromJSON([]byte(c.in))
			if err != nil {
				t.Fatalf("FromJSON: %v", err)
			}
			if !dataEqual(got, c.want) {
				t.Fatalf("FromJSON = %#v, want %#v", got, c.want)
			}
			if _, err := Encode(got); err != nil {
				t.Fatalf("Encode of accepted value: %v", err)
			}
		})
	}
}

func nestedArrays(n int) any { return wrapArrays(nil, n) }

// wrapArrays wraps inner in n arrays; with a nil inner the innermost array
// is empty.
func wrapArrays(inner any, n int) any {
	var v any = []any{}
	if inner != nil {
		v = inner
		n++
	}
	for i := 1; i < n; i++ {
		v = []any{v}
	}
	return v
}

func TestFromJSONRejects(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want error
	}{
		{"fraction", `{"a":1.5}`, ErrFloat},
		{"exponent", `{"a":1e3}`, ErrFloat},
		{"integer-valued exponent", `{"a":10E0}`, ErrFloat},
		{"above int64", `{"a":9223372036854775808}`, ErrIntRange},
		{"below int64", `{"a":-9223372036854775809}`, ErrIntRange},
		{"padded base64", `{"a":{"$bytes":"AQI="}}`, ErrBadBytes},
		{"non-zero padding bits", `{"a":{"$bytes":"AQJ"}}`, ErrBadBytes},
		{"url-safe base64", `{"a":{"$bytes":"-_8"}}`, ErrBadBytes},
		{"CIDv0 link", `{"a":{"$link":"QmQg1v4o9xdT3Q14wh4S7dxZkDjyZ9ssFzFzyep1YrVJBY"}}`, ErrBadLink},
		{"CIDv1 in base58", `{"a":{"$link":"zdj7Wd8AMwqnhJGQCbFxBVodGSBG84TM7Hs1rcJuQMwTyfEDS"}}`, ErrBadLink},
		{"null link", `{"a":{"$link":null}}`, ErrBadLink},
		{"blob with extra field", `{"$type":"blob","ref":{"$link":"bafkreiccldh766hwcnuxnf2wh6jgzepf2nlu2lvcllt63eww5p6chi4ity"},"mimeType":"image/png","size":1,"x":1}`, ErrBadBlob},
		{"blob with negative size", `{"$type":"blob","ref":{"$link":"bafkreiccldh766hwcnuxnf2wh6jgzepf2nlu2lvcllt63eww5p6chi4ity"},"mimeType":"image/png","size":-1}`, ErrBadBlob},
		{"blob with string ref", `{"$type":"blob","ref":"bafkreiccldh766hwcnuxnf2wh6jgzepf2nlu2lvcllt63eww5p6chi4ity","mimeType":"image/png","size":1}`, ErrBadBlob},
		{"blob without mimeType", `{"$type":"blob","ref":{"$link":"bafkreiccldh766hwcnuxnf2wh6jgzepf2nlu2lvcllt63eww5p6chi4ity"},"size":1}`, ErrBadBlob},
		{"nested $type boolean", `{"a":[{"$type":true}]}`, ErrBadType},
		{"duplicate key", `{"a":1,"a":1}`, ErrDuplicateMapKey},
		{"top-level array", `[1]`, ErrNotObject},
		{"top-level link", `{"$link":"bafkreiccldh766hwcnuxnf2wh6jgzepf2nlu2lvcllt63eww5p6chi4ity"}`, ErrNotObject},
		{"trailing value", `{} {}`, ErrTrailing},
		{"trailing garbage", `{}x`, ErrTrailing},
		{"truncated", `{"a":`, ErrJSONSyntax},
		{"trailing comma", `{"a":1,}`, ErrJSONSyntax},
		{"empty input", ``, ErrJSONSyntax},
		{"invalid UTF-8", "{\"a\":\"\xff\"}", ErrUTF8},
		{"too deep", `{"a":` + strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1) + "}", ErrTooDeep},
		{"link too deep", `{"a":` + strings.Repeat("[", MaxDepth) + `{"$link":"bafkreiccldh766hwcnuxnf2wh6jgzepf2nlu2lvcllt63eww5p6chi4ity"}` + strings.Repeat("]", MaxDepth) + "}", ErrTooDeep},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v, err := FromJSON([]byte(c.in))
			if !errors.Is(err, c.want) {
				t.Fatalf("FromJSON = %#v, %v; want %v", v, err, c.want)
			}
			var je *JSONError
			if !errors.As(err, &je) {
				t.Fatalf("%v is not a *JSONError", err)
			}
		})
	}
}

func TestValidateRecord(t *testing.T) {
	link := testfixtures.CID(t, "bafkreiccldh766hwcnuxnf2wh6jgzepf2nlu2lvcllt63eww5p6chi4ity")
	blob := func() map[string]any {
		return map[string]any{"$type": "blob", "ref": link, "mimeType": "image/jpeg", "size": 10}
	}
	badBlob := blob()
	badBlob["size"] = "10"
	cases := []struct {
		name string
		v    any
		want error // nil: must be accepted
	}{
		{"post", map[string]any{"$type": "app.bsky.feed.post", "text": "hi", "embed": map[string]any{"images": []any{map[string]any{"image": blob()}}}}, nil},
		{"not a map", []any{}, ErrNotObject},
		{"no $type", map[string]any{"text": "hi"}, ErrBadType},
		{"empty $type", map[string]any{"$type": ""}, ErrBadType},
		{"null $type", map[string]any{"$type": nil}, ErrBadType},
		{"nested bad $type", map[string]any{"$type": "a.b.c", "x": map[string]any{"$type": 1}}, ErrBadType},
		{"nested float", map[string]any{"$type": "a.b.c", "x": []any{1.0}}, ErrFloat},
		{"nested bad blob", map[string]any{"$type": "a.b.c", "x": badBlob}, ErrBadBlob},
		{"unsupported type", map[string]any{"$type": "a.b.c", "x": []string{}}, ErrUnsupportedType},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := ValidateRecord(c.v)
			if c.want == nil {
				if err != nil {
					t.Fatalf("ValidateRecord: %v", err)
				}
				return
			}
			if !errors.Is(err, c.want) {
				t.Fatalf("ValidateRecord = %v, want %v", err, c.want)
			}
		})
	}
}
