package dagcbor

import (
	"encoding/base64"
	"slices"
	"unicode/utf8"

	"github.com/ipfs/go-cid"
)

// JSONToCBOR converts an atproto JSON document to canonical DAG-CBOR: the
// result, and every error, are those of Encode(FromJSON(b)).
func JSONToCBOR(b []byte) ([]byte, error) {
	var t JSONTranscoder
	return t.AppendCBOR(nil, b)
}

// JSONTranscoder converts atproto JSON documents to canonical DAG-CBOR
// without building data-model values: a single pass over the JSON bytes
// writes CBOR items in place, and each object's members, once complete, are
// re-sorted into DAG-CBOR key order. It keeps its scratch buffers between
// calls, so one transcoder per goroutine allocates almost nothing per
// document. The zero value is ready to use; a JSONTranscoder must not be
// used by two goroutines at once.
//
// The direct path accepts only what FromJSON accepts and gives the bytes
// Encode would (FuzzJSONToCBOR checks both against FromJSON and Encode).
// Anything unusual (an error, a fraction such as 1.0, surrogate escapes,
// nesting near MaxDepth) falls back to FromJSON and Encode, so results and
// errors, offsets and paths included, are always theirs.
type JSONTranscoder struct {
	p jsonFast
}

// AppendCBOR appends the canonical DAG-CBOR encoding of the atproto JSON
// document b to dst and returns the extended slice. Results and errors are
// those of Encode(FromJSON(b)); on error dst is returned unchanged.
func (t *JSONTranscoder) AppendCBOR(dst, b []byte) ([]byte, error) {
	if out, ok := t.p.document(dst, b); ok {
		return out, nil
	}
	v, err := FromJSON(b)
	if err != nil {
		return dst, err
	}
	enc, err := Encode(v)
	if err != nil {
		return dst, err
	}
	return append(dst, enc...), nil
}

// jsonFast is the direct JSON to DAG-CBOR path. Every method returns false
// as soon as the input leaves the well-trodden path, without saying why:
// the caller then runs FromJSON for the verdict.
type jsonFast struct {
	in   []byte
	pos  int
	out  []byte
	ents []fastEntry // members of the open objects, innermost last
	tmp  []byte      // scratch for re-sorting an object's members
	str  []byte      // scratch for unescaping a string
}

// fastEntry is one object member written in out: the key item at
// [key, val) with its content at [kc, val), the value item at [val, end).
type fastEntry struct {
	key, kc, val, end int
}

func (p *jsonFast) document(dst, b []byte) ([]byte, bool) {
	if !utf8.Valid(b) {
		return nil, false
	}
	p.in, p.pos, p.out, p.ents = b, 0, dst, p.ents[:0]
	defer func() { p.in, p.out = nil, nil }()
	base := len(dst)
	p.ws()
	if p.pos >= len(p.in) || p.in[p.pos] != '{' {
		return nil, false
	}
	if !p.object(0) || p.out[base]>>5 != MajorMap {
		return nil, false
	}
	p.ws()
	if p.pos != len(p.in) {
		return nil, false
	}
	return p.out, true
}

func (p *jsonFast) ws() {
	for p.pos < len(p.in) {
		switch p.in[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

// head appends a CBOR item head.
func (p *jsonFast) head(major byte, arg uint64) {
	p.out = appendHead(p.out, major, arg)
}

func appendHead(b []byte, major byte, arg uint64) []byte {
	m := major << 5
	switch {
	case arg < 24:
		return append(b, m|byte(arg))
	case arg <= 0xff:
		return append(b, m|24, byte(arg))
	case arg <= 0xffff:
		return append(b, m|25, byte(arg>>8), byte(arg))
	case arg <= 0xffffffff:
		return append(b, m|26, byte(arg>>24), byte(arg>>16), byte(arg>>8), byte(arg))
	}
	return append(b, m|27, byte(arg>>56), byte(arg>>48), byte(arg>>40), byte(arg>>32),
		byte(arg>>24), byte(arg>>16), byte(arg>>8), byte(arg))
}

// value transcodes one value at data-model depth depth.
func (p *jsonFast) value(depth int) bool {
	if depth > MaxDepth {
		return false
	}
	p.ws()
	if p.pos >= len(p.in) {
		return false
	}
	switch c := p.in[p.pos]; {
	case c == '{':
		return p.object(depth)
	case c == '[':
		return p.array(depth)
	case c == '"':
		return p.text()
	case c == 't':
		return p.literal("true", 0xf5)
	case c == 'f':
		return p.literal("false", 0xf4)
	case c == 'n':
		return p.literal("null", 0xf6)
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number()
	}
	return false
}

func (p *jsonFast) literal(word string, item byte) bool {
	if len(p.in)-p.pos < len(word) || string(p.in[p.pos:p.pos+len(word)]) != word {
		return false
	}
	p.pos += len(word)
	p.out = append(p.out, item)
	return true
}

// number transcodes an integer literal; fractions and exponents (which
// FromJSON rejects or reads specially) and integers of more than 19 digits
// leave the direct path.
func (p *jsonFast) number() bool {
	neg := p.in[p.pos] == '-'
	if neg {
		p.pos++
	}
	start := p.pos
	var u uint64
	for p.pos < len(p.in) && p.in[p.pos] >= '0' && p.in[p.pos] <= '9' {
		u = u*10 + uint64(p.in[p.pos]-'0')
		p.pos++
	}
	n := p.pos - start
	if n == 0 || n > 19 || (n > 1 && p.in[start] == '0') {
		return false
	}
	if p.pos < len(p.in) {
		switch p.in[p.pos] {
		case '.', 'e', 'E':
			return false
		}
	}
	switch {
	case !neg:
		if u > 1<<63-1 {
			return false
		}
		p.head(MajorUint, u)
	case u == 0: // -0
		p.head(MajorUint, 0)
	default:
		if u > 1<<63 {
			return false
		}
		p.head(MajorNegInt, u-1)
	}
	return true
}

// text transcodes a JSON string to a CBOR text string.
func (p *jsonFast) text() bool {
	start := p.pos + 1
	i := start
	for i < len(p.in) {
		c := p.in[i]
		if c == '"' || c == '\\' || c < 0x20 {
			break
		}
		i++
	}
	if i < len(p.in) && p.in[i] == '"' {
		p.head(MajorText, uint64(i-start))
		p.out = append(p.out, p.in[start:i]...)
		p.pos = i + 1
		return true
	}
	s := append(p.str[:0], p.in[start:i]...)
	for {
		if i >= len(p.in) {
			return false
		}
		c := p.in[i]
		switch {
		case c == '"':
			p.str = s
			p.head(MajorText, uint64(len(s)))
			p.out = append(p.out, s...)
			p.pos = i + 1
			return true
		case c < 0x20:
			return false
		case c != '\\':
			s = append(s, c)
			i++
			continue
		}
		if i+1 >= len(p.in) {
			return false
		}
		switch e := p.in[i+1]; e {
		case '"', '\\', '/':
			s = append(s, e)
		case 'b':
			s = append(s, '\b')
		case 'f':
			s = append(s, '\f')
		case 'n':
			s = append(s, '\n')
		case 'r':
			s = append(s, '\r')
		case 't':
			s = append(s, '\t')
		case 'u':
			if i+6 > len(p.in) {
				return false
			}
			var r rune
			for _, h := range p.in[i+2 : i+6] {
				var d byte
				switch {
				case h >= '0' && h <= '9':
					d = h - '0'
				case h >= 'a' && h <= 'f':
					d = h - 'a' + 10
				case h >= 'A' && h <= 'F':
					d = h - 'A' + 10
				default:
					return false
				}
				r = r<<4 | rune(d)
			}
			if r >= 0xd800 && r <= 0xdfff {
				return false // surrogates: FromJSON's reading applies
			}
			s = utf8.AppendRune(s, r)
			i += 6
			continue
		default:
			return false
		}
		i += 2
	}
}

// next reads what follows an item of an array or object: more after a
// ',', not more at end (the container's closing bracket); ok is false for
// anything else.
func (p *jsonFast) next(end byte) (more, ok bool) {
	p.ws()
	if p.pos >= len(p.in) {
		return false, false
	}
	c := p.in[p.pos]
	p.pos++
	switch c {
	case ',':
		return true, true
	case end:
		return false, true
	}
	return false, false
}

func (p *jsonFast) array(depth int) bool {
	p.pos++ // '['
	start := len(p.out)
	p.out = append(p.out, 0) // head, fixed below
	n := 0
	p.ws()
	if p.pos < len(p.in) && p.in[p.pos] == ']' {
		p.pos++
	} else {
		for {
			if !p.value(depth + 1) {
				return false
			}
			n++
			more, ok := p.next(']')
			if !ok {
				return false
			}
			if !more {
				break
			}
		}
	}
	p.fixHead(start, MajorArray, n)
	return true
}

// fixHead replaces the one-byte placeholder at start with the head of a
// container of n items, moving the items when the head is longer.
func (p *jsonFast) fixHead(start int, major byte, n int) {
	if n < 24 {
		p.out[start] = major<<5 | byte(n)
		return
	}
	var h [9]byte
	hb := appendHead(h[:0], major, uint64(n))
	extra := len(hb) - 1
	p.out = append(p.out, h[:extra]...)
	copy(p.out[start+len(hb):], p.out[start+1:len(p.out)-extra])
	copy(p.out[start:], hb)
}

func (p *jsonFast) object(depth int) bool {
	p.pos++ // '{'
	start := len(p.out)
	p.out = append(p.out, 0) // head, written by finishObject
	e0 := len(p.ents)
	p.ws()
	if p.pos < len(p.in) && p.in[p.pos] == '}' {
		p.pos++
	} else {
		for {
			p.ws()
			if p.pos >= len(p.in) || p.in[p.pos] != '"' {
				return false
			}
			k := len(p.out)
			if !p.text() {
				return false
			}
			kc := k + 1
			if p.out[k]&0x1f >= 24 {
				kc = len(p.out) - textLen(p.out[k:])
			}
			vd := depth + 1
			if key := p.out[kc:]; string(key) == "$link" || string(key) == "$bytes" {
				vd = depth
			}
			p.ws()
			if p.pos >= len(p.in) || p.in[p.pos] != ':' {
				return false
			}
			p.pos++
			v := len(p.out)
			if !p.value(vd) {
				return false
			}
			p.ents = append(p.ents, fastEntry{key: k, kc: kc, val: v, end: len(p.out)})
			more, ok := p.next('}')
			if !ok {
				return false
			}
			if !more {
				break
			}
		}
	}
	ok := p.finishObject(start, p.ents[e0:])
	p.ents = p.ents[:e0]
	return ok
}

// textLen is the content length of the text item whose head starts b (the
// item is the whole rest of b).
func textLen(b []byte) int {
	switch b[0] & 0x1f {
	case 24:
		return len(b) - 2
	case 25:
		return len(b) - 3
	case 26:
		return len(b) - 5
	}
	return len(b) - 9
}

func (p *jsonFast) keyOf(e *fastEntry) []byte { return p.out[e.kc:e.val] }

// textValue returns the content of e's value when it is a text string.
func (p *jsonFast) textValue(e *fastEntry) ([]byte, bool) {
	v := p.out[e.val:e.end]
	if v[0]>>5 != MajorText {
		return nil, false
	}
	n := len(v) - 1
	if v[0]&0x1f >= 24 {
		n = textLen(v)
	}
	return v[len(v)-n:], true
}

// finishObject turns the members written from start on into the object's
// item: a link, a byte string, or a map with its keys in DAG-CBOR order,
// applying FromJSON's checks.
func (p *jsonFast) finishObject(start int, ents []fastEntry) bool {
	for i := range ents {
		switch string(p.keyOf(&ents[i])) {
		case "$link":
			return len(ents) == 1 && p.link(start, &ents[0])
		case "$bytes":
			return len(ents) == 1 && p.bytes(start, &ents[0])
		}
	}
	sorted := true
	for i := 1; i < len(ents); i++ {
		if CompareKeys(p.keyOf(&ents[i-1]), p.keyOf(&ents[i])) >= 0 {
			sorted = false
			break
		}
	}
	if !sorted {
		slices.SortFunc(ents, func(a, b fastEntry) int { return CompareKeys(p.keyOf(&a), p.keyOf(&b)) })
		for i := 1; i < len(ents); i++ {
			if CompareKeys(p.keyOf(&ents[i-1]), p.keyOf(&ents[i])) == 0 {
				return false // duplicate key
			}
		}
	}
	if !p.typed(ents) {
		return false
	}
	if sorted {
		p.fixHead(start, MajorMap, len(ents))
		return true
	}
	t := appendHead(p.tmp[:0], MajorMap, uint64(len(ents)))
	for i := range ents {
		t = append(t, p.out[ents[i].key:ents[i].end]...)
	}
	p.tmp = t
	p.out = append(p.out[:start], t...)
	return true
}

// typed applies the "$type" conventions (checkTyped) to sorted members.
func (p *jsonFast) typed(ents []fastEntry) bool {
	var typ, ref, mime, size *fastEntry
	for i := range ents {
		e := &ents[i]
		switch string(p.keyOf(e)) {
		case "$type":
			typ = e
		case "ref":
			ref = e
		case "mimeType":
			mime = e
		case "size":
			size = e
		}
	}
	if typ == nil {
		return true
	}
	t, ok := p.textValue(typ)
	if !ok || len(t) == 0 {
		return false
	}
	if string(t) != "blob" {
		return true
	}
	if ref == nil || mime == nil || size == nil || len(ents) != 4 {
		return false
	}
	if r := p.out[ref.val:ref.end]; len(r) < 2 || r[0] != 0xd8 || r[1] != TagLink {
		return false // links written here are CIDv1, as checkLinkCID wants
	}
	if m, ok := p.textValue(mime); !ok || len(m) == 0 {
		return false
	}
	return p.out[size.val]>>5 == MajorUint
}

// link replaces the object at start, {"$link": e}, with its tag 42 item.
func (p *jsonFast) link(start int, e *fastEntry) bool {
	s, ok := p.textValue(e)
	if !ok {
		return false
	}
	c, err := cid.Decode(string(s))
	if err != nil || checkLinkCID(c) != nil || c.String() != string(s) {
		return false
	}
	p.out = p.out[:start]
	w := Writer{buf: p.out}
	w.WriteLink(c)
	p.out = w.buf
	return true
}

// bytes replaces the object at start, {"$bytes": e}, with a byte string.
func (p *jsonFast) bytes(start int, e *fastEntry) bool {
	s, ok := p.textValue(e)
	if !ok {
		return false
	}
	enc := base64.RawStdEncoding.Strict()
	n := enc.DecodedLen(len(s))
	t := append(p.tmp[:0], s...) // s aliases out, which is about to be overwritten
	p.tmp = t
	p.out = appendHead(p.out[:start], MajorBytes, uint64(n))
	at := len(p.out)
	p.out = slices.Grow(p.out, n)[:at+n]
	m, err := enc.Decode(p.out[at:], t)
	if err != nil || m != n {
		return false
	}
	return true
}
