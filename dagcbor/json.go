package dagcbor

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/ipfs/go-cid"
)

// ToJSON renders a data-model value (the Go types Encode accepts) in the
// atproto JSON form: links as {"$link": "<base32 CID>"}, bytes as
// {"$bytes": "<standard base64 without padding>"}, object keys sorted
// bytewise so that output is stable. Floats, unsupported types and maps with
// a "$link" or "$bytes" key (which would read back as something else) are
// rejected with an *EncodeError.
func ToJSON(v any) ([]byte, error) {
	buf := make([]byte, 0, 128)
	return appendJSON(buf, v, 0, nil)
}

// ToJSONIndent is ToJSON with each element on its own line, indented by
// indent per level (as encoding/json.MarshalIndent with an empty prefix).
func ToJSONIndent(v any, indent string) ([]byte, error) {
	b, err := ToJSON(v)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", indent); err != nil {
		// ToJSON only produces well-formed JSON; report rather than panic.
		return nil, &EncodeError{Path: "$", Err: ErrJSONSyntax, Detail: err.Error()}
	}
	return out.Bytes(), nil
}

func appendJSON(buf []byte, v any, depth int, path *pathElem) ([]byte, error) {
	if depth > MaxDepth {
		return nil, encErr(path, ErrTooDeep, "")
	}
	switch x := v.(type) {
	case nil:
		return append(buf, "null"...), nil
	case bool:
		return strconv.AppendBool(buf, x), nil
	case float32, float64:
		return nil, encErr(path, ErrFloat, "")
	case string:
		if !utf8.ValidString(x) {
			return nil, encErr(path, ErrUTF8, "")
		}
		return AppendJSONString(buf, x), nil
	case []byte:
		buf = append(buf, `{"$bytes":"`...)
		buf = base64.RawStdEncoding.AppendEncode(buf, x)
		return append(buf, `"}`...), nil
	case cid.Cid:
		return appendJSONLink(buf, x, path)
	case *cid.Cid:
		if x == nil {
			return append(buf, "null"...), nil
		}
		return appendJSONLink(buf, *x, path)
	case []any:
		buf = append(buf, '[')
		for i, e := range x {
			if i > 0 {
				buf = append(buf, ',')
			}
			var err error
			if buf, err = appendJSON(buf, e, depth+1, &pathElem{parent: path, index: i}); err != nil {
				return nil, err
			}
		}
		return append(buf, ']'), nil
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			p := &pathElem{parent: path, key: k, isKey: true}
			if k == "$link" || k == "$bytes" {
				return nil, encErr(p, ErrReservedKey, "")
			}
			if !utf8.ValidString(k) {
				return nil, encErr(p, ErrUTF8, "map key")
			}
			keys = append(keys, k)
		}
		slices.Sort(keys)
		buf = append(buf, '{')
		for i, k := range keys {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = AppendJSONString(buf, k)
			buf = append(buf, ':')
			var err error
			if buf, err = appendJSON(buf, x[k], depth+1, &pathElem{parent: path, key: k, isKey: true}); err != nil {
				return nil, err
			}
		}
		return append(buf, '}'), nil
	}
	if n, ok := asInt64(v); ok {
		return strconv.AppendInt(buf, n, 10), nil
	}
	switch v.(type) {
	case uint, uint64:
		return nil, encErr(path, ErrIntRange, "")
	}
	return nil, encErr(path, ErrUnsupportedType, typeName(v))
}

func appendJSONLink(buf []byte, c cid.Cid, path *pathElem) ([]byte, error) {
	if err := checkLinkCID(c); err != nil {
		return nil, encErr(path, ErrBadLink, err.Error())
	}
	buf = append(buf, `{"$link":"`...)
	buf = append(buf, c.String()...)
	return append(buf, `"}`...), nil
}

const hexDigits = "0123456789abcdef"

// AppendJSONString appends s to buf as a JSON string, escaping only what
// JSON requires plus U+2028 and U+2029 (for JavaScript consumers): no HTML
// escaping. A byte that is not valid UTF-8 is written as \ufffd (the JSON
// form of the data model never has one: its strings are checked first).
func AppendJSONString(buf []byte, s string) []byte {
	buf = append(buf, '"')
	last := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r != '\u2028' && r != '\u2029' && (r != utf8.RuneError || size != 1) {
				i += size
				continue
			}
			buf = append(buf, s[last:i]...)
			if r == utf8.RuneError {
				buf = append(buf, `\ufffd`...)
			} else {
				buf = append(buf, `\u202`...)
				buf = append(buf, hexDigits[r&0xf])
			}
			i += size
			last = i
			continue
		}
		buf = append(buf, s[last:i]...)
		switch c {
		case '"', '\\':
			buf = append(buf, '\\', c)
		case '\n':
			buf = append(buf, '\\', 'n')
		case '\r':
			buf = append(buf, '\\', 'r')
		case '\t':
			buf = append(buf, '\\', 't')
		default:
			buf = append(buf, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		i++
		last = i
	}
	buf = append(buf, s[last:]...)
	return append(buf, '"')
}
