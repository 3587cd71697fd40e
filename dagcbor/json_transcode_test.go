package dagcbor

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// viaValues is what JSONToCBOR must equal: Encode(FromJSON(b)).
func viaValues(b []byte) ([]byte, error) {
	v, err := FromJSON(b)
	if err != nil {
		return nil, err
	}
	return Encode(v)
}

// checkSameAsValues fails unless JSONToCBOR gives the bytes, or the error
// (same text, same sentinel), that FromJSON and Encode give.
func checkSameAsValues(t *testing.T, tr *JSONTranscoder, b []byte) {
	t.Helper()
	want, werr := viaValues(b)
	got, gerr := tr.AppendCBOR(nil, b)
	switch {
	case werr != nil && gerr == nil:
		t.Fatalf("JSONToCBOR(%q) accepted (%x); FromJSON+Encode: %v", b, got, werr)
	case werr == nil && gerr != nil:
		t.Fatalf("JSONToCBOR(%q) = %v; FromJSON+Encode accepted", b, gerr)
	case werr != nil:
		var we, ge *JSONError
		if errors.As(werr, &we) && errors.As(gerr, &ge) {
			// Which unexpected field of a blob is named depends on map
			// iteration order, in FromJSON itself.
			if ge.Offset != we.Offset || ge.Path != we.Path || ge.Err != we.Err || (ge.Detail != we.Detail && we.Err != ErrBadBlob) {
				t.Fatalf("JSONToCBOR(%q) error %q, want %q", b, gerr, werr)
			}
		} else if gerr.Error() != werr.Error() {
			t.Fatalf("JSONToCBOR(%q) error %q, want %q", b, gerr, werr)
		}
	case !bytes.Equal(got, want):
		t.Fatalf("JSONToCBOR(%q)\n got %x\nwant %x", b, got, want)
	}
}

const testLink = "bafkreiccldh766hwcnuxnf2wh6jgzepf2nlu2lvcllt63eww5p6chi4ity"

func TestJSONToCBORTakesTheDirectPathForEverydayRecords(t *testing.T) {
	many := make([]string, 30)
	for i := range many {
		many[i] = `"k` + strings.Repeat("x", 30-i) + `":` + string(rune('0'+i%10))
	}
	cases := []struct{ name, in string }{
		{"post with keys out of DAG-CBOR order", `{"$type":"app.bsky.feed.post","createdAt":"2024-01-01T00:00:00.000Z","langs":["en"],"text":"hello"}`},
		{"escapes and non-ASCII", `{"a":"q\"\\\/\b\f\n\r\t\u0001\u00e9\u2028 é 日本"}`},
		{"integers at the int64 limits", `{"a":[0,-0,1,-1,23,24,-24,-25,255,256,65535,65536,4294967296,9223372036854775807,-9223372036854775808]}`},
		{"literals", `{"t":true,"f":false,"n":null}`},
		{"link, bytes and blob", `{"l":{"$link":"` + testLink + `"},"b":{"$bytes":"AQIDBA"},"e":{"$bytes":""},"i":{"$type":"blob","ref":{"$link":"` + testLink + `"},"mimeType":"image/png","size":12}}`},
		{"whitespace everywhere", " \t\r\n{ \"a\" : [ 1 , { } , [ ] ] , \"b\" : { \"c\" : \"d\" } } \n"},
		{"object and array of 24 and more items", `{` + strings.Join(many, ",") + `,"arr":[` + strings.Repeat("1,", 299) + `1]}`},
		{"long string", `{"s":"` + strings.Repeat("abc", 30000) + `"}`},
		{"escaped key", `{"\u0061b":1,"a":2}`},
	}
	var tr JSONTranscoder
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, ok := tr.p.document(nil, []byte(c.in)); !ok {
				t.Fatalf("the direct path refused %s", c.in)
			}
			checkSameAsValues(t, &tr, []byte(c.in))
		})
	}
}

func TestJSONToCBORFallsBackToFromJSONOffTheDirectPath(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want error // nil: accepted
	}{
		{"integer written with a zero fraction", `{"a":123.000}`, nil},
		{"surrogate pair", `{"a":"\ud83d\ude00"}`, nil},
		{"lone surrogate", `{"a":"\ud800"}`, nil},
		{"fraction", `{"a":1.5}`, ErrFloat},
		{"exponent", `{"a":1e3}`, ErrFloat},
		{"above int64", `{"a":9223372036854775808}`, ErrIntRange},
		{"below int64", `{"a":-9223372036854775809}`, ErrIntRange},
		{"twenty digits", `{"a":12345678901234567890}`, ErrIntRange},
		{"leading zero", `{"a":01}`, ErrJSONSyntax},
		{"lone minus", `{"a":-}`, ErrJSONSyntax},
		{"duplicate key", `{"b":1,"a":2,"b":3}`, ErrDuplicateMapKey},
		{"duplicate key in order", `{"a":1,"a":1}`, ErrDuplicateMapKey},
		{"trailing comma", `{"a":1,}`, ErrJSONSyntax},
		{"missing colon", `{"a" 1}`, ErrJSONSyntax},
		{"bad literal", `{"a":tru}`, ErrJSONSyntax},
		{"literal run on", `{"a":truex}`, ErrJSONSyntax},
		{"control character in string", "{\"a\":\"\x01\"}", ErrJSONSyntax},
		{"bad escape", `{"a":"\x"}`, ErrJSONSyntax},
		{"short unicode escape", `{"a":"\u12"}`, ErrJSONSyntax},
		{"unterminated string", `{"a":"abc`, ErrJSONSyntax},
		{"invalid UTF-8", "{\"a\":\"\xff\"}", ErrUTF8},
		{"top-level array", `[1]`, ErrNotObject},
		{"top-level link", `{"$link":"` + testLink + `"}`, ErrNotObject},
		{"trailing value", `{} {}`, ErrTrailing},
		{"empty", ``, ErrJSONSyntax},
		{"link with other keys", `{"a":{"$link":"` + testLink + `","b":1}}`, ErrBadLink},
		{"link not a string", `{"a":{"$link":1}}`, ErrBadLink},
		{"link not canonical", `{"a":{"$link":"BAFKREICCLDH766HWCNUXNF2WH6JGZEPF2NLU2LVCLLT63EWW5P6CHI4ITY"}}`, ErrBadLink},
		{"CIDv0 link", `{"a":{"$link":"QmQg1v4o9xdT3Q14wh4S7dxZkDjyZ9ssFzFzyep1YrVJBY"}}`, ErrBadLink},
		{"padded bytes", `{"a":{"$bytes":"AQI="}}`, ErrBadBytes},
		{"bytes with non-zero padding bits", `{"a":{"$bytes":"AQJ"}}`, ErrBadBytes},
		{"bytes with other keys", `{"a":{"$bytes":"","c":1}}`, ErrBadBytes},
		{"empty $type", `{"$type":""}`, ErrBadType},
		{"$type not a string", `{"a":[{"$type":1}]}`, ErrBadType},
		{"blob with extra field", `{"$type":"blob","ref":{"$link":"` + testLink + `"},"mimeType":"image/png","size":1,"x":1}`, ErrBadBlob},
		{"blob with negative size", `{"$type":"blob","ref":{"$link":"` + testLink + `"},"mimeType":"image/png","size":-1}`, ErrBadBlob},
		{"blob with string ref", `{"$type":"blob","ref":"` + testLink + `","mimeType":"image/png","size":1}`, ErrBadBlob},
		{"blob with empty mimeType", `{"$type":"blob","ref":{"$link":"` + testLink + `"},"mimeType":"","size":1}`, ErrBadBlob},
		{"blob without size", `{"$type":"blob","ref":{"$link":"` + testLink + `"},"mimeType":"a/b"}`, ErrBadBlob},
		{"too deep", `{"a":` + strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1) + "}", ErrTooDeep},
		{"link too deep", `{"a":` + strings.Repeat("[", MaxDepth) + `{"$link":"` + testLink + `"}` + strings.Repeat("]", MaxDepth) + "}", ErrTooDeep},
	}
	var tr JSONTranscoder
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, ok := tr.p.document(nil, []byte(c.in)); ok {
				t.Fatalf("the direct path accepted %s", c.in)
			}
			_, err := tr.AppendCBOR(nil, []byte(c.in))
			if c.want == nil && err != nil {
				t.Fatalf("JSONToCBOR: %v", err)
			}
			if c.want != nil && !errors.Is(err, c.want) {
				t.Fatalf("JSONToCBOR error %v, want %v", err, c.want)
			}
			checkSameAsValues(t, &tr, []byte(c.in))
		})
	}
}

func TestJSONToCBORAppendsToDst(t *testing.T) {
	var tr JSONTranscoder
	dst := []byte("prefix")
	got, err := tr.AppendCBOR(dst, []byte(`{"b":1,"aa":2}`))
	if err != nil {
		t.Fatal(err)
	}
	want := append([]byte("prefix"), 0xa2, 0x61, 'b', 0x01, 0x62, 'a', 'a', 0x02)
	if !bytes.Equal(got, want) {
		t.Fatalf("got %x, want %x", got, want)
	}
	if got, err := tr.AppendCBOR(dst[:6], []byte(`{"a":1.5}`)); err == nil || string(got) != "prefix" {
		t.Fatalf("on error got %q, %v; want dst unchanged and an error", got, err)
	}
}

func TestDataModelFixturesTranscodeToTheirBytes(t *testing.T) {
	fixtures := dataModelFixtures(t)
	var tr JSONTranscoder
	for _, f := range fixtures {
		t.Run(f.CID, func(t *testing.T) {
			got, err := tr.AppendCBOR(nil, f.JSON)
			if err != nil {
				t.Fatalf("JSONToCBOR: %v", err)
			}
			if want := decodeB64(t, f.CBORBase64); !bytes.Equal(got, want) {
				t.Fatalf("CBOR mismatch\n got %x\nwant %x", got, want)
			}
		})
	}
}

func FuzzJSONToCBOR(f *testing.F) {
	addDataModelJSON(f)
	f.Add([]byte(`{"collection":"app.bsky.feed.post","rkey":"3jx2sj3hs2222","record":{"$type":"app.bsky.feed.post","createdAt":"2023-06-01T00:00:00.000Z","langs":["en"],"text":"a \u00e9 \n"}}`))
	f.Add([]byte(`{"a":123.0,"b":-0,"c":{"$bytes":""},"d":"\u2028\ud800","e":{"$link":"` + testLink + `"}}`))
	f.Add([]byte(`{"$type":"blob","ref":{"$link":"` + testLink + `"},"mimeType":"image/png","size":0}`))
	f.Add([]byte(`{"a":[` + strings.Repeat("1,", 30) + `1],"b":{"x":1,"y":2,"x":3}}`))
	var tr JSONTranscoder
	f.Fuzz(func(t *testing.T, b []byte) {
		// The direct path alone: what it accepts, FromJSON must accept
		// with the same bytes from Encode.
		if out, ok := tr.p.document(nil, b); ok {
			want, err := viaValues(b)
			if err != nil {
				t.Fatalf("the direct path accepted %q, which FromJSON+Encode reject: %v", b, err)
			}
			if !bytes.Equal(out, want) {
				t.Fatalf("direct path %q\n got %x\nwant %x", b, out, want)
			}
		}
		checkSameAsValues(t, &tr, b)
	})
}
