package view

import (
	"bufio"
	"io"
	"strconv"
	"unicode/utf8"
)

// JSON writes the tree in the nested JSON form (a JSONTree) as it
// walks it, so that memory does not grow with the tree: each node's object
// is written when the walk reaches it and never held. The summary members
// (nodes, records, depth, truncated) come after "tree", once they are
// known; a JSON reader decodes it into a JSONTree. The output is
// compact, one line.
func JSON(w io.Writer, t *Browser, opts RenderOptions) (Summary, error) {
	bw := bufio.NewWriterSize(w, 64<<10)
	v := &jsonStream{w: bw}
	v.buf = append(v.buf, `{"root":`...)
	v.buf = appendJSONString(v.buf, t.Root().String())
	v.buf = append(v.buf, `,"tree":`...)
	s, err := walk(t, opts, v)
	if err != nil {
		return s, err
	}
	v.buf = append(v.buf, `,"nodes":`...)
	v.buf = strconv.AppendInt(v.buf, int64(s.Nodes), 10)
	v.buf = append(v.buf, `,"records":`...)
	v.buf = strconv.AppendInt(v.buf, int64(s.Records), 10)
	v.buf = append(v.buf, `,"depth":`...)
	v.buf = strconv.AppendInt(v.buf, int64(s.Depth), 10)
	v.buf = append(v.buf, `,"truncated":`...)
	v.buf = strconv.AppendBool(v.buf, s.Truncated)
	v.buf = append(v.buf, "}\n"...)
	if err := v.flush(); err != nil {
		return s, err
	}
	return s, bw.Flush()
}

// jsonStream is the visitor of JSON. Each open node has a frame saying
// whether its "entries" array has begun and whether its last entry waits
// for a right subtree to close it.
type jsonStream struct {
	w      *bufio.Writer
	buf    []byte
	frames []jsonFrame
}

type jsonFrame struct {
	inEntries    bool // `"entries":[` written
	entries      int  // entries written
	pendingRight bool // the last entry's "right" subtree is being written
}

func (v *jsonStream) flush() error {
	if len(v.buf) == 0 {
		return nil
	}
	_, err := v.w.Write(v.buf)
	v.buf = v.buf[:0]
	return err
}

func (v *jsonStream) maybeFlush() error {
	if len(v.buf) < 32<<10 {
		return nil
	}
	return v.flush()
}

func (v *jsonStream) open(n *Node, first, last string, depth int, truncated bool) error {
	b := append(v.buf, `{"cid":`...)
	b = appendJSONString(b, n.CID.String())
	b = append(b, `,"layer":`...)
	b = strconv.AppendInt(b, int64(n.Layer), 10)
	b = append(b, `,"entryCount":`...)
	b = strconv.AppendInt(b, int64(len(n.Entries)), 10)
	if first != "" {
		b = append(b, `,"firstKey":`...)
		b = appendJSONString(b, first)
	}
	if last != "" {
		b = append(b, `,"lastKey":`...)
		b = appendJSONString(b, last)
	}
	if truncated {
		b = append(b, `,"truncated":true`...)
	}
	f := jsonFrame{}
	if truncated || !n.Left.Defined() {
		b = append(b, `,"left":null,"entries":[`...)
		f.inEntries = true
	} else {
		b = append(b, `,"left":`...)
	}
	v.buf = b
	v.frames = append(v.frames, f)
	return v.maybeFlush()
}

func (v *jsonStream) entry(n *Node, i int, depth int) error {
	f := &v.frames[len(v.frames)-1]
	b := v.buf
	if !f.inEntries {
		b = append(b, `,"entries":[`...)
		f.inEntries = true
	}
	if f.entries > 0 {
		b = append(b, ',')
	}
	f.entries++
	e := n.Entries[i]
	b = append(b, `{"key":`...)
	b = appendJSONString(b, e.Key)
	b = append(b, `,"value":`...)
	b = appendJSONString(b, e.Value.String())
	b = append(b, `,"right":`...)
	if e.Right.Defined() {
		f.pendingRight = true
	} else {
		b = append(b, "null}"...)
	}
	v.buf = b
	return v.maybeFlush()
}

func (v *jsonStream) close(*Node, int) error {
	f := v.frames[len(v.frames)-1]
	v.frames = v.frames[:len(v.frames)-1]
	if !f.inEntries {
		v.buf = append(v.buf, `,"entries":[`...)
	}
	v.buf = append(v.buf, "]}"...)
	if len(v.frames) > 0 {
		if p := &v.frames[len(v.frames)-1]; p.pendingRight {
			v.buf = append(v.buf, '}')
			p.pendingRight = false
		}
	}
	return v.maybeFlush()
}

// appendJSONString appends s as a JSON string, as encoding/json writes it
// with HTML escaping off (invalid UTF-8 becomes U+FFFD).
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&15])
		default:
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}
