package dagcbor

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/ipfs/go-cid"
)

// FromJSON parses an atproto JSON document into data-model values (the same
// Go types Decode returns). The document must be an object. Rules:
//
//   - numbers must be integers in the signed 64-bit range; a fraction made
//     only of zeros ("123.0") is read as that integer, any other fraction is
//     ErrFloat, and so is any exponent;
//   - {"$link": "<CID>"} becomes a cid.Cid: exactly that one key, a CIDv1 in
//     its canonical base32 string form (ErrBadLink otherwise);
//   - {"$bytes": "<base64>"} becomes []byte: exactly that one key, standard
//     alphabet without padding (ErrBadBytes otherwise);
//   - "$type", wherever it appears, must be a non-empty string (ErrBadType);
//     {"$type": "blob"} must be a well-formed blob (ErrBadBlob);
//   - no duplicate keys (ErrDuplicateMapKey), valid UTF-8 (ErrUTF8), nesting
//     no deeper than DAG-CBOR allows (ErrTooDeep), nothing after the value.
//
// Errors are *JSONError values with the byte offset and path.
func FromJSON(b []byte) (any, error) {
	if !utf8.Valid(b) {
		off := 0
		for off < len(b) {
			r, size := utf8.DecodeRune(b[off:])
			if r == utf8.RuneError && size <= 1 {
				break
			}
			off += size
		}
		return nil, &JSONError{Offset: int64(off), Err: ErrUTF8}
	}
	p := jsonParser{dec: json.NewDecoder(bytes.NewReader(b))}
	p.dec.UseNumber()
	v, err := p.value(0, nil)
	if err != nil {
		return nil, err
	}
	if _, ok := v.(map[string]any); !ok {
		return nil, &JSONError{Offset: 0, Path: "$", Err: ErrNotObject, Detail: "found " + jsonTypeName(v)}
	}
	off := p.dec.InputOffset()
	if _, err := p.dec.Token(); err != io.EOF {
		return nil, &JSONError{Offset: off, Err: ErrTrailing}
	}
	return v, nil
}

type jsonParser struct {
	dec *json.Decoder
}

func (p *jsonParser) fail(off int64, path *pathElem, err error, detail string) error {
	return &JSONError{Offset: off, Path: path.String(), Err: err, Detail: detail}
}

func (p *jsonParser) token(path *pathElem) (json.Token, int64, error) {
	off := p.dec.InputOffset()
	tok, err := p.dec.Token()
	if err != nil {
		var se *json.SyntaxError
		switch {
		case errors.As(err, &se):
			return nil, off, p.fail(se.Offset, path, ErrJSONSyntax, se.Error())
		case err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF):
			return nil, off, p.fail(p.dec.InputOffset(), path, ErrJSONSyntax, "unexpected end of input")
		default:
			return nil, off, p.fail(off, path, ErrJSONSyntax, err.Error())
		}
	}
	return tok, off, nil
}

// value parses one value. depth counts data-model nesting: the content of a
// {"$link"} or {"$bytes"} object is parsed at the object's own depth because
// the object becomes a single scalar.
func (p *jsonParser) value(depth int, path *pathElem) (any, error) {
	tok, off, err := p.token(path)
	if err != nil {
		return nil, err
	}
	if depth > MaxDepth {
		return nil, p.fail(off, path, ErrTooDeep, "")
	}
	switch t := tok.(type) {
	case nil, bool, string:
		return t, nil
	case json.Number:
		n, err, detail := parseJSONInt(string(t))
		if err != nil {
			return nil, p.fail(off, path, err, detail)
		}
		return n, nil
	case json.Delim:
		if t == '[' {
			return p.array(depth, path)
		}
		return p.object(off, depth, path)
	}
	return nil, p.fail(off, path, ErrJSONSyntax, "unexpected token")
}

func (p *jsonParser) array(depth int, path *pathElem) ([]any, error) {
	out := []any{}
	for i := 0; p.dec.More(); i++ {
		v, err := p.value(depth+1, &pathElem{parent: path, index: i})
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	if _, _, err := p.token(path); err != nil { // ']'
		return nil, err
	}
	return out, nil
}

func (p *jsonParser) object(start int64, depth int, path *pathElem) (any, error) {
	out := map[string]any{}
	for p.dec.More() {
		tok, koff, err := p.token(path)
		if err != nil {
			return nil, err
		}
		k, ok := tok.(string)
		if !ok {
			return nil, p.fail(koff, path, ErrJSONSyntax, "object key is not a string")
		}
		kp := &pathElem{parent: path, key: k, isKey: true}
		if _, dup := out[k]; dup {
			return nil, p.fail(koff, kp, ErrDuplicateMapKey, strconv.Quote(k))
		}
		vd := depth + 1
		if k == "$link" || k == "$bytes" {
			vd = depth
		}
		v, err := p.value(vd, kp)
		if err != nil {
			return nil, err
		}
		out[k] = v
	}
	if _, _, err := p.token(path); err != nil { // '}'
		return nil, err
	}
	if lv, ok := out["$link"]; ok {
		return p.link(start, path, out, lv)
	}
	if bv, ok := out["$bytes"]; ok {
		return p.bytes(start, path, out, bv)
	}
	if err, detail := checkTyped(out); err != nil {
		return nil, p.fail(start, path, err, detail)
	}
	return out, nil
}

// soleString checks a {"$link"} or {"$bytes"} object m: key is its only
// key, and its value v a string, which it returns; else the error wraps
// sentinel.
func (p *jsonParser) soleString(start int64, path *pathElem, m map[string]any, key string, v any, sentinel error) (string, error) {
	if len(m) != 1 {
		return "", p.fail(start, path, sentinel, key+" object has other keys")
	}
	s, ok := v.(string)
	if !ok {
		return "", p.fail(start, path, sentinel, key+" is "+jsonTypeName(v)+", not a string")
	}
	return s, nil
}

func (p *jsonParser) link(start int64, path *pathElem, m map[string]any, v any) (any, error) {
	s, err := p.soleString(start, path, m, "$link", v, ErrBadLink)
	if err != nil {
		return nil, err
	}
	c, err := cid.Decode(s)
	if err != nil {
		return nil, p.fail(start, path, ErrBadLink, err.Error())
	}
	if err := checkLinkCID(c); err != nil {
		return nil, p.fail(start, path, ErrBadLink, err.Error())
	}
	if c.String() != s {
		return nil, p.fail(start, path, ErrBadLink, "CID is not in canonical base32 form "+c.String())
	}
	return c, nil
}

func (p *jsonParser) bytes(start int64, path *pathElem, m map[string]any, v any) (any, error) {
	s, err := p.soleString(start, path, m, "$bytes", v, ErrBadBytes)
	if err != nil {
		return nil, err
	}
	b, err := base64.RawStdEncoding.Strict().DecodeString(s)
	if err != nil {
		return nil, p.fail(start, path, ErrBadBytes, err.Error())
	}
	return b, nil
}

// parseJSONInt reads a JSON number literal (already checked by the tokenizer
// against the JSON grammar) as an int64.
func parseJSONInt(s string) (int64, error, string) {
	if strings.ContainsAny(s, "eE") {
		return 0, ErrFloat, s + " has an exponent"
	}
	intPart := s
	if dot := strings.IndexByte(s, '.'); dot >= 0 {
		if strings.Trim(s[dot+1:], "0") != "" {
			return 0, ErrFloat, s
		}
		intPart = s[:dot]
	}
	n, err := strconv.ParseInt(intPart, 10, 64)
	if err != nil {
		var ne *strconv.NumError
		if errors.As(err, &ne) && ne.Err == strconv.ErrRange {
			return 0, ErrIntRange, s
		}
		return 0, ErrJSONSyntax, s
	}
	return n, nil, ""
}
