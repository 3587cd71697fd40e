package firehose

import (
	"fmt"

	"github.com/arbor-atproto/arbor/dagcbor"
)

// DecodeFrame decodes one binary WebSocket message of subscribeRepos: a
// header object followed by a body object, both strict DAG-CBOR with
// nothing after the body. Message types this package does not know come
// back as *Unknown; an error frame as *ErrorFrame (returned as the event,
// not as the error). Errors wrap ErrBadFrame, and a dagcbor sentinel
// (inside a *dagcbor.SyntaxError whose offset is in the whole frame) when the
// bytes are not strict DAG-CBOR.
//
// For every frame DecodeFrame accepts, EncodeFrame gives back the same bytes.
func DecodeFrame(b []byte) (Event, error) {
	r := dagcbor.NewReader(b)
	if err := r.Skip(); err != nil {
		return nil, fmt.Errorf("%w: header: %w", ErrBadFrame, err)
	}
	split := r.Offset()
	hv, err := dagcbor.Decode(b[:split])
	if err != nil {
		return nil, fmt.Errorf("%w: header: %w", ErrBadFrame, err)
	}
	op, t, err := parseHeader(hv)
	if err != nil {
		return nil, err
	}
	if split == len(b) {
		return nil, &FieldError{Field: "body", Msg: "missing after the header"}
	}
	bv, err := dagcbor.Decode(b[split:])
	if err != nil {
		var se *dagcbor.SyntaxError
		if asSyntax(err, &se) {
			se2 := *se
			se2.Offset += split
			return nil, fmt.Errorf("%w: body: %w", ErrBadFrame, &se2)
		}
		return nil, fmt.Errorf("%w: body: %w", ErrBadFrame, err)
	}
	body, ok := bv.(map[string]any)
	if !ok {
		return nil, &FieldError{Type: t, Field: "body", Msg: "not a map"}
	}
	return eventFromBody(op, t, body)
}

// EncodeFrame encodes ev as one canonical binary subscribeRepos message:
// the header ({t, op: 1}, or {op: -1} for an *ErrorFrame) and the body.
// It refuses events whose fields would not decode (a bad DID, rev, time,
// path, a commit without a CID, ...), so what it writes DecodeFrame accepts.
// *Malformed cannot be encoded.
func EncodeFrame(ev Event) ([]byte, error) {
	op, t, body, err := bodyOf(ev)
	if err != nil {
		return nil, err
	}
	// Check the event through the same rules as the decoder.
	if _, err := eventFromBody(op, t, cloneMap(body)); err != nil {
		return nil, err
	}
	w := dagcbor.NewWriter(make([]byte, 0, 64))
	if op == OpError {
		w.WriteMapHeader(1)
		w.WriteString("op")
		w.WriteInt(OpError)
	} else {
		w.WriteMapHeader(2)
		w.WriteString("t") // DAG-CBOR key order: shorter first
		w.WriteString(t)
		w.WriteString("op")
		w.WriteInt(OpMessage)
	}
	hb := w.Bytes()
	bb, err := dagcbor.Encode(body)
	if err != nil {
		return nil, fmt.Errorf("encoding %s body: %w", typeName(t), err)
	}
	out := make([]byte, 0, len(hb)+len(bb))
	return append(append(out, hb...), bb...), nil
}

func typeName(t string) string {
	if t == "" {
		return "error frame"
	}
	return t
}

func parseHeader(v any) (op int64, t string, err error) {
	m, ok := v.(map[string]any)
	if !ok {
		return 0, "", &FieldError{Field: "header", Msg: "not a map"}
	}
	opv, ok := m["op"].(int64)
	if !ok {
		return 0, "", &FieldError{Field: "header.op", Msg: "missing or not an integer"}
	}
	switch opv {
	case OpMessage:
		tv, ok := m["t"].(string)
		if !ok {
			return 0, "", &FieldError{Field: "header.t", Msg: "missing or not a string"}
		}
		if tv == "" {
			return 0, "", &FieldError{Field: "header.t", Msg: "empty"}
		}
		if len(m) != 2 {
			return 0, "", &FieldError{Field: "header", Msg: "fields other than op and t"}
		}
		return opv, tv, nil
	case OpError:
		if len(m) != 1 {
			return 0, "", &FieldError{Field: "header", Msg: "error header with fields other than op"}
		}
		return opv, "", nil
	default:
		return 0, "", &FieldError{Field: "header.op", Msg: fmt.Sprintf("%d is neither 1 nor -1", opv)}
	}
}

func cloneMap(m map[string]any) map[string]any {
	c := make(map[string]any, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}
