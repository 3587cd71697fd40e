package plc

import (
	"encoding/json"
	"fmt"
	"unicode/utf8"
)

// A small strict JSON reader for operations and log entries. It keeps the
// order of object keys (the DID document lists services and verification
// methods in the order the operation's JSON has them), refuses duplicate
// keys, trailing data and deep nesting, and is much faster than
// encoding/json's token API on the export stream.

type jkind uint8

const (
	jNull jkind = iota
	jBool
	jNumber
	jString
	jArray
	jObject
)

func (k jkind) String() string {
	return [...]string{"null", "boolean", "number", "string", "array", "object"}[k]
}

type jvalue struct {
	kind jkind
	str  string // string value; raw text for numbers
	b    bool
	arr  []jvalue
	obj  []jmember
}

type jmember struct {
	key string
	val jvalue
}

const maxJSONDepth = 32

type jparser struct {
	data []byte
	off  int
}

// parseJSON parses one JSON value filling all of data (surrounding
// whitespace allowed).
func parseJSON(data []byte) (jvalue, error) {
	if !utf8.Valid(data) {
		return jvalue{}, fmt.Errorf("%w: invalid UTF-8", ErrMalformedOp)
	}
	p := jparser{data: data}
	v, err := p.value(0)
	if err != nil {
		return jvalue{}, err
	}
	p.ws()
	if p.off != len(p.data) {
		return jvalue{}, p.errf("unexpected data after the JSON value")
	}
	return v, nil
}

func (p *jparser) errf(format string, args ...any) error {
	return fmt.Errorf("%w: JSON at byte %d: %s", ErrMalformedOp, p.off, fmt.Sprintf(format, args...))
}

func (p *jparser) ws() {
	for p.off < len(p.data) {
		switch p.data[p.off] {
		case ' ', '\t', '\n', '\r':
			p.off++
		default:
			return
		}
	}
}

func (p *jparser) value(depth int) (jvalue, error) {
	if depth > maxJSONDepth {
		return jvalue{}, p.errf("nested too deeply")
	}
	p.ws()
	if p.off >= len(p.data) {
		return jvalue{}, p.errf("unexpected end of input")
	}
	switch c := p.data[p.off]; {
	case c == '{':
		return p.object(depth)
	case c == '[':
		return p.array(depth)
	case c == '"':
		s, err := p.string()
		return jvalue{kind: jString, str: s}, err
	case c == 'n':
		return jvalue{kind: jNull}, p.literal("null")
	case c == 't':
		return jvalue{kind: jBool, b: true}, p.literal("true")
	case c == 'f':
		return jvalue{kind: jBool}, p.literal("false")
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number()
	default:
		return jvalue{}, p.errf("unexpected character %q", c)
	}
}

func (p *jparser) literal(lit string) error {
	if len(p.data)-p.off < len(lit) || string(p.data[p.off:p.off+len(lit)]) != lit {
		return p.errf("invalid literal")
	}
	p.off += len(lit)
	return nil
}

func (p *jparser) number() (jvalue, error) {
	start := p.off
	for p.off < len(p.data) {
		c := p.data[p.off]
		if (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E' {
			p.off++
			continue
		}
		break
	}
	raw := string(p.data[start:p.off])
	if !json.Valid([]byte(raw)) {
		p.off = start
		return jvalue{}, p.errf("invalid number %q", raw)
	}
	return jvalue{kind: jNumber, str: raw}, nil
}

func (p *jparser) string() (string, error) {
	start := p.off
	p.off++ // opening quote
	escaped := false
	for p.off < len(p.data) {
		c := p.data[p.off]
		switch {
		case c == '"':
			p.off++
			if !escaped {
				return string(p.data[start+1 : p.off-1]), nil
			}
			var s string
			if err := json.Unmarshal(p.data[start:p.off], &s); err != nil {
				p.off = start
				return "", p.errf("invalid string: %v", err)
			}
			return s, nil
		case c == '\\':
			escaped = true
			p.off += 2
		case c < 0x20:
			return "", p.errf("control character in string")
		default:
			p.off++
		}
	}
	p.off = start
	return "", p.errf("unterminated string")
}

func (p *jparser) array(depth int) (jvalue, error) {
	p.off++
	v := jvalue{kind: jArray, arr: []jvalue{}}
	p.ws()
	if p.off < len(p.data) && p.data[p.off] == ']' {
		p.off++
		return v, nil
	}
	for {
		e, err := p.value(depth + 1)
		if err != nil {
			return jvalue{}, err
		}
		v.arr = append(v.arr, e)
		p.ws()
		if p.off >= len(p.data) {
			return jvalue{}, p.errf("unterminated array")
		}
		switch p.data[p.off] {
		case ',':
			p.off++
		case ']':
			p.off++
			return v, nil
		default:
			return jvalue{}, p.errf("expected , or ] in array")
		}
	}
}

func (p *jparser) object(depth int) (jvalue, error) {
	p.off++
	v := jvalue{kind: jObject, obj: []jmember{}}
	p.ws()
	if p.off < len(p.data) && p.data[p.off] == '}' {
		p.off++
		return v, nil
	}
	for {
		p.ws()
		if p.off >= len(p.data) || p.data[p.off] != '"' {
			return jvalue{}, p.errf("expected a string key")
		}
		keyOff := p.off
		k, err := p.string()
		if err != nil {
			return jvalue{}, err
		}
		for _, m := range v.obj {
			if m.key == k {
				p.off = keyOff
				return jvalue{}, p.errf("duplicate key %q", k)
			}
		}
		p.ws()
		if p.off >= len(p.data) || p.data[p.off] != ':' {
			return jvalue{}, p.errf("expected : after key")
		}
		p.off++
		e, err := p.value(depth + 1)
		if err != nil {
			return jvalue{}, err
		}
		v.obj = append(v.obj, jmember{key: k, val: e})
		p.ws()
		if p.off >= len(p.data) {
			return jvalue{}, p.errf("unterminated object")
		}
		switch p.data[p.off] {
		case ',':
			p.off++
		case '}':
			p.off++
			return v, nil
		default:
			return jvalue{}, p.errf("expected , or } in object")
		}
	}
}

// get returns the member named key of an object.
func (v *jvalue) get(key string) (*jvalue, bool) {
	for i := range v.obj {
		if v.obj[i].key == key {
			return &v.obj[i].val, true
		}
	}
	return nil, false
}
